// The letters to the GP (spec §11, §12; KNGF C.5, HASP): the start-of-treatment
// report, the end-of-treatment report, the referral, the request for
// consultation, the interim report that answers the GP's question and the
// notice of red flags found, one per letter task, in Dutch (default) or
// English, as a printable A4 HTML page or as plain text for a mail or the GP
// information system. The start and end reports of a patient referred by a
// medical specialist are addressed to the specialist, with a copy to the GP;
// every other letter goes to the GP.
//
// Nothing of the letter is written here. The layout is a mustache template
// (share/letters/letter.html.mustache, letter.txt.mustache) and all wording,
// including the plain words for every code of pathway/codes.hpp, is in
// share/letters/strings.<lang>.json; this module only turns an Episode into
// the values the templates show and renders them with kainjow::mustache. In
// HTML every value is escaped; the text format escapes nothing.
//
// Files are found under letters_dir(): share_dir()/letters
// (adapters/texts/share_dir.hpp: $ZORGPAD_SHARE_DIR, the checkout's share/,
// or the installed /usr/share/zorgpad).
//
// Errors are values: a missing or malformed template or strings file, a word
// missing for a code, a task that is not a letter. Messages name files,
// codes, task ids and episode ids only, never patient data.
// Thread-safety: no shared state; LetterTemplates is an immutable value.
#pragma once
#include <array>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/practice/practice.hpp"
#include "pathway/codes.hpp"
#include "pathway/date.hpp"
#include "pathway/event.hpp"
#include "pathway/expected.hpp"
#include "persistence/store.hpp"
#include "states/episode.hpp"

namespace zorgpad {

enum class Lang { nl, en };
inline constexpr CodeTable<Lang, 2> kLangs{{"nl", "en"}};

// pdf: A4 pages laid out with pango and drawn with cairo (adapters/letters/pdf.hpp)
// from the layout letter.pango.mustache (pango markup).
enum class LetterFormat { html, text, pdf };
inline constexpr CodeTable<LetterFormat, 3> kLetterFormats{{"html", "text", "pdf"}};

// What the practice supplies at print time (adapters/practice): the
// letterhead, addressee and signature, and the patient's identity. Neither is
// ever stored. Without a practice the letter names therapist and GP by their
// codes; without a patients file it says that identification is to be added.
struct LetterSources {
  const Practice* practice = nullptr;
  const Patients* patients = nullptr;
};

// The task kinds that are letters to the GP (spec §11), in the order of
// kTaskKinds: the rows of the task-kind table (pathway/codes.hpp) marked
// `letter`.
inline constexpr auto kLetterKinds = [] {
  constexpr std::size_t n = [] {
    std::size_t k = 0;
    for (const auto& info : kTaskKindTable) k += info.letter;
    return k;
  }();
  std::array<TaskKind, n> out{};
  std::size_t i = 0;
  for (const auto& info : kTaskKindTable)
    if (info.letter) out[i++] = info.kind;
  return out;
}();
// "gp_report_start, gp_report_close, gp_referral, ..." (for messages).
std::string letter_kinds_list();

// The directory holding the templates and strings files.
std::string letters_dir();

// One language and format, loaded and checked: the layout parses, the strings
// file has the text the layout uses and words for every code, and no wording
// contains markup characters (it goes into HTML unescaped, as template text).
class LetterTemplates {
 public:
  static Expected<LetterTemplates> load(const std::string& dir, Lang lang, LetterFormat format);

  Lang lang() const { return lang_; }
  LetterFormat format() const { return format_; }
  const std::string& layout() const { return layout_; }
  const nlohmann::json& strings() const { return strings_; }

 private:
  LetterTemplates() = default;
  Lang lang_ = Lang::nl;
  LetterFormat format_ = LetterFormat::html;
  std::string layout_;
  nlohmann::json strings_;
};

// Spec §12: a letter is dated. The episode as it stood at the end of `day`:
// its stored log (Store::events) replayed up to and including that day, with
// the timers due by then fired. `patient` is the store's reference for it.
Expected<Episode> episode_as_of(const std::string& id, const std::string& patient,
                                const std::vector<StoredEvent>& log, Date day);

// The letter of `task`, a letter task of the episode whose stored log is
// `log`: the episode replayed to the task's date (episode_as_of), so the
// letter reads the same whatever day it is printed. This is what the CLI
// and the web service call.
Expected<std::string> write_letter(const LetterTemplates& templates, const std::string& patient,
                                   const std::vector<StoredEvent>& log, const TaskRow& task,
                                   const LetterSources& sources = {});

// Renders the letter of `task` (a letter task of `ep`) from `ep` as given:
// the caller has replayed it to the task's date (write_letter does). The
// letter is dated on the task's date; `today` is unused and kept for callers. A referral needs the episode referred (or excluded:
// the referral of a visceral cause), an end-of-treatment report needs it
// closed or excluded: each carries its reason.
//
// `log` is the episode's clinical events, oldest first, when the caller has
// them (Store::events). The Episode keeps only the baseline and the latest
// value of each measure; with the log a measure recorded once reads "no
// follow-up measurement yet" and one measured again to the same value
// "unchanged". Without it an equal value is shown as equal to the baseline,
// possibly not measured again: never as "unchanged".
Expected<std::string> render_letter(const LetterTemplates& templates, const Episode& ep, const TaskRow& task,
                                    Date today, const std::vector<Event>* log = nullptr,
                                    const LetterSources& sources = {});
// The same, loading the templates from letters_dir() first.
Expected<std::string> render_letter(const Episode& ep, const TaskRow& task, Lang lang, LetterFormat format,
                                    Date today, const std::vector<Event>* log = nullptr,
                                    const LetterSources& sources = {});

// The clinical events of a stored log (its task_done entries left out), for
// render_letter's `log`.
std::vector<Event> clinical_events(const std::vector<StoredEvent>& stored);

// "ep-12-task-34-gp_referral.html" (".txt" for text, ".pdf"): episode id and task id
// only, with characters outside [A-Za-z0-9._-] replaced by '_'.
std::string letter_file_name(const TaskRow& task, LetterFormat format);

}  // namespace zorgpad
