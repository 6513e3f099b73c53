// `zorgpad letter TASK_ID` writes the GP letter of one letter task;
// `zorgpad letters --pending` writes every letter task still open. Neither
// marks a task done unless asked (`letters --mark-sent`, or `task done ID`):
// writing a letter is not sending it. Output names task and episode ids only.
#include <algorithm>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>

#include "adapters/cli/commands.hpp"
#include "adapters/letters/letters.hpp"

namespace zorgpad::cli {
namespace {

struct LetterOptions {
  std::string lang = "nl", format = "html", practice, patients;
};

void add_letter_options(CLI::App* cmd, LetterOptions& o) {
  cmd->add_option("--lang", o.lang, "nl (default) or en")->check(CLI::IsMember({"nl", "en"}));
  cmd->add_option("--format", o.format,
                  "html (a printable A4 letter, default), text (for a mail or the GP system) or pdf (A4 pages)")
      ->check(CLI::IsMember({"html", "text", "pdf"}));
  cmd->add_option("--practice-file", o.practice,
                  "the practice file (TOML: letterhead, therapists, GP directory; default: $ZORGPAD_PRACTICE_FILE)");
  cmd->add_option("--patients", o.patients,
                  "the patients file (CSV or JSON: name, birth date, BSN by patient reference), read now and never stored");
}

// The practice and patients files, read before anything is written: a file
// that is missing or malformed is bad input (exit 2).
struct Sources {
  std::optional<Practice> practice;
  std::optional<Patients> patients;
  LetterSources view() const { return {practice ? &*practice : nullptr, patients ? &*patients : nullptr}; }
};
std::optional<Sources> load_sources(Context& ctx, const LetterOptions& o) {
  Sources s;
  auto pr = load_practice_option(o.practice);
  if (!pr) {
    ctx.fail(pr.error());
    return std::nullopt;
  }
  s.practice = std::move(pr).value();
  if (!o.patients.empty()) {
    auto pa = load_patients(o.patients);
    if (!pa) {
      ctx.fail(pa.error());
      return std::nullopt;
    }
    s.patients = std::move(pa).value();
  }
  return s;
}

// The templates of the chosen language and format; a missing or broken file
// is an installation problem (exit 1).
std::optional<LetterTemplates> load_templates(Context& ctx, const LetterOptions& o) {
  auto t = LetterTemplates::load(letters_dir(), *kLangs.parse(o.lang), *kLetterFormats.parse(o.format));
  if (!t) {
    print_error(t.message());
    ctx.status = kExitFailure;
    return std::nullopt;
  }
  return std::move(t).value();
}

// The episode's patient reference and its stored log: the letter replays the
// log to its task's date (spec §12).
struct LoadedEpisode {
  std::string patient;
  std::vector<StoredEvent> log;
};
std::optional<LoadedEpisode> load_episode(Context& ctx, Store& store, const std::string& id) {
  auto er = store.load(id);
  if (!er) {
    ctx.fail(er.error());
    return std::nullopt;
  }
  auto lr = store.events(id);
  if (!lr) {
    ctx.fail(lr.error());
    return std::nullopt;
  }
  return LoadedEpisode{er.value().patient, std::move(lr.value())};
}

// A letter that cannot be written: bad input (a practice or patients file
// lacking an entry) is exit 2, anything else an installation or store fault.
void letter_failed(Context& ctx, const Error& e) {
  if (e.kind == ErrorKind::bad_input) return ctx.fail(e);
  print_error(e.message);
  ctx.status = kExitFailure;
}

std::string describe(const TaskRow& row) {
  return "task " + std::to_string(row.id) + ", " + std::string(kTaskKinds.name(row.task.kind)) + ", " + row.episode;
}

}  // namespace

void setup_letter(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("letter", "Write the GP letter of one task (" + letter_kinds_list() + ")");
  struct Opts : LetterOptions {
    int64_t id = 0;
    std::string out;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("TASK_ID", o->id, "task id (see `zorgpad tasks`)")->required()->check(CLI::PositiveNumber);
  add_letter_options(cmd, *o);
  cmd->add_option("--out", o->out, "write the letter to FILE (default: standard output)");
  cmd->callback([o, &ctx] {
    auto store = ctx.open_store();
    if (!store) return;
    TaskFilter f;
    f.id = o->id;
    auto tr = store->tasks(f);
    if (!tr) return ctx.fail(tr.error());
    const auto& rows = tr.value();
    if (rows.empty()) return ctx.fail_bad_input("no task " + std::to_string(o->id));
    const TaskRow& row = rows.front();
    if (!is_letter(row.task.kind))
      return ctx.fail_bad_input("task " + std::to_string(row.id) + " is a " + std::string(kTaskKinds.name(row.task.kind)) +
                                " task, not a letter; letters exist for " + letter_kinds_list());
    auto sources = load_sources(ctx, *o);
    if (!sources) return;
    auto templates = load_templates(ctx, *o);
    if (!templates) return;
    auto loaded = load_episode(ctx, *store, row.episode);
    if (!loaded) return;
    auto letter = write_letter(*templates, loaded->patient, loaded->log, row, sources->view());
    if (!letter) return letter_failed(ctx, letter.error());
    if (Status a = store->audit("letter.read", {row.episode}); !a) return ctx.fail(a.error());
    if (o->out.empty()) {
      std::cout << *letter << std::flush;
      return;
    }
    if (Status w = write_private_file(o->out, *letter); !w) return ctx.fail(w.error());
    std::cout << "wrote " << o->out << " (" << describe(row) << ")\n";
  });
}

void setup_letters(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("letters", "Write every GP letter not yet sent, one file per letter task");
  struct Opts : LetterOptions {
    bool pending = false, mark_sent = false;
    std::string out = ".";
  };
  auto o = std::make_shared<Opts>();
  cmd->add_flag("--pending", o->pending, "the letter tasks still open (required)")->required();
  cmd->add_option("--out", o->out, "directory for the letters, created when missing (default: .)");
  add_letter_options(cmd, *o);
  cmd->add_flag("--mark-sent", o->mark_sent, "mark each letter written by this run as done (sent)");
  cmd->callback([o, &ctx] {
    auto store = ctx.open_store();
    if (!store) return;
    TaskFilter f;
    f.status = TaskStatus::open;
    auto tr = store->tasks(f);
    if (!tr) return ctx.fail(tr.error());
    std::vector<TaskRow> pending;
    for (const auto& row : tr.value())
      if (is_letter(row.task.kind)) pending.push_back(row);
    auto sources = load_sources(ctx, *o);
    if (!sources) return;
    auto templates = load_templates(ctx, *o);
    if (!templates) return;
    // Every letter first, then the files: a practice or patients file lacking
    // an entry stops the run before anything is written (exit 2).
    const LetterFormat format = *kLetterFormats.parse(o->format);
    std::map<std::string, LoadedEpisode> episodes;  // several letters may share an episode
    std::vector<std::pair<TaskRow, std::string>> letters;
    for (const auto& row : pending) {
      auto it = episodes.find(row.episode);
      if (it == episodes.end()) {
        auto loaded = load_episode(ctx, *store, row.episode);
        if (!loaded) return;
        it = episodes.emplace(row.episode, std::move(*loaded)).first;
      }
      auto letter = write_letter(*templates, it->second.patient, it->second.log, row, sources->view());
      if (!letter) return letter_failed(ctx, letter.error());
      letters.emplace_back(row, std::move(letter).value());
    }

    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path dir(o->out);
    if (!fs::is_directory(dir, ec)) {
      if (!fs::create_directories(dir, ec) && ec) {
        print_error("cannot create directory '" + o->out + "': " + ec.message());
        ctx.status = kExitFailure;
        return;
      }
      fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
    }

    std::vector<TaskRow> written;
    for (const auto& [row, letter] : letters) {
      const std::string path = (dir / letter_file_name(row, format)).string();
      if (Status w = write_private_file(path, letter); !w) {
        ctx.fail(w.error());
        continue;
      }
      std::cout << "wrote " << path << " (" << describe(row) << ")\n";
      written.push_back(row);
    }
    std::cout << written.size() << " letter(s) written" << (written.size() < pending.size() ? ", some failed" : "") << "\n";
    if (!written.empty()) {
      std::vector<std::string> eps;
      for (const auto& row : written) eps.push_back(row.episode);
      std::sort(eps.begin(), eps.end());
      eps.erase(std::unique(eps.begin(), eps.end()), eps.end());
      if (Status a = store->audit("letters.write", eps); !a) return ctx.fail(a.error());
    }
    if (!o->mark_sent) return;
    int64_t marked = 0;
    for (const auto& row : written) {
      auto r = store->complete_task(row.id);
      if (!r) {
        ctx.fail(r.error());
        continue;
      }
      ++marked;
    }
    std::cout << marked << " letter task(s) marked sent\n";
  });
}

}  // namespace zorgpad::cli
