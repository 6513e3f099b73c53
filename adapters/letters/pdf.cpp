#include "adapters/letters/pdf.hpp"

#include <cairo-pdf.h>
#include <cairo.h>
#include <pango/pangocairo.h>

#include <algorithm>
#include <cmath>
#include <memory>

namespace zorgpad {
namespace {

// A4 in points, margins of 2 cm beside the text, room for header and footer.
constexpr double kPageWidth = 595.276, kPageHeight = 841.89;
constexpr double kLeft = 62.0, kRight = 62.0, kTop = 92.0, kBottom = 72.0;
constexpr double kTextWidth = kPageWidth - kLeft - kRight;
constexpr double kBlockGap = 5.5;     // after each paragraph
constexpr double kChartHeight = 150.0;
constexpr const char* kFont = "DejaVu Sans 9.5";
constexpr const char* kSmallFont = "DejaVu Sans 7.5";

struct LayoutDeleter {
  void operator()(PangoLayout* l) const { g_object_unref(l); }
};
using LayoutPtr = std::unique_ptr<PangoLayout, LayoutDeleter>;

std::vector<std::string> split_blocks(const std::string& body) {
  std::vector<std::string> blocks;
  size_t at = 0;
  while (at <= body.size()) {
    size_t end = body.find("\n\n", at);
    if (end == std::string::npos) end = body.size();
    std::string b = body.substr(at, end - at);
    // Trim blank lines around a block (the layout's own line breaks stay).
    while (!b.empty() && (b.front() == '\n' || b.front() == ' ')) b.erase(b.begin());
    while (!b.empty() && (b.back() == '\n' || b.back() == ' ')) b.pop_back();
    if (!b.empty()) blocks.push_back(b);
    if (end == body.size()) break;
    at = end + 2;
  }
  return blocks;
}

// Markup that pango cannot parse is a bug of the layout file, named here.
bool valid_markup(const std::string& markup, std::string& error) {
  GError* err = nullptr;
  if (pango_parse_markup(markup.c_str(), int(markup.size()), 0, nullptr, nullptr, nullptr, &err)) return true;
  error = err ? err->message : "invalid markup";
  if (err) g_error_free(err);
  return false;
}

LayoutPtr make_layout(cairo_t* cr, const std::string& markup, const char* font, double width) {
  LayoutPtr l(pango_cairo_create_layout(cr));
  PangoFontDescription* fd = pango_font_description_from_string(font);
  pango_layout_set_font_description(l.get(), fd);
  pango_font_description_free(fd);
  pango_layout_set_width(l.get(), int(width * PANGO_SCALE));
  pango_layout_set_wrap(l.get(), PANGO_WRAP_WORD_CHAR);
  PangoTabArray* tabs = pango_tab_array_new(3, TRUE);
  for (int i = 0; i < 3; ++i) pango_tab_array_set_tab(tabs, i, PANGO_TAB_LEFT, 165 + 100 * i);
  pango_layout_set_tabs(l.get(), tabs);
  pango_tab_array_free(tabs);
  // Two-column lines (label, tab, value) wrap under the value.
  if (markup.find('\t') != std::string::npos) pango_layout_set_indent(l.get(), -165 * PANGO_SCALE);
  pango_layout_set_markup(l.get(), markup.c_str(), int(markup.size()));
  return l;
}

struct Line {
  double height = 0, baseline = 0;  // baseline from the line's top
};

std::vector<Line> lines_of(PangoLayout* l) {
  std::vector<Line> out;
  PangoLayoutIter* it = pango_layout_get_iter(l);
  do {
    PangoRectangle logical;
    pango_layout_iter_get_line_extents(it, nullptr, &logical);
    Line line;
    line.height = double(logical.height) / PANGO_SCALE;
    line.baseline = double(pango_layout_iter_get_baseline(it) - logical.y) / PANGO_SCALE;
    out.push_back(line);
  } while (pango_layout_iter_next_line(it));
  pango_layout_iter_free(it);
  return out;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}

bool chart_drawable(const PdfLetter& letter) {
  return std::any_of(letter.chart.begin(), letter.chart.end(),
                     [](const ChartSeries& s) { return s.points.size() >= 2; });
}

void draw_chart(cairo_t* cr, const PdfLetter& letter, double top) {
  const double left = kLeft + 34, right = kLeft + kTextWidth - 34;
  const double plot_top = top + 18, plot_bottom = top + kChartHeight - 30;
  Date first = letter.chart.front().points.empty() ? Date{} : letter.chart.front().points.front().first, last = first;
  bool any = false;
  for (const auto& s : letter.chart)
    for (const auto& [d, v] : s.points) {
      (void)v;
      if (!any || d < first) first = d;
      if (!any || last < d) last = d;
      any = true;
    }
  const double span = std::max(1, last - first);
  auto x_of = [&](Date d) { return left + (right - left) * double(d - first) / span; };

  // title
  LayoutPtr title = make_layout(cr, letter.chart_title, kFont, kTextWidth);
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_move_to(cr, kLeft, top);
  pango_cairo_show_layout(cr, title.get());

  // frame and grid
  cairo_set_line_width(cr, 0.5);
  cairo_set_source_rgb(cr, 0.75, 0.75, 0.75);
  for (int i = 0; i <= 4; ++i) {
    const double y = plot_bottom - (plot_bottom - plot_top) * i / 4.0;
    cairo_move_to(cr, left, y);
    cairo_line_to(cr, right, y);
  }
  cairo_stroke(cr);

  const double colours[2][3] = {{0.05, 0.30, 0.65}, {0.85, 0.40, 0.05}};
  for (size_t si = 0; si < letter.chart.size() && si < 2; ++si) {
    const ChartSeries& s = letter.chart[si];
    const double* c = colours[si];
    auto y_of = [&](int v) { return plot_bottom - (plot_bottom - plot_top) * double(v) / std::max(1, s.max); };
    // scale labels: the first series on the left, the second on the right
    for (int v : {0, s.max / 2, s.max}) {
      LayoutPtr lab = make_layout(cr, std::to_string(v), kSmallFont, 30);
      pango_layout_set_alignment(lab.get(), si == 0 ? PANGO_ALIGN_RIGHT : PANGO_ALIGN_LEFT);
      cairo_set_source_rgb(cr, c[0], c[1], c[2]);
      cairo_move_to(cr, si == 0 ? left - 34 : right + 4, y_of(v) - 5);
      pango_cairo_show_layout(cr, lab.get());
    }
    if (s.points.empty()) continue;
    cairo_set_source_rgb(cr, c[0], c[1], c[2]);
    cairo_set_line_width(cr, 1.4);
    if (si == 1) {
      const double dash[] = {4.0, 2.0};
      cairo_set_dash(cr, dash, 2, 0);
    }
    for (size_t i = 0; i < s.points.size(); ++i) {
      const double x = x_of(s.points[i].first), y = y_of(s.points[i].second);
      if (i == 0) cairo_move_to(cr, x, y);
      else cairo_line_to(cr, x, y);
    }
    cairo_stroke(cr);
    cairo_set_dash(cr, nullptr, 0, 0);
    for (const auto& [d, v] : s.points) {
      cairo_arc(cr, x_of(d), y_of(v), 2.2, 0, 2 * M_PI);
      cairo_fill(cr);
    }
    // legend
    const double lx = left + 4 + 150.0 * double(si), ly = top + kChartHeight - 12;
    cairo_move_to(cr, lx, ly + 4);
    cairo_line_to(cr, lx + 14, ly + 4);
    cairo_stroke(cr);
    LayoutPtr lab = make_layout(cr, s.label, kSmallFont, 130);
    cairo_move_to(cr, lx + 18, ly - 1);
    pango_cairo_show_layout(cr, lab.get());
  }
  // dates at both ends of the time axis
  cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
  for (Date d : {first, last}) {
    auto label = letter.date_labels.find(d.days);
    const std::string text = label == letter.date_labels.end() ? d.iso() : label->second;
    LayoutPtr lab = make_layout(cr, "", kSmallFont, 90);
    pango_layout_set_text(lab.get(), text.c_str(), int(text.size()));
    pango_layout_set_alignment(lab.get(), d == first ? PANGO_ALIGN_LEFT : PANGO_ALIGN_RIGHT);
    cairo_move_to(cr, d == first ? left : right - 90, plot_bottom + 3);
    pango_cairo_show_layout(cr, lab.get());
    if (first == last) break;
  }
}

cairo_status_t append(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

// Lays out (and draws) every page; returns the number of pages.
int run(const PdfLetter& letter, const std::vector<std::string>& blocks, int pages_total, std::string& out) {
  cairo_surface_t* surface = cairo_pdf_surface_create_for_stream(append, &out, kPageWidth, kPageHeight);
  const std::string date = letter.created.iso() + "T00:00:00";
  cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, letter.title.c_str());
  cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "zorgpad");
  cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATE_DATE, date.c_str());
  cairo_t* cr = cairo_create(surface);

