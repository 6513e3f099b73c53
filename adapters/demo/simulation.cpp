#include "adapters/demo/simulation.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <random>
#include <vector>

namespace zorgpad {
namespace {

using nlohmann::json;

// One simulated patient: when they come, what they bring, how they recover.
struct Patient {
  std::string id, patient;
  Date opened, onset;
  bool lrs = false;
  int age = 40;
  int nprs = 6, qbpds = 40;
  int recovery_days = 1000;  // days after the treatment start when the complaints have clearly reduced
  std::optional<Date> start;
  Date last_session, gp_since;
  bool done = false;
  int drops_out_on = -1;  // lost to follow-up after this many days in treatment: nothing more is recorded
  int weekday = 0;
  StopReason stop_reason = StopReason::goals_met;
  Date review_since;  // in a red-flag review since this day
};

class Sim {
 public:
  Sim(Store& store, ManualClock& clock, const DemoOptions& o) : store_(store), clock_(clock), o_(o), rng_(o.seed) {}

  Expected<DemoSummary> run() {
    Date first = o_.end + (-o_.days);
    make_patients(first);
    for (Date day = first; day <= o_.end; day = day + 1) {
      clock_.set(day);
      if (auto e = check(store_.tick(day))) return *e;
      if (day.days % 7 == 3)
        if (auto e = send_letters(day)) return *e;
      for (auto& p : patients_) {
        if (p.done) continue;
        std::optional<Error> e = p.opened == day ? intake(p, day) : p.opened < day ? follow(p, day) : std::nullopt;
        if (e) return *e;
      }
    }
    for (const auto& p : patients_) {
      if (!p.start) continue;
      summary_.treated++;
      bool followed3 = o_.end - *p.start >= 91, followed1 = o_.end - *p.start >= 30;
      summary_.followed_3_months += followed3;
      summary_.followed_1_month += followed1;
    }
    return summary_;
  }

