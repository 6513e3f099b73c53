// The GP letters (spec §11, §12; KNGF C.1, C.5, A.3): every letter kind in both
// languages and formats, escaping, wording for every code, the guideline's
// language advice, and the errors of a broken installation.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "adapters/letters/letters.hpp"
#include "adapters/letters/pdf.hpp"
#include "states/machine.hpp"

using namespace zorgpad;

namespace {

Date day(const char* iso) { return *Date::parse(iso); }

const Date kToday = day("2026-09-01");

Task task(int seq, TaskKind kind, const char* due, TaskStatus status = TaskStatus::open,
          std::optional<Checkpoint> checkpoint = std::nullopt) {
  Task t;
  t.seq = seq;
  t.kind = kind;
  t.due = day(due);
  t.created = day(due);
  t.status = status;
  t.checkpoint = checkpoint;
  return t;
}

// A profile 3 episode with everything a letter can show: scores, factors,
// measures, a reevaluation, a course. `kind` puts it where that letter arises.
Episode episode_for(TaskKind kind) {
  Episode ep;
  ep.id = "ep-7";
  ep.patient = "P-1234";
  ep.gp = "Dr. A. de Vries";
  ep.therapist = "J. Jansen";
  ep.opened = day("2026-06-01");
  ep.onset = day("2026-05-25");
  ep.complaint = Complaint::lbp;
  ep.age = 52;
  ep.recurrent = true;
  ep.profile = 3;
  ep.suggested_profile = 3;
  ep.sbst = score_sbst({0, 0, 0, 0, 1, 1, 1, 1, 4});         // total 5, psychosocial 5: high
  ep.orebro = score_orebro({6, 5, 6, 5, 6, 4, 6, 5, 4, 4});  // 6+5+6+5+6+(10-4)+6+5+(10-4)+(10-4) = 57: raised
  ep.factors = Factors{{Factor::fear_of_movement, FactorLevel::dominant},
                       {Factor::poor_colleague_relations, FactorLevel::dominant},
                       {Factor::leg_pain, FactorLevel::present}};
  ep.treatment_start = day("2026-06-01");
  ep.sessions = 6;
  ep.baseline = Measures{7, 60, std::vector<int>{8, 6}};
  ep.latest = Measures{4, 55, std::vector<int>{5, 6}};
  ep.phase = Phase::subacute;
  ep.state = State::treatment;
  ep.transitions = {
      {day("2026-06-01"), Trigger::screening, "intake", "screened"},
      {day("2026-06-01"), Trigger::stratification, "screened", "treatment"},
      {day("2026-07-06"), Trigger::phase, "acute", "subacute"},
      {day("2026-07-13"), Trigger::checkpoint, "treatment", "reevaluation_due"},
  };
  ep.profile_history = {{day("2026-06-01"), 3, 3, Trigger::stratification}};
  ep.tasks = {task(1, TaskKind::gp_report_start, "2026-06-01"),
              task(2, TaskKind::reevaluation, "2026-07-13", TaskStatus::open, Checkpoint::week6),
              task(3, TaskKind::reevaluation, "2026-08-24", TaskStatus::open, Checkpoint::week12)};
  if (kind == TaskKind::gp_report_interim) {
    ep.gp_questions = {{day("2026-08-25"), "Is verwijzing naar de bedrijfsarts zinvol?"}};
    ep.tasks.push_back(task(4, TaskKind::gp_report_interim, "2026-08-25"));
  }
  if (kind == TaskKind::gp_red_flag_notice) {
    ep.red_flags = {{day("2026-06-29"), RedFlag::night_sweats}, {day("2026-06-29"), RedFlag::fever_chills}};
    ep.review_notes = {{day("2026-06-30"), "Nachtzweten en koorts passen bij de griep van vorige week."}};
    ep.transitions.insert(ep.transitions.begin() + 2,
                          {{day("2026-06-29"), Trigger::screening, "treatment", "red_flag_review"},
                           {day("2026-06-30"), Trigger::red_flag_review, "red_flag_review", "treatment"}});
    ep.tasks.push_back(task(4, TaskKind::gp_red_flag_notice, "2026-06-30"));
  }
  if (kind == TaskKind::gp_report_start || kind == TaskKind::gp_report_interim ||
      kind == TaskKind::gp_red_flag_notice)
    return ep;

  ep.tasks[1].status = TaskStatus::done;
  ep.reevaluations = {{day("2026-07-13"), Judgement::insufficient, false, Checkpoint::week6, std::nullopt}};
  ep.transitions.push_back({day("2026-07-13"), Trigger::reevaluation, "reevaluation_due", "gp_consultation"});
  ep.tasks.push_back(task(4, TaskKind::gp_consultation, "2026-07-13"));
  ep.state = State::gp_consultation;
  if (kind == TaskKind::gp_consultation) return ep;

  ep.tasks[3].status = TaskStatus::done;
  ep.transitions.push_back({day("2026-07-20"), Trigger::gp_consult, "gp_consultation", "treatment"});
  ep.transitions.push_back({day("2026-08-17"), Trigger::phase, "subacute", "chronic"});
  ep.phase = Phase::chronic;
  if (kind == TaskKind::gp_report_close) {
    ep.transitions.push_back({day("2026-08-20"), Trigger::stop, "treatment", "closed"});
    ep.state = State::closed;
    ep.reason = "goals_met";
    ep.tasks[2].status = TaskStatus::cancelled;
    ep.tasks.push_back(task(5, TaskKind::gp_report_close, "2026-08-20"));
    return ep;
  }
  ep.reevaluations.push_back({day("2026-08-31"), Judgement::insufficient, true, Checkpoint::week12, std::nullopt});
  ep.transitions.push_back({day("2026-08-31"), Trigger::reevaluation, "treatment", "referred"});
  ep.state = State::referred;
  ep.reason = "profile3_no_improvement";
  ep.tasks[2].status = TaskStatus::done;
  ep.tasks.push_back(task(5, TaskKind::gp_referral, "2026-08-31"));
  return ep;
}

TaskRow row_of(const Episode& ep, TaskKind kind, int64_t id = 42) {
  for (const auto& t : ep.tasks)
    if (t.kind == kind) return TaskRow{id, ep.id, t};
  FAIL("no task of that kind");
  return {};
}

nlohmann::json strings_of(Lang lang) {
  std::ifstream in(letters_dir() + "/strings." + std::string(kLangs.name(lang)) + ".json");
  REQUIRE(in);
  return nlohmann::json::parse(in);
}

std::string text(const nlohmann::json& s, const char* key) { return s.at("text").at(key).get<std::string>(); }
std::string single(const nlohmann::json& s, const char* key) { return s.at("words").at(key).get<std::string>(); }
std::string word(const nlohmann::json& s, const char* table, std::string_view code) {
  return s.at("words").at(table).at(std::string(code)).get<std::string>();
}
// A letter title as shown: without a practice file the sender is a physiotherapist.
std::string title(const nlohmann::json& s, const std::string& kind) {
  std::string t = text(s, ("title_" + kind).c_str());
  const std::string tag = "{{discipline}}";
  if (auto at = t.find(tag); at != std::string::npos) t.replace(at, tag.size(), word(s, "disciplines", "fysiotherapeut"));
  return t;
}
// A date as the letters write it ("1 september 2026").
std::string letter_date(const nlohmann::json& s, Date d) {
  const std::string iso = d.iso();
  const int month = std::stoi(iso.substr(5, 2)), dd = std::stoi(iso.substr(8, 2));
  return std::to_string(dd) + " " + s.at("date").at("months").at(size_t(month - 1)).get<std::string>() + " " +
         iso.substr(0, 4);
}

// What a value looks like in the output: HTML-escaped in HTML, as is in text.
std::string shown(const std::string& v, LetterFormat f) {
  if (f == LetterFormat::text) return v;
  std::string out;
  for (char c : v) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

// The clinical events behind episode_for's measures: NPRS 7 -> 4, QBPDS 60 -> 55,
// PSK [8, 6] -> [5, 6], each measured twice.
const std::vector<Event>& two_measurements() {
  static const std::vector<Event> log = [] {
    std::vector<Event> l;
    for (const auto& j : {nlohmann::json{{"type", "measurement"}, {"at", "2026-06-01"}, {"nprs", 7}, {"qbpds", 60}, {"psk", {8, 6}}},
                          nlohmann::json{{"type", "measurement"}, {"at", "2026-08-17"}, {"nprs", 4}, {"qbpds", 55}, {"psk", {5, 6}}}})
      l.push_back(*parse_event(j));
    return l;
  }();
  return log;
}

std::string render_ok(const Episode& ep, const TaskRow& row, Lang lang, LetterFormat f, Date today = kToday,
                      const std::vector<Event>* log = nullptr) {
  auto r = render_letter(ep, row, lang, f, today, log);
  INFO((r.ok() ? std::string() : r.message()));
  REQUIRE(r.ok());
  return *r;
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream b;
  b << in.rdbuf();
  return b.str();
}

constexpr std::array<Lang, 2> kAllLangs{Lang::nl, Lang::en};
constexpr std::array<LetterFormat, 2> kAllFormats{LetterFormat::html, LetterFormat::text};

}  // namespace

TEST_CASE("each letter kind renders in both languages and formats with every section filled", "[letters][spec-12]") {
  for (TaskKind kind : kLetterKinds)
    for (Lang lang : kAllLangs)
      for (LetterFormat f : kAllFormats) {
        const std::string k(kTaskKinds.name(kind));
        INFO(k << " " << kLangs.name(lang) << " " << kLetterFormats.name(f));
        const Episode ep = episode_for(kind);
        const std::string out = render_ok(ep, row_of(ep, kind), lang, f, kToday, &two_measurements());
        const auto s = strings_of(lang);
        const bool nl = lang == Lang::nl;

        // every template tag was filled, and no value fell back to "not recorded"
        CHECK(out.find("{{") == std::string::npos);
        CHECK(out.find("}}") == std::string::npos);
        CHECK(out.find(single(s, "not_recorded")) == std::string::npos);
        // no code leaks into the letter instead of its words
        for (const char* code : {"gp_referral", "profile3_no_improvement", "goals_met", "fear_of_movement",
                                 "reevaluation_due", "gp_consultation", "stratification"})
          CHECK(out.find(code) == std::string::npos);

        // the letter and the people
        CHECK(out.find(title(s, k)) != std::string::npos);
        // dated on its task's date (spec §12)
        CHECK(out.find(letter_date(s, ep.tasks[size_t(row_of(ep, kind).task.seq - 1)].created)) != std::string::npos);
        CHECK(out.find("P-1234") != std::string::npos);
        CHECK(out.find("Dr. A. de Vries") != std::string::npos);
        CHECK(out.find("J. Jansen") != std::string::npos);
        // patient and complaint: complaint, onset, phase, recurrence
        for (const char* h : {"h_patient", "h_profile", "h_measures", "h_reevaluations", "h_course"})
          CHECK(out.find(text(s, h)) != std::string::npos);
        CHECK(out.find(nl ? "lage rugpijn" : "low back pain") != std::string::npos);
        CHECK(out.find(nl ? "25 mei 2026" : "25 May 2026") != std::string::npos);
        CHECK(out.find(word(s, "phases", kPhases.name(ep.phase))) != std::string::npos);
        CHECK(out.find(nl ? "terugkerende episode" : "recurrent episode") != std::string::npos);
        CHECK(out.find(nl ? "52 jaar" : "52 years") != std::string::npos);
        // profile and why: suggestion, STarT Back, Örebro, dominant factors
        CHECK(out.find(nl ? "profiel 3: hoog risico" : "profile 3: high risk") != std::string::npos);
        CHECK(out.find(nl ? "totaal 5 van 9, psychosociale subschaal 5 van 5: hoog risico"
                          : "total 5 of 9, psychosocial subscale 5 of 5: high risk") != std::string::npos);
        CHECK(out.find(nl ? "totaal 57 van 100: verhoogd risico" : "total 57 of 100: raised risk") != std::string::npos);
        CHECK(out.find(word(s, "factors", "fear_of_movement")) != std::string::npos);
        CHECK(out.find(shown(word(s, "factors", "poor_colleague_relations"), f)) != std::string::npos);
        CHECK(out.find(word(s, "factors", "leg_pain")) != std::string::npos);
        // baseline and latest NPRS / QBPDS / PSK with the change in percent
        CHECK(out.find(nl ? "42% afname, klinisch relevante verbetering" : "42% reduction, clinically relevant improvement") !=
              std::string::npos);                                                    // NPRS 7 -> 4 (42.9 %, truncated)
        CHECK(out.find(nl ? "8% afname" : "8% reduction") != std::string::npos);    // QBPDS 60 -> 55
        CHECK(out.find(nl ? "37% afname" : "37% reduction") != std::string::npos);  // PSK 1: 8 -> 5 (37.5 %, truncated)
        CHECK(out.find(nl ? "gelijk gebleven" : "unchanged") != std::string::npos);  // PSK 2: 6 -> 6
        CHECK(out.find(text(s, "measures_note")) != std::string::npos);
        // the dated course
        CHECK(out.find(nl ? "6 juli 2026" : "6 July 2026") != std::string::npos);
        CHECK(out.find(word(s, "triggers", "stratification")) != std::string::npos);

        switch (kind) {
          case TaskKind::gp_report_start:
            CHECK(out.find(text(s, "h_plan")) != std::string::npos);
            CHECK(out.find(nl ? "week 12: 24 augustus 2026" : "week 12: 24 August 2026") != std::string::npos);
            break;
          case TaskKind::gp_consultation:
            CHECK(out.find(text(s, "h_consultation")) != std::string::npos);
            CHECK(out.find(nl ? "na 6 weken behandeling" : "After 6 weeks of treatment") != std::string::npos);
            CHECK(out.find(word(s, "judgements", "insufficient")) != std::string::npos);
            break;
          case TaskKind::gp_referral:
            CHECK(out.find(text(s, "h_referral")) != std::string::npos);
            CHECK(out.find(text(s, "h_next_step")) != std::string::npos);
            CHECK(out.find(word(s, "referral_reasons", "profile3_no_improvement")) != std::string::npos);
            CHECK(out.find(word(s, "next_steps", "profile3_no_improvement")) != std::string::npos);
            CHECK(out.find(nl ? "afgeleid uit de meetwaarden" : "derived from the measurements") != std::string::npos);
            break;
          case TaskKind::gp_report_close:
            CHECK(out.find(text(s, "h_close")) != std::string::npos);
            CHECK(out.find(word(s, "stop_reasons", "goals_met")) != std::string::npos);
            break;
          case TaskKind::gp_report_interim:
            CHECK(out.find(text(s, "h_question")) != std::string::npos);
            CHECK(out.find(text(s, "h_answer")) != std::string::npos);
            CHECK(out.find("Is verwijzing naar de bedrijfsarts zinvol?") != std::string::npos);
            CHECK(out.find(nl ? "Op 25 augustus 2026 vroeg u" : "On 25 August 2026 you asked") != std::string::npos);
            break;
          case TaskKind::gp_red_flag_notice:
            CHECK(out.find(text(s, "h_features")) != std::string::npos);
            CHECK(out.find(word(s, "red_flags", "night_sweats")) != std::string::npos);
            CHECK(out.find(word(s, "red_flags", "fever_chills")) != std::string::npos);
            CHECK(out.find("Nachtzweten en koorts passen bij de griep van vorige week.") != std::string::npos);
            CHECK(out.find(text(s, "notice_continues")) != std::string::npos);
            break;
          default:
            FAIL("not a letter kind");
        }
      }
}

TEST_CASE("a patient reference containing <script> comes out escaped in HTML and verbatim in text",
          "[letters][escaping]") {
  Episode ep = episode_for(TaskKind::gp_referral);
  ep.patient = "<script>alert('x')</script>";
  ep.gp = "Dr. O'Neil & \"Partners\"";
  ep.therapist = "<b>T</b>";
  ep.profile = 1;  // chosen below the suggestion, with a reason typed by the therapist
  ep.override_reason = "<img src=x onerror=alert(1)>";
  const TaskRow row = row_of(ep, TaskKind::gp_referral);

  for (Lang lang : kAllLangs) {
    const std::string html = render_ok(ep, row, lang, LetterFormat::html);
    CHECK(html.find("<script") == std::string::npos);
    CHECK(html.find("<img") == std::string::npos);
    CHECK(html.find("<b>") == std::string::npos);
    CHECK(html.find("&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt;") != std::string::npos);
    CHECK(html.find("Dr. O&apos;Neil &amp; &quot;Partners&quot;") != std::string::npos);
    CHECK(html.find("&lt;img src=x onerror=alert(1)&gt;") != std::string::npos);

    const std::string txt = render_ok(ep, row, lang, LetterFormat::text);
    CHECK(txt.find("<script>alert('x')</script>") != std::string::npos);
    CHECK(txt.find("Dr. O'Neil & \"Partners\"") != std::string::npos);
    CHECK(txt.find("&lt;") == std::string::npos);
    CHECK(txt.find("&amp;") == std::string::npos);
  }
}

TEST_CASE("a free-text value cannot break the letter's lines", "[letters][escaping]") {
  Episode ep = episode_for(TaskKind::gp_report_start);
  ep.patient = "P-1\nGeachte heer,\r\n";
  const std::string txt = render_ok(ep, row_of(ep, TaskKind::gp_report_start), Lang::nl, LetterFormat::text);
  CHECK(txt.find("P-1 Geachte heer,") != std::string::npos);
}

TEST_CASE("the text letter holds no markup and no HTML entities", "[letters][text]") {
  const std::string layout = read(letters_dir() + "/letter.txt.mustache");
  CHECK(layout.find('<') == std::string::npos);
  CHECK(layout.find("{{{") == std::string::npos);
  for (TaskKind kind : kLetterKinds) {
    const Episode ep = episode_for(kind);
    const std::string txt = render_ok(ep, row_of(ep, kind), Lang::nl, LetterFormat::text);
    CHECK(txt.find('<') == std::string::npos);
    CHECK(txt.find("&apos;") == std::string::npos);
    CHECK(txt.find("collega's") != std::string::npos);
    CHECK(txt.find("\n\n\n") == std::string::npos);  // no empty sections
    CHECK(txt.front() != '\n');
  }
}

TEST_CASE("the HTML letter is a printable A4 page whose layout escapes every value", "[letters][html]") {
  const std::string layout = read(letters_dir() + "/letter.html.mustache");
  CHECK(layout.find("{{{") == std::string::npos);
  CHECK(layout.find("{{&") == std::string::npos);
  const Episode ep = episode_for(TaskKind::gp_referral);
  for (Lang lang : kAllLangs) {
    const std::string html = render_ok(ep, row_of(ep, TaskKind::gp_referral), lang, LetterFormat::html);
    CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
    CHECK(html.find("<html lang=\"" + std::string(kLangs.name(lang)) + "\">") != std::string::npos);
    CHECK(html.find("@page { size: A4;") != std::string::npos);
    CHECK(html.find("@media print") != std::string::npos);
    CHECK(html.find("<meta charset=\"utf-8\">") != std::string::npos);
    CHECK(html.find("http") == std::string::npos);  // self-contained: nothing to fetch
  }
}

TEST_CASE("the referral for profile 3 without improvement proposes step 3, multidisciplinary care",
          "[letters][spec-8][kngf-a3]") {
  const Episode ep = episode_for(TaskKind::gp_referral);
  const TaskRow row = row_of(ep, TaskKind::gp_referral);
  const std::string nl = render_ok(ep, row, Lang::nl, LetterFormat::text);
  CHECK(nl.find("stap 3: multidisciplinaire diagnostiek en behandeling in de eerste lijn, in nauwe samenwerking "
                "met de tweede lijn (KNGF A.3)") != std::string::npos);
  const std::string en = render_ok(ep, row, Lang::en, LetterFormat::text);
  CHECK(en.find("step 3: multidisciplinary diagnostics and treatment in primary care, in close collaboration with "
                "secondary care (KNGF A.3)") != std::string::npos);
}

TEST_CASE("every referral reason, stop reason and exclusion reads as plain words", "[letters][codes]") {
  for (Lang lang : kAllLangs) {
    const auto s = strings_of(lang);
    for (std::size_t i = 0; i < kReferralReasons.size(); ++i) {
      const std::string code(kReferralReasons.names[i]);
      Episode ep = episode_for(TaskKind::gp_referral);
      ep.reason = code;
      const std::string out = render_ok(ep, row_of(ep, TaskKind::gp_referral), lang, LetterFormat::text);
      INFO(code);
      CHECK(out.find(word(s, "referral_reasons", code)) != std::string::npos);
      CHECK(out.find(word(s, "next_steps", code)) != std::string::npos);
      CHECK(out.find(code) == std::string::npos);
    }
    for (std::size_t i = 0; i < kStopReasons.size(); ++i) {
      const std::string code(kStopReasons.names[i]);
      Episode ep = episode_for(TaskKind::gp_report_close);
      ep.reason = code;
      const std::string out = render_ok(ep, row_of(ep, TaskKind::gp_report_close), lang, LetterFormat::text);
      INFO(code);
      CHECK(out.find(word(s, "stop_reasons", code)) != std::string::npos);
      CHECK(out.find(code) == std::string::npos);
    }
    // A later screening may exclude an episode in treatment (rule 4): its
    // start report, still to be sent, shows why the pathway no longer applies.
    for (std::size_t i = 0; i < kExclusions.size(); ++i) {
      const std::string code(kExclusions.names[i]);
      Episode ep = episode_for(TaskKind::gp_report_start);
      ep.state = State::excluded;
      ep.reason = code;
      const std::string out = render_ok(ep, row_of(ep, TaskKind::gp_report_start), lang, LetterFormat::text);
      INFO(code);
      CHECK(out.find(word(s, "states", "excluded") + ": " + word(s, "exclusions", code)) != std::string::npos);
      if (code.find('_') != std::string::npos) CHECK(out.find(code) == std::string::npos);  // "visceral" is a word too
    }
  }
}

TEST_CASE("letters follow the guideline's language advice (KNGF C.1)", "[letters][kngf-c1]") {
  // C.1: avoid words that feed fear of pain ("letsel", "degeneratie",
  // "slijtage") and "aspecifiek"; say "lage rugpijn".
  const std::vector<std::string> avoid_nl{"degeneratie", "degeneratief", "slijtage", "letsel", "aspecifiek",
                                          "catastrof", "beschadig"};
  const std::vector<std::string> avoid_en{"degenerat", "wear and tear", "non-specific", "nonspecific", "injury",
                                          "damage", "catastroph"};
  for (Lang lang : kAllLangs) {
    const auto& avoid = lang == Lang::nl ? avoid_nl : avoid_en;
    const std::string file = lower(read(letters_dir() + "/strings." + std::string(kLangs.name(lang)) + ".json"));
    for (const auto& w : avoid) {
      INFO(w);
      CHECK(file.find(w) == std::string::npos);
    }
    for (TaskKind kind : kLetterKinds) {
      const Episode ep = episode_for(kind);
      const std::string out = lower(render_ok(ep, row_of(ep, kind), lang, LetterFormat::text));
      for (const auto& w : avoid) CHECK(out.find(w) == std::string::npos);
    }
  }
  const auto nl = strings_of(Lang::nl);
  CHECK(word(nl, "complaints", "lbp") == "lage rugpijn");
}

TEST_CASE("both languages have the same wording keys", "[letters][strings]") {
  const auto nl = strings_of(Lang::nl);
  const auto en = strings_of(Lang::en);
  for (auto it = nl.at("text").begin(); it != nl.at("text").end(); ++it) {
    INFO(it.key());
    CHECK(en.at("text").contains(it.key()));
  }
  for (auto it = en.at("text").begin(); it != en.at("text").end(); ++it) {
    INFO(it.key());
    CHECK(nl.at("text").contains(it.key()));
  }
}

TEST_CASE("measures without a comparable baseline or a later value say so", "[letters][spec-6]") {
  Episode ep = episode_for(TaskKind::gp_report_start);
  ep.baseline = Measures{0, 30, std::vector<int>{8, 6, 4}};
  ep.latest = Measures{3, 21, std::vector<int>{7}};
  const std::string out = render_ok(ep, row_of(ep, TaskKind::gp_report_start), Lang::nl, LetterFormat::text);
  CHECK(out.find("NPRS, pijnintensiteit (0-10): 0 -> 3, niet te berekenen (beginwaarde 0)") != std::string::npos);
  // 30 -> 21 is 30 %: clinically relevant (spec §6, in integers)
  CHECK(out.find("QBPDS, beperkingen in activiteiten (0-100): 30 -> 21, 30% afname, klinisch relevante verbetering") !=
        std::string::npos);
  CHECK(out.find("PSK, patiëntspecifieke klacht 1 (0-10): 8 -> 7, 12% afname") != std::string::npos);
  CHECK(out.find("PSK, patiëntspecifieke klacht 3 (0-10): 4 -> niet gemeten, -") != std::string::npos);
  // PSK is not judged by the 30 % rule
  CHECK(out.find("klacht 1 (0-10): 8 -> 7, 13% afname, klinisch") == std::string::npos);
}

TEST_CASE("an episode with little recorded still gives a complete letter", "[letters][spec-12]") {
  Episode ep;
  ep.id = "ep-8";
  ep.opened = ep.onset = day("2026-08-31");
  ep.age = 40;
  ep.complaint = Complaint::lrs;
  ep.state = State::treatment;
  ep.profile = 1;
  ep.treatment_start = day("2026-08-31");
  ep.tasks = {task(1, TaskKind::gp_report_start, "2026-08-31")};
  for (Lang lang : kAllLangs) {
    const auto s = strings_of(lang);
    const std::string out = render_ok(ep, row_of(ep, TaskKind::gp_report_start), lang, LetterFormat::text);
    CHECK(out.find(word(s, "complaints", "lrs")) != std::string::npos);
    CHECK(out.find(text(s, "no_suggestion")) != std::string::npos);
    CHECK(out.find(text(s, "not_administered")) != std::string::npos);
    CHECK(out.find(text(s, "no_measures")) != std::string::npos);
    CHECK(out.find(text(s, "no_reevaluations")) != std::string::npos);
    CHECK(out.find(text(s, "no_planned")) != std::string::npos);
    CHECK(out.find(single(s, "not_recorded")) != std::string::npos);  // no patient reference, GP, therapist
    CHECK(out.find(lang == Lang::nl ? "0 weken op 31 augustus 2026" : "0 weeks on 31 August 2026") != std::string::npos);
  }
}

TEST_CASE("a task that is not a letter is refused", "[letters][errors]") {
  const Episode ep = episode_for(TaskKind::gp_report_start);
  auto r = render_letter(ep, row_of(ep, TaskKind::reevaluation), Lang::nl, LetterFormat::html, kToday);
  REQUIRE_FALSE(r.ok());
  CHECK(r.message().find("task 42 is a reevaluation task, not a letter") != std::string::npos);
  CHECK_FALSE(is_letter(TaskKind::gp_urgent_contact));
  CHECK_FALSE(is_letter(TaskKind::red_flag_review));
  CHECK(is_letter(TaskKind::gp_consultation));
  CHECK(is_letter(TaskKind::gp_report_interim));
  CHECK(is_letter(TaskKind::gp_red_flag_notice));
}

TEST_CASE("a referral letter needs a referred episode, an end report a closed one", "[letters][errors]") {
  Episode ep = episode_for(TaskKind::gp_referral);
  ep.state = State::treatment;
  ep.reason.reset();
  auto r = render_letter(ep, row_of(ep, TaskKind::gp_referral), Lang::nl, LetterFormat::text, kToday);
  REQUIRE_FALSE(r.ok());
  CHECK(r.message().find("ep-7 is not referred") != std::string::npos);

  Episode closed = episode_for(TaskKind::gp_report_close);
  closed.state = State::treatment;
  auto c = render_letter(closed, row_of(closed, TaskKind::gp_report_close), Lang::en, LetterFormat::text, kToday);
  REQUIRE_FALSE(c.ok());
  CHECK(c.message().find("is not closed") != std::string::npos);

  TaskRow other = row_of(ep, TaskKind::gp_referral);
  other.episode = "ep-99";
  CHECK_FALSE(render_letter(ep, other, Lang::nl, LetterFormat::text, kToday).ok());
  TaskRow wrong_seq = row_of(ep, TaskKind::gp_referral);
  wrong_seq.task.seq = 1;  // the episode's task 1 is its start report
  CHECK_FALSE(render_letter(ep, wrong_seq, Lang::nl, LetterFormat::text, kToday).ok());
}

TEST_CASE("a task row as the store lists it (no creation date) still dates the letter's events",
          "[letters][spec-11]") {
  const Episode ep = episode_for(TaskKind::gp_report_close);
  TaskRow row = row_of(ep, TaskKind::gp_report_close);
  row.task.created = Date{};  // TaskRow from Store::tasks() carries only id, kind, due, status, checkpoint
  const std::string out = render_ok(ep, row, Lang::nl, LetterFormat::text);
  CHECK(out.find("is op 20 augustus 2026 afgesloten") != std::string::npos);
  CHECK(out.find("1970") == std::string::npos);
}

TEST_CASE("a letter is dated on its task's date, whatever day it is printed (spec 12)", "[letters][clock]") {
  const Episode ep = episode_for(TaskKind::gp_report_start);
  const TaskRow row = row_of(ep, TaskKind::gp_report_start);
  const Date created = ep.tasks[size_t(row.task.seq - 1)].created;
  const std::string on_the_day = render_ok(ep, row, Lang::nl, LetterFormat::text, created);
  CHECK(render_ok(ep, row, Lang::nl, LetterFormat::text, day("2027-03-09")) == on_the_day);
  CHECK(on_the_day.find("Datum: " + std::to_string(std::stoi(created.iso().substr(8)))) != std::string::npos);
  CHECK(on_the_day.find("2027") == std::string::npos);
  CHECK(render_ok(ep, row, Lang::en, LetterFormat::text, day("2027-03-09")).find("2027") == std::string::npos);
}

TEST_CASE("the file name carries episode and task ids only", "[letters][files]") {
  TaskRow row{12, "ep-3", task(1, TaskKind::gp_referral, "2026-08-31")};
  CHECK(letter_file_name(row, LetterFormat::html) == "ep-3-task-12-gp_referral.html");
  CHECK(letter_file_name(row, LetterFormat::text) == "ep-3-task-12-gp_referral.txt");
  row.episode = "../x y/z";
  CHECK(letter_file_name(row, LetterFormat::text) == ".._x_y_z-task-12-gp_referral.txt");
}

namespace {
// A copy of the installed letters directory that a test may break.
struct ScratchLetters {
  std::filesystem::path root;
  ScratchLetters() {
    root = std::filesystem::temp_directory_path() / ("zorgpad-letters-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(root);
    std::filesystem::create_directories(root / "letters");
    for (const auto& e : std::filesystem::directory_iterator(letters_dir()))
      std::filesystem::copy_file(e.path(), root / "letters" / e.path().filename());
  }
  ~ScratchLetters() { std::filesystem::remove_all(root); }
  std::string dir() const { return (root / "letters").string(); }
  void edit_strings(Lang lang, const std::function<void(nlohmann::json&)>& fn) const {
    const std::string path = dir() + "/strings." + std::string(kLangs.name(lang)) + ".json";
    auto j = nlohmann::json::parse(read(path));
    fn(j);
    std::ofstream(path) << j.dump(2);
  }
};
}  // namespace

TEST_CASE("a broken installation is an error, never an exception", "[letters][errors]") {
  SECTION("missing directory") {
    auto t = LetterTemplates::load("/nonexistent/letters", Lang::nl, LetterFormat::html);
    REQUIRE_FALSE(t.ok());
    CHECK(t.message().find("strings.nl.json") != std::string::npos);
  }
  ScratchLetters scratch;
  SECTION("a referral reason without words") {
    scratch.edit_strings(Lang::en, [](nlohmann::json& j) { j["words"]["referral_reasons"].erase("lrs_severe"); });
    auto t = LetterTemplates::load(scratch.dir(), Lang::en, LetterFormat::text);
    REQUIRE_FALSE(t.ok());
    CHECK(t.message() == "strings.en.json: words.referral_reasons has no entry for 'lrs_severe'");
  }
  SECTION("wording the layout uses is missing") {
    scratch.edit_strings(Lang::nl, [](nlohmann::json& j) { j["text"].erase("h_course"); });
    auto t = LetterTemplates::load(scratch.dir(), Lang::nl, LetterFormat::html);
    REQUIRE_FALSE(t.ok());
    CHECK(t.message().find("t.h_course") != std::string::npos);
  }
  SECTION("markup in the wording") {
    scratch.edit_strings(Lang::nl, [](nlohmann::json& j) { j["text"]["closing"] = "<b>Groet</b>"; });
    CHECK_FALSE(LetterTemplates::load(scratch.dir(), Lang::nl, LetterFormat::html).ok());
  }
  SECTION("an HTML layout that opts out of escaping") {
    std::ofstream(scratch.dir() + "/letter.html.mustache", std::ios::app) << "{{{patient}}}\n";
    auto t = LetterTemplates::load(scratch.dir(), Lang::nl, LetterFormat::html);
    REQUIRE_FALSE(t.ok());
    CHECK(t.message().find("unescaped") != std::string::npos);
  }
  SECTION("not JSON") {
    std::ofstream(scratch.dir() + "/strings.nl.json") << "{ nope";
    CHECK_FALSE(LetterTemplates::load(scratch.dir(), Lang::nl, LetterFormat::text).ok());
  }
  SECTION("a wrong type in the strings file") {
    scratch.edit_strings(Lang::nl, [](nlohmann::json& j) { j["words"]["states"]["closed"] = 3; });
    CHECK_FALSE(LetterTemplates::load(scratch.dir(), Lang::nl, LetterFormat::text).ok());
  }
}

TEST_CASE("ZORGPAD_SHARE_DIR overrides where the letters are found", "[letters][files]") {
  ScratchLetters scratch;
  scratch.edit_strings(Lang::nl, [](nlohmann::json& j) { j["text"]["closing"] = "Tot ziens uit de testmap."; });
  const char* before = std::getenv("ZORGPAD_SHARE_DIR");
  const std::string saved = before ? before : "";
  ::setenv("ZORGPAD_SHARE_DIR", scratch.root.c_str(), 1);
  const Episode ep = episode_for(TaskKind::gp_report_start);
  auto r = render_letter(ep, row_of(ep, TaskKind::gp_report_start), Lang::nl, LetterFormat::text, kToday);
  if (before) ::setenv("ZORGPAD_SHARE_DIR", saved.c_str(), 1);
  else ::unsetenv("ZORGPAD_SHARE_DIR");
  REQUIRE(r.ok());
  CHECK(r->find("Tot ziens uit de testmap.") != std::string::npos);
}

// ---- revision 2 (spec §4, §8, §10-§12), episodes run through the engine ------------

namespace {

using J = nlohmann::json;

// An episode run through open_episode/apply, with its clinical events (the
// letter's log).
struct Run {
  Episode ep;
  std::vector<Event> log;
};

Run through(const std::vector<J>& events) {
  Run r;
  for (const auto& j : events) {
    auto e = parse_event(j);
    INFO(j.dump() << " -> " << (e.ok() ? std::string("ok") : e.message()));
    REQUIRE(e.ok());
    r.log.push_back(*e);
  }
  auto ep = open_episode("ep-r2", "P-55", r.log.front());
  INFO((ep.ok() ? std::string() : ep.message()));
  REQUIRE(ep.ok());
  r.ep = *ep;
  for (size_t i = 1; i < r.log.size(); ++i) {
    Status s = apply(r.ep, r.log[i]);
    INFO(events[i].dump() << " -> " << s.message());
    REQUIRE(s.ok());
  }
  return r;
}

// Opened on Monday 2026-01-05, complaints since 2026-01-01, direct access.
J open_ev(const J& extra = J::object()) {
  J j = {{"type", "open"}, {"at", "2026-01-05"}, {"onset", "2026-01-01"}, {"complaint", "lbp"},
         {"age", 40},      {"gp", "Dr. H. Bakker"}, {"therapist", "F. Smit"}};
  j.update(extra);
  return j;
}
J screening_ev(const char* at, const J& extra = J::object()) {
  J j = {{"type", "screening"}, {"at", at}, {"red_flags", J::array()}, {"exclusions", J::array()}};
  j.update(extra);
  return j;
}
J measurement_ev(const char* at, const J& measures) {
  J j = {{"type", "measurement"}, {"at", at}};
  j.update(measures);
  return j;
}
J stratification_ev(const char* at, const J& factors) {
  return {{"type", "stratification"}, {"at", at}, {"factors", factors}};
}

// The letter of the `nth` task of `kind` (0: the first), with the log.
std::string letter_of(const Run& r, TaskKind kind, Lang lang, LetterFormat f, int nth = 0) {
  for (const Task& t : r.ep.tasks)
    if (t.kind == kind && nth-- == 0) {
      auto out = render_letter(r.ep, TaskRow{100 + t.seq, r.ep.id, t}, lang, f, kToday, &r.log);
      INFO(std::string(kTaskKinds.name(kind)) << ": " << (out.ok() ? std::string() : out.message()));
      REQUIRE(out.ok());
      return *out;
    }
  FAIL("no " << kTaskKinds.name(kind) << " task");
  return {};
}

// A red-flag review opened at the first screening and decided `continue`.
Run continued_review(const J& screening_extra = J::object()) {
  J review = screening_ev("2026-01-05", {{"red_flags", {"night_sweats", "fever_chills"}}});
  review.update(screening_extra);
  Run r = through({open_ev(), review,
                   {{"type", "red_flag_review"}, {"at", "2026-01-06"}, {"decision", "continue"},
                    {"note", "Nachtzweten en koorts passen bij een doorgemaakte griep."}}});
  return r;
}

}  // namespace

TEST_CASE("the interim report answers the question the GP asked on its task's date", "[letters][spec-12]") {
  Run r = through({open_ev(), screening_ev("2026-01-05"), measurement_ev("2026-01-05", {{"nprs", 6}, {"qbpds", 40}}),
                   stratification_ev("2026-01-05", {{"leg_pain", "present"}}),
                   {{"type", "gp_request"}, {"at", "2026-01-12"}, {"question", "Kan de patiënt weer volledig werken?"}},
                   {{"type", "gp_request"}, {"at", "2026-01-19"}, {"question", "Is een MRI nodig?"}},
                   {{"type", "gp_request"}, {"at", "2026-01-20"}}});
  REQUIRE(r.ep.state == State::treatment);
  for (Lang lang : kAllLangs)
    for (LetterFormat f : kAllFormats) {
      INFO(kLangs.name(lang) << " " << kLetterFormats.name(f));
      const auto s = strings_of(lang);
      const bool nl = lang == Lang::nl;
      const std::string first = letter_of(r, TaskKind::gp_report_interim, lang, f, 0);
      CHECK(first.find(title(s, "gp_report_interim")) != std::string::npos);
      CHECK(first.find(text(s, "h_question")) != std::string::npos);
      CHECK(first.find(nl ? "Op 12 januari 2026 vroeg u: \u201cKan de patiënt weer volledig werken?\u201d"
                          : "On 12 January 2026 you asked: \u201cKan de patiënt weer volledig werken?\u201d") !=
            std::string::npos);
      CHECK(first.find("Is een MRI nodig?") == std::string::npos);  // a later question is not this letter's
      // the answer: how far treatment is on that day
      CHECK(first.find(nl ? "in behandeling, in profiel 2; op 12 januari 2026 was dat 1 week."
                          : "in treatment with me since 5 January 2026, in profile 2; on 12 January 2026 that was 1 week.") !=
            std::string::npos);
      const std::string second = letter_of(r, TaskKind::gp_report_interim, lang, f, 1);
      CHECK(second.find("Is een MRI nodig?") != std::string::npos);
      CHECK(second.find("volledig werken") == std::string::npos);
      const std::string third = letter_of(r, TaskKind::gp_report_interim, lang, f, 2);
      CHECK(third.find(nl ? "Op 20 januari 2026 vroeg u om een tussentijdse rapportage, zonder een specifieke vraag."
                          : "On 20 January 2026 you asked for an interim report, without a specific question.") !=
            std::string::npos);
    }
}

TEST_CASE("the red-flag notice lists the features found and the therapist's note, and treatment continues",
          "[letters][spec-12]") {
  Run r = continued_review();
  REQUIRE(r.ep.state == State::screened);
  for (Lang lang : kAllLangs)
    for (LetterFormat f : kAllFormats) {
      INFO(kLangs.name(lang) << " " << kLetterFormats.name(f));
      const auto s = strings_of(lang);
      const std::string out = letter_of(r, TaskKind::gp_red_flag_notice, lang, f);
      CHECK(out.find(text(s, "title_gp_red_flag_notice")) != std::string::npos);
      CHECK(out.find(text(s, "h_features")) != std::string::npos);
      CHECK(out.find(word(s, "red_flags", "night_sweats")) != std::string::npos);
      CHECK(out.find(word(s, "red_flags", "fever_chills")) != std::string::npos);
      CHECK(out.find(lang == Lang::nl ? "5 januari 2026: nachtzweten" : "5 January 2026: night sweats") !=
            std::string::npos);
      CHECK(out.find("Nachtzweten en koorts passen bij een doorgemaakte griep.") != std::string::npos);
      CHECK(out.find(text(s, "notice_continues")) != std::string::npos);
      CHECK(out.find("night_sweats") == std::string::npos);
      CHECK(out.find(word(s, "course", "screening:red_flag_review")) != std::string::npos);  // the course, in plain words
    }
}

TEST_CASE("the red-flag notice of a screening that also excluded says the pathway ends", "[letters][spec-12]") {
  Run r = continued_review({{"exclusions", {"pregnancy_related"}}});
  REQUIRE(r.ep.state == State::excluded);
  for (Lang lang : kAllLangs) {
    const auto s = strings_of(lang);
    const std::string out = letter_of(r, TaskKind::gp_red_flag_notice, lang, LetterFormat::text);
    CHECK(out.find(word(s, "exclusions", "pregnancy_related")) != std::string::npos);
    CHECK(out.find(lang == Lang::nl ? "Het zorgpad eindigt hier" : "The care pathway ends here") != std::string::npos);
    CHECK(out.find(text(s, "notice_continues")) == std::string::npos);
  }
}

TEST_CASE("a referral for a red flag lists the features found", "[letters][spec-12]") {
  Run r = through({open_ev(), screening_ev("2026-01-05", {{"red_flags", {"major_trauma"}}})});
  REQUIRE(r.ep.state == State::referred);
  for (Lang lang : kAllLangs)
    for (LetterFormat f : kAllFormats) {
      const auto s = strings_of(lang);
      const std::string out = letter_of(r, TaskKind::gp_referral, lang, f);
      CHECK(out.find(text(s, "h_features")) != std::string::npos);
      CHECK(out.find(word(s, "red_flags", "major_trauma")) != std::string::npos);
      CHECK(out.find(shown(word(s, "referral_reasons", "red_flag"), f)) != std::string::npos);
    }
  // suspicion alone: no feature, and the letter says the referral rests on it
  Run suspicion = through({open_ev(), screening_ev("2026-01-05", {{"suspicion", true}})});
  const std::string out = letter_of(suspicion, TaskKind::gp_referral, Lang::nl, LetterFormat::text);
  CHECK(out.find(text(strings_of(Lang::nl), "no_features")) != std::string::npos);
}

TEST_CASE("a neurological emergency's written referral lists the features and confirms the phone call",
          "[letters][spec-12]") {
  Run r = through({open_ev(), screening_ev("2026-01-05", {{"red_flags", {"cauda_equina"}}})});
  REQUIRE(r.ep.state == State::referred);
  for (Lang lang : kAllLangs)
    for (LetterFormat f : kAllFormats) {
      const auto s = strings_of(lang);
      const std::string out = letter_of(r, TaskKind::gp_referral, lang, f);
      CHECK(out.find(shown(word(s, "red_flags", "cauda_equina"), f)) != std::string::npos);
      CHECK(out.find(lang == Lang::nl ? "spoedverwijzing die ik op 5 januari 2026 telefonisch met u heb besproken"
                                      : "urgent referral I discussed with you by phone on 5 January 2026") !=
            std::string::npos);
    }
  // another referral confirms no phone call
  Run trauma = through({open_ev(), screening_ev("2026-01-05", {{"red_flags", {"major_trauma"}}})});
  CHECK(letter_of(trauma, TaskKind::gp_referral, Lang::nl, LetterFormat::text).find("telefonisch") == std::string::npos);
}

TEST_CASE("an LRS referral gives the MRC values with their dates and the criterion that applied",
          "[letters][spec-12]") {
  SECTION("MRC 3 or lower") {
    Run r = through({open_ev({{"complaint", "lrs"}}), screening_ev("2026-01-05", {{"mrc", 4}, {"nprs", 5}}),
                     screening_ev("2026-01-12", {{"mrc", 3}})});
    REQUIRE(r.ep.state == State::referred);
    REQUIRE(*r.ep.reason == "lrs_severe");
    const std::string nl = letter_of(r, TaskKind::gp_referral, Lang::nl, LetterFormat::text);
    CHECK(nl.find("5 januari 2026: MRC 4") != std::string::npos);
    CHECK(nl.find("12 januari 2026: MRC 3") != std::string::npos);
    CHECK(nl.find("Toegepast criterium: duidelijke spierzwakte, MRC 3 of lager (MRC 3 op 12 januari 2026)") !=
          std::string::npos);
    const std::string en = letter_of(r, TaskKind::gp_referral, Lang::en, LetterFormat::html);
    CHECK(en.find("12 January 2026: MRC 3") != std::string::npos);
    CHECK(en.find("Criterion applied: marked muscle weakness, MRC 3 or lower") != std::string::npos);
  }
  SECTION("NPRS 8 or higher") {
    Run r = through({open_ev({{"complaint", "lrs"}}), screening_ev("2026-01-05", {{"mrc", 5}, {"nprs", 9}})});
    REQUIRE(r.ep.state == State::referred);
    const std::string nl = letter_of(r, TaskKind::gp_referral, Lang::nl, LetterFormat::text);
    CHECK(nl.find("5 januari 2026: MRC 5") != std::string::npos);
    CHECK(nl.find("Toegepast criterium: zeer hevige pijn, NPRS 8 of hoger (NPRS 9), op 5 januari 2026") !=
          std::string::npos);
    CHECK(nl.find("MRC 3 of lager (MRC") == std::string::npos);
  }
}

TEST_CASE("the referral for LRS without improvement after six weeks proposes assessment by a neurologist",
          "[letters][spec-12][spec-8]") {
  Run r = through({open_ev({{"complaint", "lrs"}}), screening_ev("2026-01-05", {{"mrc", 5}}),
                   measurement_ev("2026-01-05", {{"nprs", 6}}), stratification_ev("2026-01-05", J::object()),
                   {{"type", "reevaluation"}, {"at", "2026-02-12"}, {"nprs", 5}, {"judgement", "insufficient"}}});
  REQUIRE(r.ep.state == State::referred);
  REQUIRE(*r.ep.reason == "lrs_no_improvement");
  const std::string nl = letter_of(r, TaskKind::gp_referral, Lang::nl, LetterFormat::text);
  CHECK(nl.find("Beoordeling door een neuroloog") != std::string::npos);
  CHECK(nl.find("zes weken of langer klachten zonder voldoende vermindering (6 weken klachten bij de herevaluatie "
                "van 12 februari 2026)") != std::string::npos);
  CHECK(nl.find("5 januari 2026: MRC 5") != std::string::npos);  // an LRS letter shows the MRC values
  const std::string en = letter_of(r, TaskKind::gp_referral, Lang::en, LetterFormat::html);
  CHECK(en.find("Assessment by a neurologist") != std::string::npos);
  CHECK(en.find("six weeks or more of complaints without sufficient reduction") != std::string::npos);
}

TEST_CASE("a judgement that differs from the 30 % rule is said so in the letter", "[letters][spec-12][spec-8]") {
  auto ended_after = [](const J& reevaluation) {
    return through({open_ev(), screening_ev("2026-01-05"), measurement_ev("2026-01-05", {{"nprs", 6}, {"qbpds", 40}}),
                    stratification_ev("2026-01-05", {{"leg_pain", "present"}}), reevaluation,
                    {{"type", "stop"}, {"at", "2026-02-02"}, {"reason", "patient_request"}}});
  };
  SECTION("insufficient, while the NPRS improved by 50 %") {
    Run r = ended_after({{"type", "reevaluation"}, {"at", "2026-01-26"}, {"nprs", 3}, {"judgement", "insufficient"},
                         {"new_insights", true}});
    REQUIRE(r.ep.reevaluations.at(0).measured_improvement == true);
    const std::string nl = letter_of(r, TaskKind::gp_report_close, Lang::nl, LetterFormat::text);
    CHECK(nl.find("onvoldoende vermindering van de klachten; dit oordeel wijkt af van de meting: de NPRS of de QBPDS "
                  "liet 30% of meer verbetering zien") != std::string::npos);
    const std::string en = letter_of(r, TaskKind::gp_report_close, Lang::en, LetterFormat::html);
    CHECK(en.find("insufficient reduction of complaints; this judgement differs from the measurement: the NPRS or the "
                  "QBPDS improved by 30% or more") != std::string::npos);
  }
  SECTION("sufficient, while neither measure improved by 30 %") {
    Run r = ended_after({{"type", "reevaluation"}, {"at", "2026-01-26"}, {"nprs", 5}, {"qbpds", 38},
                         {"judgement", "sufficient"}});
    const std::string nl = letter_of(r, TaskKind::gp_report_close, Lang::nl, LetterFormat::text);
    CHECK(nl.find("voldoende vermindering van de klachten; dit oordeel wijkt af van de meting: de NPRS en de QBPDS "
                  "lieten minder dan 30% verbetering zien") != std::string::npos);
  }
  SECTION("a judgement that agrees with the measurement says nothing more") {
    Run r = ended_after({{"type", "reevaluation"}, {"at", "2026-01-26"}, {"nprs", 3}, {"judgement", "sufficient"}});
    CHECK(letter_of(r, TaskKind::gp_report_close, Lang::nl, LetterFormat::text).find("wijkt af") == std::string::npos);
  }
}

TEST_CASE("an exclusion for a visceral cause has a referral letter", "[letters][spec-12][spec-5]") {
  Run r = through({open_ev(), screening_ev("2026-01-05", {{"exclusions", {"visceral"}}})});
  REQUIRE(r.ep.state == State::excluded);
  for (Lang lang : kAllLangs)
    for (LetterFormat f : kAllFormats) {
      const auto s = strings_of(lang);
      const std::string out = letter_of(r, TaskKind::gp_referral, lang, f);
      CHECK(out.find(text(s, "title_gp_referral")) != std::string::npos);
      CHECK(out.find(word(s, "exclusions", "visceral")) != std::string::npos);
      CHECK(out.find(text(s, "next_step_visceral")) != std::string::npos);
    }
}

TEST_CASE("the end report of a GP-referred patient who ends before treatment needs no profile",
          "[letters][spec-12][spec-10]") {
  Run r = through({open_ev({{"referred_by", "gp"}}), {{"type", "stop"}, {"at", "2026-01-08"}, {"reason", "patient_request"}}});
  REQUIRE(r.ep.state == State::closed);
  for (Lang lang : kAllLangs)
    for (LetterFormat f : kAllFormats) {
      const auto s = strings_of(lang);
      const std::string out = letter_of(r, TaskKind::gp_report_close, lang, f);
      CHECK(out.find(lang == Lang::nl ? "beëindigd voordat de behandeling begon" : "before treatment began") !=
            std::string::npos);
      CHECK(out.find(text(s, "no_profile")) != std::string::npos);
      CHECK(out.find(word(s, "stop_reasons", "patient_request")) != std::string::npos);
      CHECK(out.find(word(s, "referred_by", "gp")) != std::string::npos);
      CHECK(out.find("Dr. H. Bakker, " + text(s, "role_gp")) != std::string::npos);
    }
}

TEST_CASE("the end report of a patient referred by a specialist goes to the specialist, with a copy to the GP",
          "[letters][spec-12][spec-10]") {
  Run r = through({open_ev({{"referred_by", "specialist"}}), screening_ev("2026-01-05", {{"exclusions", {"coccygodynia"}}})});
  REQUIRE(r.ep.state == State::excluded);
  const std::string nl = letter_of(r, TaskKind::gp_report_close, Lang::nl, LetterFormat::text);
  CHECK(nl.find("Aan: verwijzend medisch specialist\nKopie: Dr. H. Bakker, huisarts") != std::string::npos);
  CHECK(nl.find(word(strings_of(Lang::nl), "exclusions", "coccygodynia")) != std::string::npos);
}

TEST_CASE("a measure recorded once is not called unchanged", "[letters][spec-12][spec-6]") {
  Run r = through({open_ev(), screening_ev("2026-01-05"), measurement_ev("2026-01-05", {{"nprs", 6}, {"psk", J::array({5})}}),
                   stratification_ev("2026-01-05", J::object()),
                   measurement_ev("2026-01-12", {{"nprs", 6}})});
  const std::string nl = letter_of(r, TaskKind::gp_report_start, Lang::nl, LetterFormat::text);
  CHECK(nl.find("NPRS, pijnintensiteit (0-10): 6 -> 6, gelijk gebleven") != std::string::npos);  // measured twice
  CHECK(nl.find("PSK, patiëntspecifieke klacht 1 (0-10): 5 -> niet gemeten, nog geen vervolgmeting") != std::string::npos);
  const std::string en = letter_of(r, TaskKind::gp_report_start, Lang::en, LetterFormat::text);
  CHECK(en.find("PSK, patient-specific complaint 1 (0-10): 5 -> not measured, no follow-up measurement yet") !=
        std::string::npos);
  // without the log the letter cannot tell, and does not claim "unchanged"
  const Task& start = r.ep.tasks.front();
  auto bare = render_letter(r.ep, TaskRow{1, r.ep.id, start}, Lang::nl, LetterFormat::text, kToday);
  REQUIRE(bare.ok());
  CHECK(bare->find("gelijk gebleven") == std::string::npos);
  CHECK(bare->find("5 -> 5, gelijk aan de beginwaarde; mogelijk is er nog geen vervolgmeting") != std::string::npos);
}

namespace {
// The stored log of a Run, as Store::events gives it.
std::vector<StoredEvent> stored(const Run& r) {
  std::vector<StoredEvent> out;
  int64_t seq = 0;
  for (const Event& e : r.log) out.push_back(StoredEvent{++seq, std::string(kTriggers.name(e.type)), e.at, e, 0});
  out.front().event->revision = r.ep.revision;  // the store logs the revision the episode follows
  return out;
}

// Profile 1 from 2026-01-05, a start report that day; week 3 insufficient with
// new insights (treatment goes on), then stopped on 2026-02-16.
Run long_episode() {
  return through({open_ev(), screening_ev("2026-01-05"), measurement_ev("2026-01-05", {{"nprs", 6}, {"qbpds", 40}}),
                  {{"type", "stratification"}, {"at", "2026-01-05"}, {"sbst", {0, 0, 0, 0, 0, 0, 0, 0, 0}}, {"factors", J::object()}},
                  {{"type", "session"}, {"at", "2026-01-12"}},
                  {{"type", "reevaluation"}, {"at", "2026-01-26"}, {"nprs", 5}, {"qbpds", 38}, {"judgement", "insufficient"},
                   {"new_insights", true}},
                  {{"type", "stop"}, {"at", "2026-02-16"}, {"reason", "goals_met"}}});
}
}  // namespace

TEST_CASE("a letter replays the episode's log to its task's date (spec 12)", "[letters][spec-12][clock]") {
  const Run r = long_episode();
  auto then = episode_as_of(r.ep.id, "P-55", stored(r), day("2026-01-05"));
  REQUIRE(then.ok());
  CHECK(then->state == State::treatment);
  CHECK(then->sessions == 0);
  CHECK(then->reevaluations.empty());
  auto later = episode_as_of(r.ep.id, "P-55", stored(r), day("2026-01-26"));
  REQUIRE(later.ok());
  CHECK(later->reevaluations.size() == 1);
  CHECK(later->sessions == 1);
  CHECK(!episode_as_of(r.ep.id, "P-55", stored(r), day("2026-01-04")).ok());  // not yet opened

  // The start report printed after the stop equals the one from the episode as it stood.
  auto templates = LetterTemplates::load(letters_dir(), Lang::nl, LetterFormat::text);
  REQUIRE(templates.ok());
  const Task& start = r.ep.tasks.front();
  REQUIRE(start.kind == TaskKind::gp_report_start);
  const TaskRow row{1, r.ep.id, start};
  auto printed_later = write_letter(*templates, "P-55", stored(r), row);
  REQUIRE(printed_later.ok());
  std::vector<Event> upto(r.log.begin(), r.log.begin() + 4);
  auto on_the_day = render_letter(*templates, *then, row, day("2026-01-05"), &upto);
  REQUIRE(on_the_day.ok());
  CHECK(*printed_later == *on_the_day);
  CHECK(printed_later->find("Status: in behandeling") != std::string::npos);
  CHECK(printed_later->find("afgesloten") == std::string::npos);
}

TEST_CASE("the course reads in plain words and counts weeks of treatment (spec 12)", "[letters][spec-12]") {
  const Run r = long_episode();
  auto templates = LetterTemplates::load(letters_dir(), Lang::nl, LetterFormat::text);
  REQUIRE(templates.ok());
  const Task& close = r.ep.tasks.back();
  REQUIRE(close.kind == TaskKind::gp_report_close);
  auto out = write_letter(*templates, "P-55", stored(r), TaskRow{9, r.ep.id, close});
  INFO((out.ok() ? std::string() : out.message()));
  REQUIRE(out.ok());
  const auto s = strings_of(Lang::nl);
  CHECK(out->find(" -> in behandeling") == std::string::npos);  // no "state -> state"
  CHECK(out->find("5 januari 2026 (eerste week van de behandeling): ingedeeld in behandelprofiel 1") != std::string::npos);
  CHECK(out->find("26 januari 2026 (na 3 weken behandeling): herevaluatie: onvoldoende vermindering van de klachten; "
                  "de behandeling gaat door") != std::string::npos);
  CHECK(out->find("(na 6 weken behandeling): de behandeling is afgesloten: de behandeldoelen zijn bereikt") !=
        std::string::npos);
  // singular and plural
  CHECK(out->find("na 1 weken") == std::string::npos);
  // no end measurement: said plainly, not "unchanged"
  CHECK(out->find("Bij de afsluiting is geen eindmeting gedaan; de laatste meting is van 26 januari 2026.") !=
        std::string::npos);
}

TEST_CASE("the letter names the patient from the patients file, or says identification is to be added",
          "[letters][identity]") {
  const Run r = long_episode();
  const auto dir = std::filesystem::temp_directory_path() / ("zorgpad-identity-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "p.csv") << "reference,name,birth_date,bsn\nP-55,Anna Jansen,1970-03-04,111222333\n";
  auto patients = load_patients((dir / "p.csv").string());
  std::filesystem::remove_all(dir);
  REQUIRE(patients.ok());
  for (LetterFormat f : {LetterFormat::text, LetterFormat::html}) {
    auto templates = LetterTemplates::load(letters_dir(), Lang::nl, f);
    REQUIRE(templates.ok());
    const TaskRow row{1, r.ep.id, r.ep.tasks.front()};
    auto with = write_letter(*templates, "P-55", stored(r), row, LetterSources{nullptr, &*patients});
    REQUIRE(with.ok());
    CHECK(with->find("Anna Jansen") != std::string::npos);
    CHECK(with->find("4 maart 1970") != std::string::npos);
    CHECK(with->find("111222333") != std::string::npos);
    CHECK(with->find("Identificatie door de praktijk aan te vullen") == std::string::npos);
    auto without = write_letter(*templates, "P-55", stored(r), row);
    REQUIRE(without.ok());
    CHECK(without->find("Identificatie door de praktijk aan te vullen") != std::string::npos);
    CHECK(without->find("Anna") == std::string::npos);
    // a patients file that lacks the episode's patient: bad input naming the episode, not the patient
    auto other = write_letter(*templates, "P-56", stored(r), row, LetterSources{nullptr, &*patients});
    REQUIRE_FALSE(other.ok());
    CHECK(other.error().kind == ErrorKind::bad_input);
    CHECK(other.message() == "p.csv: no entry for the patient of ep-r2 (task 1)");
  }
}

TEST_CASE("a PDF letter is A4 pages with the page count, and broken markup is named, not drawn", "[letters][pdf]") {
  PdfLetter l;
  l.header = "<b>Anna Jansen</b> · 5 januari 2026";
  l.page_label = "pagina {page} van {pages}";
  l.title = "Startrapportage";
  l.created = day("2026-01-05");
  for (int i = 0; i < 120; ++i) l.body += "Alinea " + std::to_string(i) + " met wat tekst.\n\n";
  auto pdf = render_pdf(l);
  REQUIRE(pdf.ok());
  CHECK(pdf->rfind("%PDF-", 0) == 0);
  CHECK(pdf->find("/MediaBox [ 0 0 595.") != std::string::npos);  // A4: 595.28 x 841.89 points
  // 120 paragraphs take more than two pages; ten fit on one
  const auto pages = [](const std::string& p) {
    const size_t at = p.find("/Count ");
    return at == std::string::npos ? 0 : std::atoi(p.c_str() + at + 7);
  };
  CHECK(pages(*pdf) >= 3);
  CHECK(*render_pdf(l) == *pdf);                                   // the same letter, the same bytes
  PdfLetter short_letter = l;
  short_letter.body = "Een.\n\nTwee.\n\nDrie.";
  CHECK(pages(*render_pdf(short_letter)) == 1);
  l.body += "<b>niet gesloten";
  auto broken = render_pdf(l);
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.message().find("paragraph 121") != std::string::npos);
}