  int page = 0;
  double y = 0;
  auto start_page = [&] {
    if (page > 0) cairo_show_page(cr);
    ++page;
    // header: practice, patient, date; a rule under it
    LayoutPtr h = make_layout(cr, letter.header, kSmallFont, kTextWidth);
    cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
    cairo_move_to(cr, kLeft, 34);
    pango_cairo_show_layout(cr, h.get());
    cairo_set_line_width(cr, 0.5);
    cairo_move_to(cr, kLeft, kTop - 14);
    cairo_line_to(cr, kPageWidth - kRight, kTop - 14);
    cairo_stroke(cr);
    // footer: page N of M
    std::string label = replace_all(letter.page_label, "{page}", std::to_string(page));
    label = replace_all(label, "{pages}", std::to_string(std::max(pages_total, page)));
    LayoutPtr f = make_layout(cr, label, kSmallFont, kTextWidth);
    pango_layout_set_alignment(f.get(), PANGO_ALIGN_CENTER);
    cairo_move_to(cr, kLeft, kPageHeight - kBottom + 30);
    pango_cairo_show_layout(cr, f.get());
    cairo_set_source_rgb(cr, 0, 0, 0);
    y = kTop;
  };
  start_page();
  const double bottom = kPageHeight - kBottom;
  for (size_t bi = 0; bi < blocks.size(); ++bi) {
    const std::string& b = blocks[bi];
    if (b == "@page") {
      if (y > kTop) start_page();
      continue;
    }
    if (b == "@chart") {
      if (!chart_drawable(letter)) continue;
      if (y + kChartHeight > bottom) start_page();
      draw_chart(cr, letter, y);
      cairo_set_source_rgb(cr, 0, 0, 0);
      y += kChartHeight + kBlockGap;
      continue;
    }
    LayoutPtr l = make_layout(cr, b, kFont, kTextWidth);
    std::vector<Line> lines = lines_of(l.get());
    // A one-line block (a heading) keeps with the two lines after it.
    if (lines.size() == 1 && bi + 1 < blocks.size() && y + lines[0].height * 3 + kBlockGap > bottom) start_page();
    int index = 0;
    PangoLayoutIter* it = pango_layout_get_iter(l.get());
    do {
      const Line& line = lines[size_t(index)];
      if (y + line.height > bottom) start_page();
      PangoLayoutLine* pl = pango_layout_iter_get_line_readonly(it);
      cairo_move_to(cr, kLeft, y + line.baseline);
      pango_cairo_show_layout_line(cr, pl);
      y += line.height;
      ++index;
    } while (pango_layout_iter_next_line(it));
    pango_layout_iter_free(it);
    y += kBlockGap;
  }
  cairo_destroy(cr);
  cairo_surface_finish(surface);
  const cairo_status_t st = cairo_surface_status(surface);
  cairo_surface_destroy(surface);
  if (st != CAIRO_STATUS_SUCCESS) return -1;
  return page;
}

}  // namespace

Expected<std::string> render_pdf(const PdfLetter& letter) {
  const std::vector<std::string> blocks = split_blocks(letter.body);
  std::string error;
  for (size_t i = 0; i < blocks.size(); ++i)
    if (blocks[i] != "@chart" && blocks[i] != "@page" && !valid_markup(blocks[i], error))
      return Error{"letter.pango.mustache: paragraph " + std::to_string(i + 1) + ": " + error};
  if (!valid_markup(letter.header, error)) return Error{"letter.pango.mustache: the page header: " + error};
  // Twice: the first run counts the pages for "page N of M".
  std::string scratch, out;
  const int pages = run(letter, blocks, 0, scratch);
  if (pages < 0 || run(letter, blocks, pages, out) != pages) return Error{"cairo could not write the PDF"};
  return out;
}

}  // namespace zorgpad
