#include "states/episode_json.hpp"

namespace zorgpad {
namespace {

using nlohmann::json;

template <typename T>
json opt(const std::optional<T>& v) { return v ? json(*v) : json(nullptr); }
json opt_date(const std::optional<Date>& d) { return d ? json(d->iso()) : json(nullptr); }

json measures_json(const Measures& m) {
  return {{"nprs", opt(m.nprs)}, {"qbpds", opt(m.qbpds)}, {"psk", opt(m.psk)}};
}
json factors_json(const std::optional<Factors>& f) {
  if (!f) return nullptr;
  json j = json::object();
  for (const auto& [k, v] : *f) j[std::string(kFactors.name(k))] = kFactorLevels.name(v);
  return j;
}

Date date_of(const json& j) {
  auto d = Date::parse(j.get<std::string>());
  if (!d) throw std::runtime_error("bad date");
  return *d;
}
std::optional<Date> opt_date_of(const json& j) { return j.is_null() ? std::nullopt : std::optional(date_of(j)); }
template <typename T>
std::optional<T> opt_of(const json& j) { return j.is_null() ? std::nullopt : std::optional(j.get<T>()); }
template <typename E, size_t N>
E code_of(const json& j, const CodeTable<E, N>& t) {
  auto e = t.parse(j.get<std::string>());
  if (!e) throw std::runtime_error("bad code");
  return *e;
}
Measures measures_of(const json& j) {
  return {opt_of<int>(j.at("nprs")), opt_of<int>(j.at("qbpds")), opt_of<std::vector<int>>(j.at("psk"))};
}

}  // namespace

json task_view(const Task& t) {
  json j = {{"kind", kTaskKinds.name(t.kind)}};
  if (t.checkpoint) j["checkpoint"] = kCheckpoints.name(*t.checkpoint);
  j["due"] = t.due.iso();
  j["status"] = kTaskStatuses.name(t.status);
  return j;
}

json episode_view(const Episode& ep) {
  json j;
  j["id"] = ep.id;
  j["patient"] = ep.patient;
  j["state"] = kStates.name(ep.state);
  j["phase"] = kPhases.name(ep.phase);
  j["profile"] = opt(ep.profile);
  j["suggested_profile"] = opt(ep.suggested_profile);
  j["complaint"] = kComplaints.name(ep.complaint);
  j["recurrent"] = ep.recurrent;
  j["sessions"] = ep.sessions;
  j["reason"] = is_terminal(ep.state) ? opt(ep.reason) : json(nullptr);
  j["onset"] = ep.onset.iso();
  j["opened"] = ep.opened.iso();
  j["treatment_start"] = opt_date(ep.treatment_start);
  j["gp"] = ep.gp;
  j["therapist"] = ep.therapist;
  j["override_reason"] = opt(ep.override_reason);
  j["factors"] = factors_json(ep.factors);
  json scores;
  scores["sbst"] = ep.sbst ? json{{"total", ep.sbst->total}, {"psychosocial", ep.sbst->psychosocial},
                                  {"risk", kSbstRisks.name(ep.sbst->risk)}}
                           : json(nullptr);
  scores["orebro"] = ep.orebro ? json{{"total", ep.orebro->total}, {"raised", ep.orebro->raised}} : json(nullptr);
  scores["baseline"] = measures_json(ep.baseline);
  scores["latest"] = measures_json(ep.latest);
  j["scores"] = scores;
  j["tasks"] = json::array();
  for (const auto& t : ep.tasks) j["tasks"].push_back(task_view(t));
  j["profile_history"] = json::array();
  for (const auto& p : ep.profile_history)
    j["profile_history"].push_back({{"at", p.at.iso()}, {"profile", p.profile}, {"suggested", opt(p.suggested)},
                                    {"event", kTriggers.name(p.event)}});
  j["reevaluations"] = json::array();
  for (const auto& r : ep.reevaluations)
    j["reevaluations"].push_back({{"at", r.at.iso()}, {"judgement", kJudgements.name(r.judgement)},
                                  {"derived", r.derived},
                                  {"checkpoint", r.checkpoint ? json(kCheckpoints.name(*r.checkpoint)) : json(nullptr)}});
  j["transitions"] = json::array();
  for (const auto& t : ep.transitions)
    j["transitions"].push_back({{"at", t.at.iso()}, {"event", kTriggers.name(t.event)}, {"from", t.from}, {"to", t.to}});
  return j;
}

json episode_state(const Episode& ep) {
  json j = episode_view(ep);
  j["age"] = ep.age;
  j["previous_episode_end"] = opt_date(ep.previous_episode_end);
  j["screenings"] = ep.screenings;
  j["session_limit_emitted"] = ep.session_limit_emitted;
  j["last_event"] = ep.last_event.iso();
  j["last_fired"] = ep.last_fired.iso();
  j["events"] = ep.events;
  j["stored_reason"] = opt(ep.reason);
  json tasks = json::array();
  for (const auto& t : ep.tasks) {
    json tj = task_view(t);
    tj["seq"] = t.seq;
    tj["created"] = t.created.iso();
    tj["closed"] = opt_date(t.closed);
    tasks.push_back(tj);
  }
  j["tasks"] = tasks;
  json timers = json::array();
  for (const auto& t : ep.timers)
    timers.push_back({{"due", t.due.iso()}, {"kind", kTriggers.name(t.kind)}, {"to_phase", kPhases.name(t.to_phase)},
                      {"task", t.task_seq}});
  j["timers"] = timers;
  return j;
}

Expected<Episode> episode_from_state(const json& j) {
  try {
    Episode ep;
    ep.id = j.at("id").get<std::string>();
    ep.patient = j.at("patient").get<std::string>();
    ep.state = code_of(j.at("state"), kStates);
    ep.phase = code_of(j.at("phase"), kPhases);
    ep.profile = opt_of<int>(j.at("profile"));
    ep.suggested_profile = opt_of<int>(j.at("suggested_profile"));
    ep.complaint = code_of(j.at("complaint"), kComplaints);
    ep.recurrent = j.at("recurrent").get<bool>();
    ep.sessions = j.at("sessions").get<int>();
    ep.reason = opt_of<std::string>(j.at("stored_reason"));
    ep.onset = date_of(j.at("onset"));
    ep.opened = date_of(j.at("opened"));
    ep.treatment_start = opt_date_of(j.at("treatment_start"));
    ep.gp = j.at("gp").get<std::string>();
    ep.therapist = j.at("therapist").get<std::string>();
    ep.override_reason = opt_of<std::string>(j.at("override_reason"));
    if (!j.at("factors").is_null()) {
      Factors f;
      for (auto it = j.at("factors").begin(); it != j.at("factors").end(); ++it) {
        auto k = kFactors.parse(it.key());
        if (!k) throw std::runtime_error("bad factor");
        f[*k] = code_of(it.value(), kFactorLevels);
      }
      ep.factors = f;
    }
    const json& sc = j.at("scores");
    if (!sc.at("sbst").is_null())
      ep.sbst = SbstScore{sc["sbst"].at("total").get<int>(), sc["sbst"].at("psychosocial").get<int>(),
                          code_of(sc["sbst"].at("risk"), kSbstRisks)};
    if (!sc.at("orebro").is_null())
      ep.orebro = OrebroScore{sc["orebro"].at("total").get<int>(), sc["orebro"].at("raised").get<bool>()};
    ep.baseline = measures_of(sc.at("baseline"));
    ep.latest = measures_of(sc.at("latest"));
    for (const auto& tj : j.at("tasks")) {
      Task t;
      t.seq = tj.at("seq").get<int>();
      t.kind = code_of(tj.at("kind"), kTaskKinds);
      t.due = date_of(tj.at("due"));
      t.status = code_of(tj.at("status"), kTaskStatuses);
      if (tj.contains("checkpoint")) t.checkpoint = code_of(tj.at("checkpoint"), kCheckpoints);
      t.created = date_of(tj.at("created"));
      t.closed = opt_date_of(tj.at("closed"));
      ep.tasks.push_back(t);
    }
    for (const auto& pj : j.at("profile_history"))
      ep.profile_history.push_back({date_of(pj.at("at")), pj.at("profile").get<int>(), opt_of<int>(pj.at("suggested")),
                                    code_of(pj.at("event"), kTriggers)});
    for (const auto& rj : j.at("reevaluations"))
      ep.reevaluations.push_back({date_of(rj.at("at")), code_of(rj.at("judgement"), kJudgements),
                                  rj.at("derived").get<bool>(),
                                  rj.at("checkpoint").is_null() ? std::nullopt
                                                                : std::optional(code_of(rj.at("checkpoint"), kCheckpoints))});
    for (const auto& tj : j.at("transitions"))
      ep.transitions.push_back({date_of(tj.at("at")), code_of(tj.at("event"), kTriggers),
                                tj.at("from").get<std::string>(), tj.at("to").get<std::string>()});
    ep.age = j.at("age").get<int>();
    ep.previous_episode_end = opt_date_of(j.at("previous_episode_end"));
    ep.screenings = j.at("screenings").get<int>();
    ep.session_limit_emitted = j.at("session_limit_emitted").get<bool>();
    ep.last_event = date_of(j.at("last_event"));
    ep.last_fired = date_of(j.at("last_fired"));
    ep.events = j.at("events").get<int64_t>();
    for (const auto& tj : j.at("timers")) {
      Timer t;
      t.due = date_of(tj.at("due"));
      t.kind = code_of(tj.at("kind"), kTriggers);
      t.to_phase = code_of(tj.at("to_phase"), kPhases);
      t.task_seq = tj.at("task").get<int>();
      ep.timers.push_back(t);
    }
    return ep;
  } catch (const std::exception& e) {
    return Error{std::string("stored episode is unreadable: ") + e.what()};
  }
}

}  // namespace zorgpad