 private:
  double uniform() { return std::uniform_real_distribution<double>(0, 1)(rng_); }
  int between(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(double p) { return uniform() < p; }

  template <typename T>
  std::optional<Error> check(const Expected<T>& r) {
    if (!r) return r.error();
    return std::nullopt;
  }

  void make_patients(Date first) {
    const char* therapists[] = {"fysio-A", "fysio-B", "fysio-C", "oefentherapeut-D"};
    const char* gps[] = {"huisarts-1", "huisarts-2", "huisarts-3", "huisarts-4", "huisarts-5"};
    for (int i = 0; i < o_.episodes; ++i) {
      Patient p;
      char buf[32];
      std::snprintf(buf, sizeof buf, "ep-%d", i + 1);
      p.id = buf;
      std::snprintf(buf, sizeof buf, "P%04d", i + 1);
      p.patient = buf;
      p.opened = first + between(0, o_.days - 7);
      // most come within weeks of onset, some with long-standing complaints
      p.onset = p.opened + -(chance(0.12) ? between(90, 400) : between(1, 40));
      p.lrs = chance(0.15);
      p.age = chance(0.01) ? between(14, 16) : between(18, 80);
      p.nprs = between(4, 9);
      p.qbpds = between(20, 70);
      // KNGF A.2.3: about a quarter recovered after one month, half after three.
      double u = uniform();
      p.recovery_days = u < 0.25 ? between(10, 28) : u < 0.52 ? between(29, 85) : between(100, 400);
      p.stop_reason = chance(0.75) ? StopReason::goals_met : chance(0.5) ? StopReason::request_met : StopReason::self_sufficient;
      p.weekday = between(0, 6);
      if (chance(0.06)) p.drops_out_on = between(5, 60);
      json open = {{"type", "open"}, {"at", p.opened.iso()}, {"onset", p.onset.iso()}, {"complaint", p.lrs ? "lrs" : "lbp"},
                   {"age", p.age}, {"gp", gps[i % 5]}, {"therapist", therapists[between(0, 3)]}};
      // In the Netherlands most come by direct access; some are sent by the GP or a specialist.
      double by = uniform();
      if (by < 0.35) open["referred_by"] = "gp";
      else if (by < 0.40) open["referred_by"] = "specialist";
      opens_.push_back(open);
      patients_.push_back(p);
      summary_.patients.push_back({p.patient, p.age, p.opened});
    }
  }

  // Once a week the practice sends the GP letters written by then (most of
  // them: a few stay pending) and marks urgent GP contacts as done.
  std::optional<Error> send_letters(Date day) {
    TaskFilter f;
    f.status = TaskStatus::open;
    f.due_before = day + -2;
    auto r = store_.tasks(f);
    if (!r) return r.error();
    for (const auto& t : r.value()) {
      // The consultation itself is closed by the GP's answer, the review by its decision.
      bool letter = (is_letter(t.task.kind) && t.task.kind != TaskKind::gp_consultation) ||
                    t.task.kind == TaskKind::gp_urgent_contact;
      if (!letter || chance(0.08)) continue;
      if (auto e = check(store_.complete_task(t.id))) return *e;
    }
    return std::nullopt;
  }

  std::optional<Error> record(Patient& p, const json& body) {
    auto event = parse_event(body);
    if (!event) return store_failure("demo: generated an invalid event: " + event.message());
    auto r = store_.record(p.id, *event, std::nullopt);
    if (!r) return r.error();
    summary_.events++;
    return std::nullopt;
  }

  Expected<Episode> episode_of(const Patient& p) { return store_.load(p.id); }
  Expected<State> state_of(const Patient& p) {
    auto r = store_.load(p.id);
    if (!r) return r.error();
    return r.value().state;
  }

  json sbst_answers(int risk) {
    // low: total <= 3; medium: total > 3, psychosocial < 4; high: psychosocial >= 4
    json a = json::array();
    int physical = risk == 0 ? between(0, 2) : between(2, 4);
    int psycho = risk == 0 ? between(0, 1) : risk == 1 ? between(2, 3) : between(4, 5);
    for (int i = 0; i < 4; ++i) a.push_back(i < physical ? 1 : 0);
    for (int i = 0; i < 4; ++i) a.push_back(i < std::min(psycho, 4) ? 1 : 0);
    a.push_back(psycho >= 5 ? 4 : between(0, 2));
    return a;
  }

  std::optional<Error> intake(Patient& p, Date day) {
    auto open = parse_event(opens_[size_t(&p - patients_.data())]);
    if (!open) return store_failure("demo: generated an invalid open event: " + open.message());
    auto r = store_.open(p.id, p.patient, *open);
    if (!r) return r.error();
    summary_.episodes++;
    summary_.events++;
    json screening = {{"type", "screening"}, {"at", day.iso()}, {"red_flags", json::array()}, {"exclusions", json::array()}};
    // What a practice finds at intake (KNGF B.1.3): now and then a neurological
    // emergency or "niet-pluis"; two features that together need the
    // therapist's review (most turn out to have another explanation); a
    // single feature, which is noted and does nothing; a fracture picture in
    // an older patient; an exclusion.
    double u = uniform();
    if (u < 0.012) screening["red_flags"] = {"cauda_equina"};
    else if (u < 0.027) screening["suspicion"] = true;
    else if (u < 0.075) {
      static const json pairs[] = {{"night_sweats", "fever_chills"}, {"family_history", "morning_stiffness_30min"},
                                   {"history_of_cancer", "night_sweats"}, {"fatigue", "weight_loss_unexplained"},
                                   {"severe_night_pain", "better_with_exercise_not_rest"}};
      screening["red_flags"] = pairs[between(0, 4)];
    } else if (u < 0.11) {
      screening["red_flags"] = {chance(0.5) ? "fatigue" : "back_pain_over_5_years"};
    } else if (u < 0.12 && p.age > 55) {
      screening["red_flags"] = {"minor_trauma_with_risk"};
    } else if (u < 0.14) {
      screening["exclusions"] = {chance(0.5) ? "pregnancy_related" : "coccygodynia"};
    }
    if (p.lrs) { screening["mrc"] = chance(0.05) ? 3 : chance(0.3) ? 4 : 5; screening["nprs"] = std::min(p.nprs, 9); }
    else if (chance(0.03)) { screening["mrc"] = 4; p.lrs = true; }  // weakness of a key muscle: LRS after all
    if (auto e = record(p, screening)) return e;
    auto st = state_of(p);
    if (!st) return st.error();
    if (st.value() == State::red_flag_review) { p.review_since = day; return std::nullopt; }
    if (st.value() != State::screened) { p.done = true; return std::nullopt; }
    return start_treatment(p, day);
  }

  // §4: the therapist decides on the review within a day or two; most
  // features turn out to have another explanation, which the GP is told.
  std::optional<Error> decide_review(Patient& p, Date day) {
    if (day - p.review_since < 1 || (day - p.review_since < 2 && chance(0.5))) return std::nullopt;
    static const char* notes[] = {
        "Nachtzweten past bij de overgang; geen koorts, geen gewichtsverlies.",
        "Ochtendstijfheid korter dan een uur en mechanisch pijnpatroon; geen aanwijzing voor axiale spondyloartritis.",
        "Vermoeidheid verklaard door slecht slapen door de pijn; gewicht stabiel volgens de huisarts.",
        "Oncologische voorgeschiedenis meer dan tien jaar geleden, sindsdien controles schoon; pijn mechanisch."};
    json r = {{"type", "red_flag_review"}, {"at", day.iso()}};
    if (chance(0.75)) { r["decision"] = "continue"; r["note"] = notes[between(0, 3)]; }
    else r["decision"] = "refer";
    if (auto e = record(p, r)) return e;
    auto st = state_of(p);
    if (!st) return st.error();
    if (st.value() != State::screened) { p.done = true; return std::nullopt; }
    return start_treatment(p, day);
  }

  std::optional<Error> start_treatment(Patient& p, Date day) {
    if (auto e = record(p, {{"type", "measurement"}, {"at", day.iso()}, {"nprs", p.nprs}, {"qbpds", p.qbpds}})) return e;
    auto st = state_of(p);  // LRS with NPRS 8 or more is referred by the measurement itself (§6)
    if (!st) return st.error();
    if (st.value() != State::screened) { p.done = true; return std::nullopt; }
    double risk_u = uniform();
    int risk = risk_u < 0.5 ? 0 : risk_u < 0.85 ? 1 : 2;
    // §7: the therapist evaluates the prognostic factors; STarT Back supports it.
    json strat = {{"type", "stratification"}, {"at", day.iso()}, {"sbst", sbst_answers(risk)}};
    json factors = json::object();
    if (p.lrs) factors["leg_pain"] = "present";
    if (risk == 2 && chance(0.6)) factors[chance(0.5) ? "fear_of_movement" : "psychosocial_stress"] = "dominant";
    if (risk >= 1 && chance(0.4)) factors["high_disability"] = "present";
    strat["factors"] = factors;
    if (risk >= 1 && chance(0.3)) strat["orebro"] = {between(3, 8), 5, 6, 4, 5, 4, 6, 5, 4, 3};
    if (auto e = record(p, strat)) return e;
    p.start = day;
    p.last_session = day;
    return std::nullopt;
  }

  // Complaints ease gradually: 60 % less by the day of recovery.
  int eased(int baseline, const Patient& p, Date day) const {
    int since = day - *p.start;
    double f = std::min(1.0, double(since) / p.recovery_days);
    return int(baseline - 0.6 * baseline * f + 0.5);
  }

  std::optional<Error> follow(Patient& p, Date day) {
    auto loaded = episode_of(p);
    if (!loaded) return loaded.error();
    const Episode& ep = loaded.value();
    State s = ep.state;
    if (is_terminal(s)) { p.done = true; return std::nullopt; }
    if (s == State::red_flag_review) return decide_review(p, day);
    if (!p.start) return std::nullopt;
    int since = day - *p.start;
    if (p.drops_out_on >= 0 && since >= p.drops_out_on) return std::nullopt;  // their reevaluations go overdue
    bool recovered = since >= p.recovery_days;
    if (s == State::reevaluation_due) {
      int nprs = eased(p.nprs, p, day);
      json r = {{"type", "reevaluation"}, {"at", day.iso()}, {"nprs", nprs}, {"qbpds", eased(p.qbpds, p, day)}};
      // §8: the patient and the therapist judge; mostly in line with the 30 % rule, not always.
      bool improved = 10 * (p.nprs - nprs) >= 3 * p.nprs;
      bool sufficient = recovered || (improved ? !chance(0.1) : chance(0.1));
      r["judgement"] = sufficient ? "sufficient" : "insufficient";
      if (!sufficient && ep.profile && *ep.profile < 3 && chance(0.35)) r["new_profile"] = *ep.profile + 1;
      else if (!sufficient && chance(0.6)) r["new_insights"] = true;
      return record(p, r);
    }
    if (s == State::gp_consultation) {
      if (p.gp_since.days == 0) p.gp_since = day;
      if (day - p.gp_since < 7) return std::nullopt;
      return record(p, {{"type", "gp_consult"}, {"at", day.iso()}, {"outcome", chance(0.65) ? "continue" : "refer"}});
    }
    p.gp_since = Date{};
    if (recovered) {
      if (since < 30) summary_.recovered_1_month++;
      if (since < 91) summary_.recovered_3_months++;
      if (since < 30 && o_.end - *p.start >= 30) summary_.recovered_1_of_followed++;
      if (since < 91 && o_.end - *p.start >= 91) summary_.recovered_3_of_followed++;
      // §10: the stop carries the end measurement.
      p.done = true;
      return record(p, {{"type", "stop"}, {"at", day.iso()}, {"reason", kStopReasons.name(p.stop_reason)},
                        {"nprs", eased(p.nprs, p, day)}, {"qbpds", eased(p.qbpds, p, day)}});
    }
    if (since > 30 && chance(0.002)) {
      p.done = true;
      return record(p, {{"type", "stop"}, {"at", day.iso()}, {"reason", chance(0.5) ? "not_motivated" : "patient_request"}});
    }
    // §11: now and then the GP asks how it goes.
    if (chance(0.004) && since > 7) {
      static const char* questions[] = {"Hoe gaat het met de patiënt? Wordt het werk hervat?",
                                        "Patiënt belde over toegenomen beenpijn; graag uw bevindingen.",
                                        "Is er een indicatie voor verwijzing naar de tweede lijn?"};
      return record(p, {{"type", "gp_request"}, {"at", day.iso()}, {"question", questions[between(0, 2)]}});
    }
    // LRS: now and then the leg pain flares (NPRS 8 or more refers, §6).
    if (p.lrs && chance(0.003)) return record(p, {{"type", "measurement"}, {"at", day.iso()}, {"nprs", 8}});
    if ((day.days % 7) == p.weekday && day - p.last_session >= 7) {
      p.last_session = day;
      return record(p, {{"type", "session"}, {"at", day.iso()}});
    }
    return std::nullopt;
  }

  Store& store_;
  ManualClock& clock_;
  DemoOptions o_;
  std::mt19937 rng_;
  std::vector<Patient> patients_;
  std::vector<json> opens_;
  DemoSummary summary_;
};

}  // namespace

Expected<DemoSummary> simulate_practice(Store& store, ManualClock& clock, const DemoOptions& options) {
  return Sim(store, clock, options).run();
}

Practice demo_practice() {
  Practice p;
  p.name = "Fysiotherapie en Oefentherapie De Linde";
  p.address = "Lindelaan 12, 3581 AB Utrecht";
  p.agb = "04101234";
  p.phone = "030 123 45 67";
  p.email = "praktijk@delinde.example";
  auto th = [&](const char* code, const char* name, Profession prof, const char* big, const char* agb) {
    p.therapists[code] = Therapist{code, name, prof, big, agb};
  };
  th("fysio-A", "A. de Vries", Profession::fysiotherapeut, "19012345601", "04001001");
  th("fysio-B", "B. Jansen", Profession::fysiotherapeut, "29023456701", "04001002");
  th("fysio-C", "C. Bakker", Profession::fysiotherapeut, "39034567801", "04001003");
  th("oefentherapeut-D", "D. Visser", Profession::oefentherapeut, "", "84001004");
  auto gp = [&](const char* code, const char* name, const char* practice, const char* address, const char* agb) {
    p.gps[code] = GeneralPractitioner{code, name, practice, address, agb};
  };
  gp("huisarts-1", "E. Smit", "Huisartsenpraktijk Oudwijk", "Oudwijk 3, 3581 HA Utrecht", "01011001");
  gp("huisarts-2", "F. Meijer", "Huisartsenpraktijk Oudwijk", "Oudwijk 3, 3581 HA Utrecht", "01011002");
  gp("huisarts-3", "G. de Boer", "Gezondheidscentrum Wittevrouwen", "Kleine Singel 20, 3572 CH Utrecht", "01011003");
  gp("huisarts-4", "H. Mulder", "Gezondheidscentrum Wittevrouwen", "Kleine Singel 20, 3572 CH Utrecht", "01011004");
  gp("huisarts-5", "I. de Groot", "Huisartspraktijk Lombok", "Kanaalstraat 90, 3531 CL Utrecht", "01011005");
  return p;
}

std::string demo_patients_csv(const DemoSummary& summary, uint32_t seed) {
  static const char* first[] = {"Anna", "Bram", "Carla", "Daan", "Eva", "Frank", "Gerda", "Hans", "Ilse", "Joost",
                                "Karin", "Lars", "Mila", "Noah", "Olga", "Pieter", "Rosa", "Sem", "Tessa", "Wim"};
  static const char* last[] = {"de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen",
                               "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos",
                               "Peters", "Hendriks", "van Leeuwen", "Dekker", "Brouwer"};
  std::mt19937 rng(seed ^ 0x5eedu);
  auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  std::string out = "reference,name,birth_date,bsn\n";
  for (const auto& p : summary.patients) {
    // A BSN: eight digits, the ninth from the 11-test (an eight-digit run giving 10 is drawn again).
    std::string bsn;
    for (;;) {
      bsn.clear();
      int sum = 0;
      for (int i = 0; i < 8; ++i) {
        int d = i == 0 ? 1 + pick(9) : pick(10);
        bsn += char('0' + d);
        sum += (9 - i) * d;
      }
      if (sum % 11 != 10) {
        bsn += char('0' + sum % 11);
        break;
      }
    }
    const Date birth = p.opened + -(p.age * 365 + p.age / 4 + 1 + pick(360));
    out += p.reference + "," + first[pick(20)] + " " + last[pick(20)] + "," + birth.iso() + "," + bsn + "\n";
  }
  return out;
}

}  // namespace zorgpad
