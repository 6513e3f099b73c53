#include "adapters/replay/scenario.hpp"

#include <set>

#include "pathway/clock.hpp"
#include "pathway/event.hpp"
#include "pathway/json_depth.hpp"
#include "states/episode_json.hpp"
#include "states/engine.hpp"

namespace zorgpad {

using nlohmann::json;

namespace {

std::string label(const json& v) {
  if (!json_nesting_within(v, 16)) return v.is_array() ? "[...]" : "{...}";  // printing it would recurse too deep
  std::string s = v.is_string() ? v.get<std::string>() : v.dump(-1, ' ', true, json::error_handler_t::replace);
  return s.size() > 60 ? s.substr(0, 60) + "..." : s;
}

}  // namespace

Expected<json> replay_scenario(const std::string& text) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded()) return Error{"the scenario is not valid JSON"};
  if (!doc.is_object()) return Error{"the scenario must be a JSON object"};
  for (auto it = doc.begin(); it != doc.end(); ++it)
    if (it.key() != "until" && it.key() != "episodes") return Error{"unknown scenario field '" + label(it.key()) + "'"};
  std::optional<Date> until;
  if (doc.contains("until")) {
    if (!doc["until"].is_string() || !(until = Date::parse(doc["until"].get<std::string>())))
      return Error{"field 'until': " + label(doc["until"]) + " is not a date (YYYY-MM-DD)"};
  }
  if (!doc.contains("episodes") || !doc["episodes"].is_array()) return Error{"the scenario needs a list 'episodes'"};

  json out = {{"episodes", json::array()}};
  std::set<std::string> ids;
  std::set<std::string> event_ids;  // an event id recorded before changes nothing, as in the store
  size_t index = 0;
  for (const json& ej : doc["episodes"]) {
    std::string where = "episode " + std::to_string(index++);
    if (!ej.is_object()) return Error{where + ": must be an object"};
    if (!ej.contains("id") || !ej["id"].is_string() || ej["id"].get<std::string>().empty())
      return Error{where + ": needs a string 'id'"};
    std::string id = ej["id"].get<std::string>();
    if (id.size() > 100) return Error{where + ": 'id' is longer than 100 characters"};
    if (!ids.insert(id).second) return Error{id + ": duplicate episode id"};
    for (auto it = ej.begin(); it != ej.end(); ++it)
      if (it.key() != "id" && it.key() != "patient" && it.key() != "events")
        return Error{id + ": unknown episode field '" + label(it.key()) + "'"};
    std::string patient;
    if (ej.contains("patient")) {
      if (!ej["patient"].is_string()) return Error{id + ": 'patient' must be a string"};
      patient = ej["patient"].get<std::string>();
    }
    if (!ej.contains("events") || !ej["events"].is_array() || ej["events"].empty())
      return Error{id + ": needs a non-empty list 'events'"};

    ManualClock clock(Date{});
    Replayer replay(id, patient);
    const json& events = ej["events"];
    for (size_t i = 0; i < events.size(); ++i) {
      auto fail = [&](const std::string& what, const json& e) {
        std::string type = e.is_object() && e.contains("type") ? " (" + label(e["type"]) + ")" : "";
        return Error{id + " event " + std::to_string(i) + type + ": " + what};
      };
      auto ev = parse_event(events[i]);
      if (!ev) return fail(ev.message(), events[i]);
      if (!ev->id.empty() && !event_ids.insert(ev->id).second) {
        if (i == 0) return fail("event id '" + label(ev->id) + "' was recorded before; the episode is not opened", events[i]);
        continue;
      }
      clock.set(ev->at);
      if (Status s = i == 0 ? replay.open(*ev, kCurrentRevision) : replay.event(*ev); !s.ok()) return fail(s.message(), events[i]);
    }
    if (until) clock.set(std::max(clock.today(), *until));
    replay.advance_to(clock.today());
    out["episodes"].push_back(episode_view(replay.episode()));
  }
  return out;
}

}  // namespace zorgpad
