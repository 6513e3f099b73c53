// A letter as an A4 PDF: pango lays out the text (pango markup), cairo draws
// the pages into a PDF in memory. No browser, no temporary files.
//
// The body is a sequence of blocks separated by blank lines, each one
// paragraph of pango markup (a tab moves to the next 4.5 cm stop, for the
// two-column parts). A block that is exactly "@chart" is where the chart
// of the measures goes (drawn only when a series has two or more points);
// "@page" starts a new page. Paragraphs split across pages by line; a
// one-line block (a heading) moves to the next page with the lines after it
// rather than end a page alone.
//
// Every page carries `header` at the top (the practice, the patient, the
// letter's date: the patient is named on every page) and "page N of M" at the
// bottom, from `page_label` with {page} and {pages} replaced.
//
// The PDF's creation date is `created` (the letter's date), not the wall
// clock, so the same letter gives the same bytes whenever it is printed.
// Thread-safety: no shared state (fontconfig's cache is thread-safe).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "pathway/date.hpp"
#include "pathway/expected.hpp"

namespace zorgpad {

struct ChartSeries {
  std::string label;  // "NPRS (0-10)"
  int max = 10;       // the scale: 0..max
  std::vector<std::pair<Date, int>> points;
};

struct PdfLetter {
  std::string body;        // pango markup blocks, see above
  std::string header;      // pango markup, one or two lines
  std::string page_label;  // "pagina {page} van {pages}"
  std::string title;       // the PDF's title (document metadata): no patient data
  std::string chart_title;
  std::vector<ChartSeries> chart;  // two series at most: left and right scale
  std::map<int, std::string> date_labels;  // the chart's dates as the letter writes them (Date::days)
  Date created;
};

Expected<std::string> render_pdf(const PdfLetter& letter);

}  // namespace zorgpad
