#include "adapters/practice/practice.hpp"

#include <toml++/toml.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace zorgpad {
namespace {

struct FileProblem {
  std::string message;
};
[[noreturn]] void fail(std::string message) { throw FileProblem{std::move(message)}; }

std::string base_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool all_digits(std::string_view s, size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A printable, single-line text of at most `max` bytes.
bool printable_line(std::string_view s, size_t max) {
  if (s.size() > max) return false;
  return std::none_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// ---- the practice file (TOML) ------------------------------------------------------

std::string text_field(const toml::table& t, const char* key, const std::string& where, bool required,
                       size_t max = 200) {
  const toml::node* n = t.get(key);
  if (!n) {
    if (required) fail(where + ": '" + key + "' is missing");
    return {};
  }
  auto v = n->value<std::string>();
  if (!v) fail(where + ": '" + key + "' is not a text");
  if (!printable_line(*v, max))
    fail(where + ": '" + key + "' is longer than " + std::to_string(max) + " characters or spans lines");
  if (required && v->empty()) fail(where + ": '" + key + "' is empty");
  return *v;
}

void check_keys(const toml::table& t, std::initializer_list<std::string_view> allowed, const std::string& where) {
  for (auto&& [k, v] : t) {
    (void)v;
    if (std::find(allowed.begin(), allowed.end(), k.str()) == allowed.end())
      fail(where + ": unknown key '" + std::string(k.str().substr(0, 40)) + "'");
  }
}

void check_agb(const std::string& agb, const std::string& where) {
  if (!agb.empty() && !all_digits(agb, 8)) fail(where + ": 'agb' is not an AGB code of 8 digits");
}

const toml::table& section(const toml::table& root, const char* key, const std::string& file, bool required) {
  static const toml::table empty;
  const toml::node* n = root.get(key);
  if (!n) {
    if (required) fail(file + ": section [" + std::string(key) + "] is missing");
    return empty;
  }
  const toml::table* t = n->as_table();
  if (!t) fail(file + ": '" + key + "' is not a section");
  return *t;
}

Practice parse_practice(const toml::table& root, const std::string& file) {
  Practice p;
  p.file = file;
  check_keys(root, {"practice", "therapists", "gps"}, file);
  const toml::table& pr = section(root, "practice", file, true);
  const std::string where = file + " [practice]";
  check_keys(pr, {"name", "address", "agb", "phone", "email"}, where);
  p.name = text_field(pr, "name", where, true);
  p.address = text_field(pr, "address", where, true);
  p.agb = text_field(pr, "agb", where, true);
  check_agb(p.agb, where);
  p.phone = text_field(pr, "phone", where, false);
  p.email = text_field(pr, "email", where, false);

  for (auto&& [k, v] : section(root, "therapists", file, true)) {
    const std::string code(k.str());
    const std::string w = file + " [therapists." + code.substr(0, 40) + "]";
    const toml::table* t = v.as_table();
    if (!t) fail(w + ": not a section");
    check_keys(*t, {"name", "profession", "big", "agb"}, w);
    Therapist th;
    th.code = code;
    th.name = text_field(*t, "name", w, true);
    const std::string prof = text_field(*t, "profession", w, true);
    auto parsed = kProfessions.parse(prof);
    if (!parsed) fail(w + ": 'profession' is neither fysiotherapeut nor oefentherapeut");
    th.profession = *parsed;
    th.big = text_field(*t, "big", w, false);
    if (!th.big.empty() && !all_digits(th.big, 11)) fail(w + ": 'big' is not a BIG number of 11 digits");
    th.agb = text_field(*t, "agb", w, false);
    check_agb(th.agb, w);
    p.therapists.emplace(code, std::move(th));
  }
  if (p.therapists.empty()) fail(file + ": [therapists] lists no therapist");

  for (auto&& [k, v] : section(root, "gps", file, false)) {
    const std::string code(k.str());
    const std::string w = file + " [gps." + code.substr(0, 40) + "]";
    const toml::table* t = v.as_table();
    if (!t) fail(w + ": not a section");
    check_keys(*t, {"name", "practice", "address", "agb"}, w);
    GeneralPractitioner gp;
    gp.code = code;
    gp.name = text_field(*t, "name", w, true);
    gp.practice = text_field(*t, "practice", w, false);
    gp.address = text_field(*t, "address", w, true);
    gp.agb = text_field(*t, "agb", w, false);
    check_agb(gp.agb, w);
    p.gps.emplace(code, std::move(gp));
  }
  return p;
}

std::string read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(base_name(path) + ": cannot read '" + path + "'");
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) fail(base_name(path) + ": cannot read '" + path + "'");
  return buf.str();
}

// TOML keeps a string's escapes; write one as a basic string.
std::string toml_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string toml_key(const std::string& k) {
  bool bare = !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
  return bare ? k : toml_string(k);
}

// ---- the patients file (CSV or JSON) -------------------------------------------------

// RFC 4180 fields of one record; `line` is advanced past the record (a quoted
// field may span lines).
std::vector<std::string> csv_record(const std::string& text, size_t& pos, size_t& line, const std::string& where) {
  std::vector<std::string> fields(1);
  bool quoted = false, was_quoted = false;
  while (pos < text.size()) {
    char c = text[pos++];
    if (quoted) {
      if (c == '"') {
        if (pos < text.size() && text[pos] == '"') {
          fields.back() += '"';
          ++pos;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        fields.back() += c;
      }
      continue;
    }
    if (c == '"' && fields.back().empty() && !was_quoted) {
      quoted = was_quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
      was_quoted = false;
    } else if (c == '\r') {
      // CRLF line ends
    } else if (c == '\n') {
      ++line;
      return fields;
    } else {
      if (was_quoted) fail(where + ": text after a closing quote");
      fields.back() += c;
    }
  }
  if (quoted) fail(where + ": a quoted field is not closed");
  return fields;
}

std::string trim(std::string s) {
  s.erase(0, s.find_first_not_of(" \t"));
  s.erase(s.find_last_not_of(" \t") + 1);
  return s;
}

PatientIdentity identity(const std::string& name, const std::string& birth, const std::string& bsn,
                         const std::string& where) {
  PatientIdentity id;
  if (name.empty()) fail(where + ": 'name' is empty");
  if (!printable_line(name, 200)) fail(where + ": 'name' is longer than 200 characters or spans lines");
  id.name = name;
  auto d = Date::parse(birth);
  if (!d) fail(where + ": 'birth_date' is not a date YYYY-MM-DD");
  id.birth_date = *d;
  if (!bsn.empty() && !valid_bsn(bsn)) fail(where + ": 'bsn' is not a valid BSN (9 digits, 11-test)");
  id.bsn = bsn;
  return id;
}

bool valid_reference(const std::string& r) { return !r.empty() && printable_line(r, 100); }

}  // namespace

const Therapist* Practice::therapist(const std::string& code) const {
  auto it = therapists.find(code);
  return it == therapists.end() ? nullptr : &it->second;
}

const GeneralPractitioner* Practice::gp(const std::string& code) const {
  auto it = gps.find(code);
  return it == gps.end() ? nullptr : &it->second;
}

Status Practice::covers(const Episode& ep) const {
  const std::string f = base_name(file);
  if (!therapist(ep.therapist))
    return bad_input(f + ": no therapist '" + ep.therapist.substr(0, 40) + "' (the therapist of " + ep.id + ")");
  if (!ep.gp.empty() && !gp(ep.gp))
    return bad_input(f + ": no GP '" + ep.gp.substr(0, 40) + "' (the GP of " + ep.id + ")");
  return {};
}

Expected<Practice> load_practice(const std::string& path) {
  const std::string file = base_name(path);
  try {
    const std::string text = read_whole(path);
    toml::table root;
    try {
      root = toml::parse(text, path);
    } catch (const toml::parse_error& e) {
      fail(file + " line " + std::to_string(e.source().begin.line) + ": " + std::string(e.description()));
    }
    Practice p = parse_practice(root, file);
    p.file = path;
    return p;
  } catch (const FileProblem& f) {
    return bad_input(f.message);
  }
}

Expected<std::optional<Practice>> load_practice_option(const std::string& path_option) {
  std::string path = path_option;
  if (path.empty())
    if (const char* env = std::getenv("ZORGPAD_PRACTICE_FILE"); env && *env) path = env;
  if (path.empty()) return std::optional<Practice>{};
  auto p = load_practice(path);
  if (!p) return p.error();
  return std::optional<Practice>{std::move(p).value()};
}

std::string practice_toml(const Practice& p) {
  std::ostringstream o;
  o << "# The practice, its therapists and the GPs it writes to: the letterhead,\n"
       "# addressee and signature of zorgpad's letters (docs/letters.md).\n\n"
       "[practice]\n"
    << "name = " << toml_string(p.name) << "\n"
    << "address = " << toml_string(p.address) << "\n"
    << "agb = " << toml_string(p.agb) << "\n";
  if (!p.phone.empty()) o << "phone = " << toml_string(p.phone) << "\n";
  if (!p.email.empty()) o << "email = " << toml_string(p.email) << "\n";
  for (const auto& [code, t] : p.therapists) {
    o << "\n[therapists." << toml_key(code) << "]\n"
      << "name = " << toml_string(t.name) << "\n"
      << "profession = " << toml_string(std::string(kProfessions.name(t.profession))) << "\n";
    if (!t.big.empty()) o << "big = " << toml_string(t.big) << "\n";
    if (!t.agb.empty()) o << "agb = " << toml_string(t.agb) << "\n";
  }
  for (const auto& [code, g] : p.gps) {
    o << "\n[gps." << toml_key(code) << "]\n"
      << "name = " << toml_string(g.name) << "\n";
    if (!g.practice.empty()) o << "practice = " << toml_string(g.practice) << "\n";
    o << "address = " << toml_string(g.address) << "\n";
    if (!g.agb.empty()) o << "agb = " << toml_string(g.agb) << "\n";
  }
  return o.str();
}

const PatientIdentity* Patients::find(const std::string& reference) const {
  auto it = by_reference_.find(reference);
  return it == by_reference_.end() ? nullptr : &it->second;
}

Expected<Patients> load_patients(const std::string& path) {
  const std::string file = base_name(path);
  try {
    const std::string text = read_whole(path);
    Patients out;
    out.file_ = path;
    const size_t first = text.find_first_not_of(" \t\r\n\xEF\xBB\xBF");
    if (first != std::string::npos && text[first] == '{') {
      nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
      if (j.is_discarded() || !j.is_object()) fail(file + ": not a JSON object keyed by patient reference");
      size_t n = 0;
      for (auto it = j.begin(); it != j.end(); ++it, ++n) {
        const std::string where = file + " entry " + std::to_string(n + 1);
        if (!valid_reference(it.key())) fail(where + ": the patient reference is empty, too long or spans lines");
        const nlohmann::json& e = it.value();
        if (!e.is_object()) fail(where + ": not an object");
        for (auto f = e.begin(); f != e.end(); ++f)
          if (f.key() != "name" && f.key() != "birth_date" && f.key() != "bsn")
            fail(where + ": unknown key '" + f.key().substr(0, 40) + "'");
        auto str = [&](const char* key, bool required) -> std::string {
          auto f = e.find(key);
          if (f == e.end()) {
            if (required) fail(where + ": '" + key + "' is missing");
            return {};
          }
          if (!f->is_string()) fail(where + ": '" + key + "' is not a text");
          return f->get<std::string>();
        };
        out.by_reference_.emplace(it.key(), identity(str("name", true), str("birth_date", true), str("bsn", false), where));
      }
      return out;
    }
    // CSV with a header naming the columns (any order).
    size_t pos = 0, line = 1;
    if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) pos = 3;  // a spreadsheet's byte-order mark
    std::vector<std::string> header = csv_record(text, pos, line, file + " line 1");
    int col_ref = -1, col_name = -1, col_birth = -1, col_bsn = -1;
    for (size_t i = 0; i < header.size(); ++i) {
      const std::string h = trim(header[i]);
      int* slot = h == "reference" ? &col_ref : h == "name" ? &col_name : h == "birth_date" ? &col_birth
                                              : h == "bsn"    ? &col_bsn
                                                              : nullptr;
      if (!slot) fail(file + " line 1: unknown column '" + h.substr(0, 40) + "' (reference, name, birth_date, bsn)");
      if (*slot >= 0) fail(file + " line 1: column '" + h + "' appears twice");
      *slot = int(i);
    }
    if (col_ref < 0 || col_name < 0 || col_birth < 0)
      fail(file + " line 1: the header needs the columns reference, name and birth_date (bsn is optional)");
    while (pos < text.size()) {
      const size_t at = line;
      std::vector<std::string> f = csv_record(text, pos, line, file + " line " + std::to_string(at));
      if (f.size() == 1 && trim(f[0]).empty()) continue;  // a blank line
      const std::string where = file + " line " + std::to_string(at);
      if (f.size() != header.size())
        fail(where + ": " + std::to_string(f.size()) + " fields where the header has " + std::to_string(header.size()));
      const std::string ref = trim(f[size_t(col_ref)]);
      if (!valid_reference(ref)) fail(where + ": the patient reference is empty, too long or spans lines");
      const std::string entry = where + " (" + ref + ")";
      PatientIdentity id = identity(trim(f[size_t(col_name)]), trim(f[size_t(col_birth)]),
                                    col_bsn >= 0 ? trim(f[size_t(col_bsn)]) : std::string(), entry);
      if (!out.by_reference_.emplace(ref, std::move(id)).second)
        fail(where + ": patient reference " + ref + " appears twice");
    }
    return out;
  } catch (const FileProblem& f) {
    return bad_input(f.message);
  }
}

bool valid_bsn(std::string_view bsn) {
  if (!all_digits(bsn, 9)) return false;
  int sum = 0;
  for (int i = 0; i < 8; ++i) sum += (9 - i) * (bsn[size_t(i)] - '0');
  sum -= bsn[8] - '0';
  return sum % 11 == 0 && bsn != "000000000";
}

}  // namespace zorgpad
