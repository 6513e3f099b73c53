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
  std::string lang = "nl", format = "html";
};

void add_letter_options(CLI::App* cmd, LetterOptions& o) {
  cmd->add_option("--lang", o.lang, "nl (default) or en")->check(CLI::IsMember({"nl", "en"}));
  cmd->add_option("--format", o.format, "html (a printable A4 letter, default) or text (for a mail or the GP system)")
      ->check(CLI::IsMember({"html", "text"}));
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

// The episode and its clinical events (the letter tells a measure recorded
// once from one that stayed the same).
struct LoadedEpisode {
  Episode episode;
  std::vector<Event> log;
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
  return LoadedEpisode{std::move(er.value()), clinical_events(lr.value())};
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
    auto templates = load_templates(ctx, *o);
    if (!templates) return;
    auto loaded = load_episode(ctx, *store, row.episode);
    if (!loaded) return;
    auto letter = render_letter(*templates, loaded->episode, row, ctx.clock().today(), &loaded->log);
    if (!letter) {
      print_error(letter.message());
      ctx.status = kExitFailure;
      return;
    }
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
    auto templates = load_templates(ctx, *o);
    if (!templates) return;

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

    const LetterFormat format = *kLetterFormats.parse(o->format);
    const Date today = ctx.clock().today();
    std::map<std::string, LoadedEpisode> episodes;  // several letters may share an episode
    std::vector<TaskRow> written;
    for (const auto& row : pending) {
      auto it = episodes.find(row.episode);
      if (it == episodes.end()) {
        auto loaded = load_episode(ctx, *store, row.episode);
        if (!loaded) continue;
        it = episodes.emplace(row.episode, std::move(*loaded)).first;
      }
      auto letter = render_letter(*templates, it->second.episode, row, today, &it->second.log);
      if (!letter) {
        print_error(letter.message());
        ctx.status = kExitFailure;
        continue;
      }
      const std::string path = (dir / letter_file_name(row, format)).string();
      if (Status w = write_private_file(path, *letter); !w) {
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
