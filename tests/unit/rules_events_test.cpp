// §3 events against an episode: time order and the states each event is allowed
// in (the table of §3). Field validation is in event_parse_test.cpp.
#include "fixtures.hpp"

using namespace zorgpad;
using namespace zorgpad::test;

namespace {

constexpr State kNonTerminal[] = {State::intake, State::screened, State::red_flag_review, State::treatment,
                                  State::reevaluation_due, State::gp_consultation};

// Applies `make(today)` in an episode in each non-terminal state; checks it is
// accepted exactly in `allowed` and otherwise rejected naming the state.
template <typename Make>
void check_allowed_in(std::initializer_list<State> allowed, Make make) {
  for (State s : kNonTerminal) {
    Episode ep = in_state(s);
    json j = make(today(ep));
    bool expected = std::find(allowed.begin(), allowed.end(), s) != allowed.end();
    INFO("state " << kStates.name(s) << ": " << j.dump());
    if (expected) {
      Status st = apply(ep, ev(j));
      INFO(st.message());
      CHECK(st.ok());
    } else {
      CHECK(rejected(ep, j) == "not allowed in state '" + std::string(kStates.name(s)) + "'");
    }
  }
}

}  // namespace

// ---- time order -----------------------------------------------------------------

TEST_CASE("an event dated before the episode's last event is rejected and changes nothing", "[events][spec-3]") {
  Episode ep = opened();
  must_apply(ep, screening("2026-01-07"));
  CHECK(rejected(ep, {{"type", "measurement"}, {"at", "2026-01-06"}, {"nprs", 5}}) ==
        "date 2026-01-06 is before the episode's last event (2026-01-07)");
}

TEST_CASE("an event dated the same day as the last event is accepted", "[events][spec-3]") {
  Episode ep = opened();
  must_apply(ep, screening("2026-01-07"));
  CHECK(apply(ep, ev({{"type", "measurement"}, {"at", "2026-01-07"}, {"nprs", 5}})).ok());
}

TEST_CASE("an event dated before a timer that already fired is rejected", "[events][spec-3]") {
  Episode ep = in_treatment(1);
  advance(ep, d("2026-01-30"));  // week 3 fired on 2026-01-26
  CHECK(rejected(ep, session("2026-01-25")) == "date 2026-01-25 is before a timer that already fired on 2026-01-26");
}

TEST_CASE("an event dated on the day a timer fired is accepted", "[events][spec-3]") {
  Episode ep = in_treatment(1);
  advance(ep, d("2026-01-30"));
  CHECK(apply(ep, ev(session("2026-01-26"))).ok());
}

TEST_CASE("a rejected event leaves the timers it would have fired pending", "[events][spec-3]") {
  Episode ep = in_treatment(1);
  // a gp_consult on the week 3 date: the checkpoint would fire first, then the event is not allowed
  CHECK(rejected(ep, {{"type", "gp_consult"}, {"at", "2026-01-26"}, {"outcome", "continue"}}) ==
        "not allowed in state 'reevaluation_due'");
  CHECK(ep.state == State::treatment);
}

TEST_CASE("a second open event is rejected", "[events][spec-3]") {
  Episode ep = opened();
  CHECK(rejected(ep, open_event()) == "the episode is already open");
}

TEST_CASE("an episode cannot start with an event other than open", "[events][spec-3]") {
  auto ep = open_episode("ep-t", "P-t", ev(session("2026-01-05")));
  REQUIRE_FALSE(ep.ok());
  CHECK(ep.message() == "an episode must start with an 'open' event");
}

TEST_CASE("open creates the episode in intake", "[events][spec-3]") {
  Episode ep = opened();
  CHECK(ep.state == State::intake);
  CHECK(ep.onset == d("2026-01-01"));
  CHECK(ep.opened == d("2026-01-05"));
  CHECK(ep.age == 40);
  CHECK(ep.complaint == Complaint::lbp);
}

// ---- allowed in (the table of §3) ------------------------------------------------

TEST_CASE("an event not allowed in the state is rejected naming the state", "[events][spec-3]") {
  Episode ep = opened();
  CHECK(rejected(ep, session("2026-01-05")) == "not allowed in state 'intake'");
}

TEST_CASE("screening is allowed in every non-terminal state", "[events][spec-3]") {
  check_allowed_in({State::intake, State::screened, State::red_flag_review, State::treatment, State::reevaluation_due, State::gp_consultation},
                   [](const std::string& at) { return screening(at.c_str()); });
}

TEST_CASE("stratification is allowed only in screened", "[events][spec-3]") {
  check_allowed_in({State::screened}, [](const std::string& at) {
    return json{{"type", "stratification"}, {"at", at}, {"profile", 2}, {"factors", json::object()}};
  });
}

TEST_CASE("measurement is allowed in every non-terminal state", "[events][spec-3]") {
  check_allowed_in({State::intake, State::screened, State::red_flag_review, State::treatment, State::reevaluation_due, State::gp_consultation},
                   [](const std::string& at) { return json{{"type", "measurement"}, {"at", at}, {"qbpds", 20}}; });
}

TEST_CASE("session is allowed in treatment, reevaluation_due and gp_consultation only", "[events][spec-3]") {
  check_allowed_in({State::treatment, State::reevaluation_due, State::gp_consultation},
                   [](const std::string& at) { return session(at.c_str()); });
}

TEST_CASE("reevaluation is allowed in treatment and reevaluation_due only", "[events][spec-3]") {
  check_allowed_in({State::treatment, State::reevaluation_due}, [](const std::string& at) {
    return reevaluation(at.c_str(), {{"judgement", "sufficient"}});
  });
}

TEST_CASE("gp_consult is allowed only in gp_consultation", "[events][spec-3]") {
  check_allowed_in({State::gp_consultation}, [](const std::string& at) {
    return json{{"type", "gp_consult"}, {"at", at}, {"outcome", "continue"}};
  });
}

TEST_CASE("stop is allowed in every non-terminal state, intake included", "[events][spec-3][spec-10]") {
  check_allowed_in({State::intake, State::screened, State::red_flag_review, State::treatment, State::reevaluation_due,
                    State::gp_consultation},
                   [](const std::string& at) { return stop(at.c_str(), "request_met"); });
}

TEST_CASE("revision 1: stop is not allowed in intake", "[events][spec-3][spec-10][revision-1]") {
  Episode ep = opened(revision1());
  CHECK(rejected(ep, stop("2026-01-05", "request_met")) == "not allowed in state 'intake'");
}

TEST_CASE("red_flag_review is allowed only in red_flag_review", "[events][spec-3][spec-4]") {
  check_allowed_in({State::red_flag_review}, [](const std::string& at) {
    return json{{"type", "red_flag_review"}, {"at", at}, {"decision", "refer"}};
  });
}

TEST_CASE("gp_request is allowed in every non-terminal state but intake", "[events][spec-3][spec-11]") {
  check_allowed_in({State::screened, State::red_flag_review, State::treatment, State::reevaluation_due,
                    State::gp_consultation},
                   [](const std::string& at) { return json{{"type", "gp_request"}, {"at", at}}; });
}

TEST_CASE("an accepted event counts in the episode's event sequence", "[events][spec-3]") {
  Episode ep = opened();
  CHECK(ep.events == 1);
  must_apply(ep, screening());
  CHECK(ep.events == 2);
  rejected(ep, session("2026-01-05"));
  CHECK(ep.events == 2);
}
