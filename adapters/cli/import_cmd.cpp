#include <algorithm>
#include <fstream>
#include <iostream>

#include "adapters/cli/commands.hpp"

namespace zorgpad::cli {
namespace {

// Lines as std::getline reads them: a last line without a newline counts.
int64_t count_lines(std::istream& in) {
  char buf[1 << 16];
  int64_t lines = 0;
  char last = '\n';
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    const std::streamsize n = in.gcount();
    lines += std::count(buf, buf + n, '\n');
    last = buf[n - 1];
  }
  return lines + (last != '\n');
}

}  // namespace

void setup_import(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("import",
      "Import events from NDJSON lines {\"episode\", \"patient\", \"event\"}, committed in batches; "
      "events with an id already recorded are skipped, so an interrupted import can be run again");
  struct Opts { std::string file; int batch = 5000; };
  auto o = std::make_shared<Opts>();
  cmd->add_option("FILE", o->file, "NDJSON file, or - for standard input")->required();
  cmd->add_option("--batch", o->batch, "lines per transaction")->check(CLI::Range(1, 1000000));
  cmd->callback([o, &ctx] {
    std::ifstream file;
    if (o->file != "-") {
      file.open(o->file, std::ios::binary);
      if (!file) return ctx.fail_bad_input("cannot read '" + o->file + "'");
    }
    std::istream& in = o->file == "-" ? std::cin : file;
    StoreOptions opt;
    opt.synchronous_full = false;  // batches: WAL with NORMAL sync keeps every commit atomic
    auto store = ctx.open_store(opt);
    if (!store) return;
    ProgressLine progress("import", "lines");
    if (progress.active() && o->file != "-") {
      // The total, for the rate's ETA: the file's lines, counted first (a
      // pipe is read once and has none).
      progress.set_total(count_lines(file));
      file.clear();
      file.seekg(0);
    }
    auto r = store->import(in, o->batch, progress.callback());
    progress.finish();
    if (!r) return ctx.fail(r.error());
    const auto& rep = r.value();
    std::cout << "imported " << rep.recorded << " events (" << rep.episodes_opened << " episodes opened, "
              << rep.duplicates << " already recorded) from " << rep.lines << " lines\n";
  });
}

}  // namespace zorgpad::cli
