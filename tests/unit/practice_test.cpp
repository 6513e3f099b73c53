// The practice file and the patients file (adapters/practice): read at print
// time, checked entry by entry, never echoing a patient's data.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "adapters/letters/letters.hpp"
#include "adapters/practice/practice.hpp"

using namespace zorgpad;

namespace {

struct Scratch {
  std::filesystem::path dir;
  Scratch() {
    dir = std::filesystem::temp_directory_path() / ("zorgpad-practice-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
  }
  ~Scratch() { std::filesystem::remove_all(dir); }
  std::string write(const std::string& name, const std::string& content) const {
    const auto p = dir / name;
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }
};

const char* kPractice = R"(
[practice]
name = "Praktijk De Linde"
address = "Lindelaan 12, 3581 AB Utrecht"
agb = "04101234"

[therapists.fysio-A]
name = "A. de Vries"
profession = "fysiotherapeut"
big = "19012345601"
agb = "04001001"

[therapists.oefen-B]
name = "B. Visser"
profession = "oefentherapeut"

[gps.huisarts-1]
name = "E. Smit"
practice = "Huisartsenpraktijk Oudwijk"
address = "Oudwijk 3, 3581 HA Utrecht"
agb = "01011001"
)";

std::string replaced(std::string s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("the practice file gives the letterhead, the therapists with their profession and the GP directory",
          "[practice]") {
  Scratch s;
  auto p = load_practice(s.write("practice.toml", kPractice));
  REQUIRE(p.ok());
  CHECK(p->name == "Praktijk De Linde");
  CHECK(p->agb == "04101234");
  REQUIRE(p->therapist("fysio-A"));
  CHECK(p->therapist("fysio-A")->profession == Profession::fysiotherapeut);
  CHECK(p->therapist("fysio-A")->big == "19012345601");
  REQUIRE(p->therapist("oefen-B"));
  CHECK(p->therapist("oefen-B")->profession == Profession::oefentherapeut);
  REQUIRE(p->gp("huisarts-1"));
  CHECK(p->gp("huisarts-1")->address == "Oudwijk 3, 3581 HA Utrecht");
  CHECK(p->gp("huisarts-2") == nullptr);

  // what `zorgpad demo` writes reads back the same
  auto again = load_practice(s.write("again.toml", practice_toml(*p)));
  REQUIRE(again.ok());
  CHECK(again->therapists.size() == 2);
  CHECK(again->gp("huisarts-1")->agb == "01011001");
  CHECK(again->therapist("oefen-B")->profession == Profession::oefentherapeut);
}

TEST_CASE("a practice file that is missing, malformed or wrong names the file and the entry", "[practice][errors]") {
  Scratch s;
  auto bad = [&](const std::string& content) {
    auto r = load_practice(s.write("p.toml", content));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::bad_input);
    CHECK(r.message().rfind("p.toml", 0) == 0);
    CHECK(r.message().find('\n') == std::string::npos);
    return r.message();
  };
  CHECK(bad(replaced(kPractice, "[practice]", "[practice")).find("line") != std::string::npos);
  CHECK(bad(replaced(kPractice, "profession = \"oefentherapeut\"", "profession = \"arts\"")).find("[therapists.oefen-B]") !=
        std::string::npos);
  CHECK(bad(replaced(kPractice, "big = \"19012345601\"", "big = \"123\"")).find("'big'") != std::string::npos);
  CHECK(bad(replaced(kPractice, "agb = \"04101234\"", "agb = \"4101234\"")).find("[practice]") != std::string::npos);
  CHECK(bad(replaced(kPractice, "address = \"Oudwijk 3, 3581 HA Utrecht\"", "")).find("[gps.huisarts-1]: 'address' is missing") !=
        std::string::npos);
  CHECK(bad(replaced(kPractice, "name = \"E. Smit\"", "name = \"E. Smit\"\nfax = \"1\"")).find("unknown key 'fax'") !=
        std::string::npos);
  auto missing = load_practice((s.dir / "absent.toml").string());
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.message().find("absent.toml") != std::string::npos);
}

