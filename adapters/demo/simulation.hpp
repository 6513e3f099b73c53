// `zorgpad demo`: a simulated physiotherapy practice, run through the real
// store and engine day by day (events via Store::open/record, timers via
// Store::tick). Deterministic for a seed; time comes from the caller.
#pragma once
#include "adapters/practice/practice.hpp"
#include <cstdint>
#include <map>
#include <string>

#include "pathway/clock.hpp"
#include "persistence/store.hpp"

namespace zorgpad {

struct DemoOptions {
  int episodes = 300;
  uint32_t seed = 20261122;
  Date end;        // the last simulated day (the clock's today)
  int days = 182;  // six months
};

struct DemoSummary {
  int episodes = 0;
  int64_t events = 0;
  int treated = 0;               // episodes stratified into a profile
  int recovered_1_month = 0;     // of those: stopped recovered within 30 days of the treatment start
  int recovered_3_months = 0;    // ... within 91 days
  int followed_3_months = 0;     // treated episodes whose start lies at least 91 days before the end
  int recovered_3_of_followed = 0;
  int followed_1_month = 0, recovered_1_of_followed = 0;
  // Each simulated patient: reference, age and the day the episode opened
  // (for demo_patients_csv; never stored).
  struct Simulated {
    std::string reference;
    int age = 0;
    Date opened;
  };
  std::vector<Simulated> patients;
};

// `clock` is the store's clock: the simulation moves it day by day, so that
// what the store dates by its clock (task completion) follows the simulation.
Expected<DemoSummary> simulate_practice(Store& store, ManualClock& clock, const DemoOptions& options);

// The demo practice: its letterhead, the simulation's therapists (fysio-A to
// fysio-C, oefentherapeut-D) and GPs (huisarts-1 to huisarts-5). Invented
// names and numbers.
Practice demo_practice();

// A patients file (CSV) for the simulated patients: invented names, a birth
// date that matches the age at opening, and a BSN that passes the 11-test.
// Written beside the demo database, never into it.
std::string demo_patients_csv(const DemoSummary& summary, uint32_t seed);

}  // namespace zorgpad
