# zorgpad_check_layers(layer...): the layers from lowest to highest. A source
# file of a layer may include headers of its own layer and of the layers below
# it, never of a layer above: configuring fails and names the file and the
# include. Runs at configure time over every .hpp/.cpp of each layer folder
# (adapters/ one level deeper), so the check costs nothing at build time.
function(zorgpad_check_layers)
  set(layers ${ARGN})
  list(LENGTH layers n)
  math(EXPR last "${n} - 1")
  foreach(i RANGE ${last})
    list(GET layers ${i} layer)
    file(GLOB_RECURSE files CONFIGURE_DEPENDS
         ${CMAKE_CURRENT_SOURCE_DIR}/${layer}/*.hpp ${CMAKE_CURRENT_SOURCE_DIR}/${layer}/*.cpp)
    math(EXPR above "${i} + 1")
    if(above GREATER last)
      continue()
    endif()
    foreach(j RANGE ${above} ${last})
      list(GET layers ${j} higher)
      foreach(f ${files})
        file(STRINGS ${f} hits REGEX "^[ \t]*#[ \t]*include[ \t]+\"${higher}/")
        if(hits)
          file(RELATIVE_PATH rel ${CMAKE_CURRENT_SOURCE_DIR} ${f})
          list(GET hits 0 first)
          message(FATAL_ERROR "layering: ${rel} (${layer}/) includes a header of ${higher}/, a layer above it: ${first}")
        endif()
      endforeach()
    endforeach()
  endforeach()
endfunction()
