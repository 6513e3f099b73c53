// The practice and the patients' identities, read from files the practice
// keeps, at the moment a letter (or a FHIR export) is written; never stored.
//
// The practice file (`--practice-file FILE`, else $ZORGPAD_PRACTICE_FILE;
// `--practice` names the practice served from a PostgreSQL database) is TOML
// (toml++, Debian's libtomlplusplus-dev): the practice's name, address, AGB
// code and contact; its therapists by the code the episodes use
// (`therapist` of the open event), each with name, profession
// (fysiotherapeut or oefentherapeut), BIG and AGB numbers; and the GP
// directory by the code of the open event's `gp`: name, practice, address,
// AGB. docs/letters.md has the format; `zorgpad demo` writes one.
//
// The patients file (`--patients FILE`) is CSV (a header line
// `reference,name,birth_date,bsn`) or JSON (an object keyed by patient
// reference, each {"name", "birth_date", "bsn"}), chosen by the file's first
// character. It holds what zorgpad never keeps: the patient's name, date of
// birth and BSN, keyed by the pseudonymous reference zorgpad stores.
//
// Errors name the file, the line or entry and the field, never a value from
// the patients file (a name, date of birth or BSN): messages reach terminals
// and logs.
// Thread-safety: loaded values are immutable.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "pathway/codes.hpp"
#include "pathway/date.hpp"
#include "pathway/expected.hpp"
#include "states/episode.hpp"

namespace zorgpad {

enum class Profession { fysiotherapeut, oefentherapeut };
inline constexpr CodeTable<Profession, 2> kProfessions{{"fysiotherapeut", "oefentherapeut"}};

struct Therapist {
  std::string code, name;
  Profession profession = Profession::fysiotherapeut;
  std::string big, agb;  // BIG register number (11 digits), AGB code (8 digits)
};

struct GeneralPractitioner {
  std::string code, name, practice, address, agb;
};

struct Practice {
  std::string file;  // where it was read from (for messages)
  std::string name, address, agb, phone, email;
  std::map<std::string, Therapist> therapists;
  std::map<std::string, GeneralPractitioner> gps;

  const Therapist* therapist(const std::string& code) const;
  const GeneralPractitioner* gp(const std::string& code) const;
  // Bad input unless the episode's therapist and (when recorded) GP are in
  // the file: "practice.toml: no therapist 'fysio-Z' (therapist of ep-3)".
  Status covers(const Episode& ep) const;
};

Expected<Practice> load_practice(const std::string& path);
// The practice file named by --practice-file (when not empty), else by
// $ZORGPAD_PRACTICE_FILE, else none (nullopt inside a value).
Expected<std::optional<Practice>> load_practice_option(const std::string& path_option);

// A TOML practice file for the given practice (what `zorgpad demo` writes).
std::string practice_toml(const Practice& p);

struct PatientIdentity {
  std::string name;
  Date birth_date;
  std::string bsn;  // 9 digits passing the 11-test, or empty when not given
};

class Patients {
 public:
  const PatientIdentity* find(const std::string& reference) const;
  size_t size() const { return by_reference_.size(); }
  const std::string& file() const { return file_; }

 private:
  friend Expected<Patients> load_patients(const std::string& path);
  std::string file_;
  std::map<std::string, PatientIdentity> by_reference_;
};

Expected<Patients> load_patients(const std::string& path);

// The Dutch BSN 11-test: nine digits d1..d9, 9*d1 + 8*d2 + ... + 2*d8 - d9
// divisible by 11 (and not all zero).
bool valid_bsn(std::string_view bsn);

}  // namespace zorgpad