TEST_CASE("a practice file must list the episode's therapist and GP", "[practice][errors]") {
  Scratch s;
  auto p = load_practice(s.write("practice.toml", kPractice));
  REQUIRE(p.ok());
  Episode ep;
  ep.id = "ep-3";
  ep.therapist = "fysio-A";
  ep.gp = "huisarts-1";
  CHECK(p->covers(ep).ok());
  ep.gp.clear();  // no GP recorded: nothing to look up
  CHECK(p->covers(ep).ok());
  ep.gp = "huisarts-9";
  CHECK(p->covers(ep).message() == "practice.toml: no GP 'huisarts-9' (the GP of ep-3)");
  ep.gp = "huisarts-1";
  ep.therapist = "fysio-Z";
  CHECK(p->covers(ep).message() == "practice.toml: no therapist 'fysio-Z' (the therapist of ep-3)");
}

TEST_CASE("the BSN passes the 11-test", "[practice][patients]") {
  CHECK(valid_bsn("111222333"));
  CHECK(valid_bsn("123456782"));
  CHECK_FALSE(valid_bsn("123456789"));
  CHECK_FALSE(valid_bsn("000000000"));
  CHECK_FALSE(valid_bsn("12345678"));
  CHECK_FALSE(valid_bsn("12345678a"));
}

TEST_CASE("the patients file is CSV or JSON keyed by patient reference", "[practice][patients]") {
  Scratch s;
  auto csv = load_patients(s.write("p.csv",
                                   "\xEF\xBB\xBFreference,name,birth_date,bsn\r\n"
                                   "P001,\"Jansen, Anna\",1970-03-04,111222333\r\n"
                                   "P002,Bram de Vries,1985-12-01,\r\n"));
  REQUIRE(csv.ok());
  CHECK(csv->size() == 2);
  REQUIRE(csv->find("P001"));
  CHECK(csv->find("P001")->name == "Jansen, Anna");
  CHECK(csv->find("P001")->birth_date.iso() == "1970-03-04");
  CHECK(csv->find("P002")->bsn.empty());
  CHECK(csv->find("P003") == nullptr);

  auto json = load_patients(s.write("p.json", R"({"P001": {"name": "Anna", "birth_date": "1970-03-04", "bsn": "111222333"}})"));
  REQUIRE(json.ok());
  CHECK(json->find("P001")->bsn == "111222333");
}

TEST_CASE("a bad patients file names the file and the line, never the patient's data", "[practice][patients][errors]") {
  Scratch s;
  auto bad = [&](const std::string& name, const std::string& content) {
    auto r = load_patients(s.write(name, content));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::bad_input);
    CHECK(r.message().rfind(name, 0) == 0);
    for (const char* secret : {"Anna", "1970", "123456789", "04-03"}) CHECK(r.message().find(secret) == std::string::npos);
    return r.message();
  };
  CHECK(bad("a.csv", "reference,name,birth_date,bsn\nP001,Anna,1970-03-04,123456789\n").find("line 2 (P001): 'bsn'") !=
        std::string::npos);
  CHECK(bad("b.csv", "reference,name,birth_date\nP001,Anna,04-03-1970\n").find("'birth_date'") != std::string::npos);
  CHECK(bad("c.csv", "reference,name\nP001,Anna\n").find("line 1") != std::string::npos);
  CHECK(bad("d.csv", "reference,name,birth_date\nP001,Anna,1970-03-04\nP001,Anna,1970-03-04\n").find("twice") !=
        std::string::npos);
  CHECK(bad("e.csv", "reference,name,birth_date\nP001,Anna\n").find("line 2") != std::string::npos);
  CHECK(bad("f.json", R"({"P001": {"name": "Anna", "birth_date": "04-03-1970"}})").find("entry 1") != std::string::npos);
  CHECK(bad("g.json", R"({"P001": {"name": "Anna", "birth_date": "1970-03-04", "email": "x"}})").find("'email'") !=
        std::string::npos);
}
