#include "adapters/calendar/caldav.hpp"
#include "adapters/texts/printable.hpp"

#include <httplib.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <utility>

namespace zorgpad {
// Named, so that a unity build never meets these helpers with another file's.
namespace caldav_detail {
namespace {

constexpr std::string_view kDav = "DAV:";
constexpr std::string_view kCalDav = "urn:ietf:params:xml:ns:caldav";

struct Url {
  std::string origin;  // "http://host:port"
  std::string path;    // "/…/", always ending in '/'
};

Expected<Url> parse_url(const std::string& url) {
  std::string lower = url.substr(0, 8);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  size_t start = 0;
  if (lower.rfind("http://", 0) == 0) start = 7;
  else if (lower.rfind("https://", 0) == 0) start = 8;
  else return bad_input("--caldav: the URL must start with http:// or https://");
  for (unsigned char c : url)
    if (c <= 0x20 || c == 0x7f) return bad_input("--caldav: the URL has a space or a control character");
  if (url.find_first_of("?#") != std::string::npos) return bad_input("--caldav: the URL may not have a query or fragment");
  const size_t slash = url.find('/', start);
  const std::string authority = url.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
  if (authority.empty()) return bad_input("--caldav: the URL has no host");
  if (authority.find('@') != std::string::npos)
    return bad_input("--caldav: credentials do not belong in the URL (use --credentials FILE or "
                     "ZORGPAD_CALDAV_USER and ZORGPAD_CALDAV_PASSWORD)");
  Url out{url.substr(0, start) + authority, slash == std::string::npos ? "/" : url.substr(slash)};
  if (out.path.back() != '/') out.path += '/';
  return out;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit((unsigned char)s[i + 1]) &&
        std::isxdigit((unsigned char)s[i + 2])) {
      out += char(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The last segment of an href ("/a/b/x.ics" → "x.ics"), percent-decoded.
std::string href_name(std::string_view href) {
  while (!href.empty() && href.back() == '/') href.remove_suffix(1);
  const size_t slash = href.rfind('/');
  return percent_decode(slash == std::string_view::npos ? href : href.substr(slash + 1));
}

// ---- HTTP ------------------------------------------------------------------------------

struct Reply {
  int status = 0;         // 0: no answer (transport_error says why)
  std::string transport_error;
  std::string body;
  std::string etag;
};

class Dav {
 public:
  Dav(const Url& url, const CalDavOptions& o) : origin_(url.origin), client_(url.origin) {
    client_.set_connection_timeout(o.timeout_seconds, 0);
    client_.set_read_timeout(o.timeout_seconds, 0);
    client_.set_write_timeout(o.timeout_seconds, 0);
    client_.set_url_encode(false);  // the paths are built escaped
    client_.set_keep_alive(true);
    if (o.credentials) client_.set_basic_auth(o.credentials->user.c_str(), o.credentials->password.c_str());
  }
  bool valid() const { return client_.is_valid(); }

  Reply send(const char* method, const std::string& path, httplib::Headers headers, std::string body = {},
             const char* content_type = "application/xml; charset=utf-8") {
    httplib::Request req;
    req.method = method;
    req.path = path;
    req.headers = std::move(headers);
    if (!body.empty()) {
      req.headers.emplace("Content-Type", content_type);
      req.body = std::move(body);
    }
    Reply out;
    auto res = client_.send(req);
    if (!res) {
      const auto err = res.error();
      switch (err) {
        case httplib::Error::Connection: out.transport_error = "cannot connect to " + origin_; break;
        case httplib::Error::ConnectionTimeout: out.transport_error = "no connection to " + origin_ + " in time"; break;
        case httplib::Error::Read: out.transport_error = "no complete answer from " + origin_; break;
        case httplib::Error::Write: out.transport_error = "could not send to " + origin_; break;
        default: out.transport_error = origin_ + ": " + httplib::to_string(err); break;
      }
      return out;
    }
    out.status = res->status;
    out.body = std::move(res->body);
    out.etag = res->get_header_value("ETag");
    return out;
  }

 private:
  std::string origin_;
  httplib::Client client_;
};

std::string problem(const Reply& r) {
  if (r.status == 0) return r.transport_error;
  switch (r.status) {
    case 401: return "the server refused the credentials (401)";
    case 403: return "the server refused access (403)";
    case 412: return "changed on the server since it was read (412); not overwritten";
    default: return "the server answered " + std::to_string(r.status);
  }
}

// ---- the multistatus of a REPORT (libxml2; namespaces checked) ------------------------

struct XmlDocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};

bool is(const xmlNode* n, std::string_view ns, std::string_view local) {
  return n && n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
         std::string_view(reinterpret_cast<const char*>(n->ns->href)) == ns &&
         std::string_view(reinterpret_cast<const char*>(n->name)) == local;
}

std::string text_of(const xmlNode* n) {
  xmlChar* c = xmlNodeGetContent(n);
  if (!c) return {};
  std::string s(reinterpret_cast<const char*>(c));
  xmlFree(c);
  return s;
}

const xmlNode* child(const xmlNode* n, std::string_view ns, std::string_view local) {
  for (const xmlNode* c = n ? n->children : nullptr; c; c = c->next)
    if (is(c, ns, local)) return c;
  return nullptr;
}

struct Resource {
  std::string href, etag, data;
  bool has_data = false;
};

Expected<std::vector<Resource>> parse_multistatus(const std::string& xml) {
  xmlInitParser();
  // No network, no entity substitution (the libxml2 default), no messages on stderr.
  std::unique_ptr<xmlDoc, XmlDocFree> doc{xmlReadMemory(xml.data(), int(std::min<size_t>(xml.size(), 1u << 30)),
                                                        "multistatus.xml", nullptr,
                                                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)};
  if (!doc) return Error{"the server's answer is not XML"};
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!is(root, kDav, "multistatus")) return Error{"the server's answer is not a DAV multistatus"};
  std::vector<Resource> out;
  for (const xmlNode* r = root->children; r; r = r->next) {
    if (!is(r, kDav, "response")) continue;
    Resource res;
    res.href = text_of(child(r, kDav, "href"));
    for (const xmlNode* ps = r->children; ps; ps = ps->next) {
      if (!is(ps, kDav, "propstat")) continue;
      const std::string status = text_of(child(ps, kDav, "status"));
      if (status.find(" 200") == std::string::npos) continue;
      const xmlNode* prop = child(ps, kDav, "prop");
      if (const xmlNode* e = child(prop, kDav, "getetag")) res.etag = text_of(e);
      if (const xmlNode* d = child(prop, kCalDav, "calendar-data")) {
        res.data = text_of(d);
        res.has_data = true;
      }
    }
    if (!res.href.empty()) out.push_back(std::move(res));
  }
  return out;
}

// ---- the calendars -----------------------------------------------------------------

struct Listing {
  std::string problem;  // non-empty: could not be read
  bool missing = false;
  std::map<std::string, Resource> by_name;  // by the href's last segment, decoded
};

Listing list(Dav& dav, const std::string& path) {
  static const char* kQuery =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
      "<C:calendar-query xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\">"
      "<D:prop><D:getetag/><C:calendar-data/></D:prop>"
      "<C:filter><C:comp-filter name=\"VCALENDAR\"/></C:filter>"
      "</C:calendar-query>";
  Listing out;
  Reply r = dav.send("REPORT", path, {{"Depth", "1"}}, kQuery);
  if (r.status == 404) {
    out.missing = true;
    return out;
  }
  if (r.status != 207) {
    out.problem = problem(r);
    return out;
  }
  auto parsed = parse_multistatus(r.body);
  if (!parsed) {
    out.problem = parsed.message();
    return out;
  }
  for (auto& res : *parsed) {
    std::string name = href_name(res.href);
    out.by_name.emplace(std::move(name), std::move(res));
  }
  return out;
}

std::string xml_text(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out += c;
    }
  }
  return out;
}

// Empty: created.
std::string make_calendar(Dav& dav, const std::string& path, const std::string& display_name) {
  const std::string body =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
      "<C:mkcalendar xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\"><D:set><D:prop>"
      "<D:displayname>" + xml_text(display_name) + "</D:displayname>"
      "<C:supported-calendar-component-set><C:comp name=\"VTODO\"/><C:comp name=\"VEVENT\"/>"
      "</C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>";
  Reply r = dav.send("MKCALENDAR", path, {}, body);
  if (r.status == 201) return {};
  return "the calendar could not be created: " + problem(r);
}

// ---- the tasks, by calendar ------------------------------------------------------------

struct Item {
  TaskRow row;
  std::string patient;  // pseudonymous; never in a report line
  std::string therapist;
  std::string label;  // "task 12 (ep-3)"
};

// The calendar tasks of the store by calendar segment, each list in task-id order.
Expected<std::map<std::string, std::vector<Item>>> gather(Store& store) {
  auto rows = store.tasks(TaskFilter{});
  if (!rows) return rows.error();
  std::map<std::string, std::pair<std::string, std::string>> episodes;  // id -> (patient, therapist)
  for (const auto& row : *rows)
    if (is_calendar_task(row.task.kind)) episodes.emplace(row.episode, std::pair<std::string, std::string>{});
  if (!episodes.empty()) {
    EpisodeFilter f;
    f.limit = 1000;
    for (;;) {
      auto page = store.list_episodes(f);
      if (!page) return page.error();
      for (const auto& e : page->episodes) {
        auto it = episodes.find(e.id);
        if (it != episodes.end()) it->second = {e.patient, e.therapist};
      }
      if (page->episodes.size() < size_t(f.limit)) break;
      f.after = page->episodes.back().id;
    }
  }
  std::map<std::string, std::vector<Item>> out;
  for (auto& row : *rows) {
    if (!is_calendar_task(row.task.kind)) continue;
    const auto& [patient, therapist] = episodes[row.episode];
    Item item{row, patient, therapist, "task " + std::to_string(row.id) + " (" + printable(row.episode) + ")"};
    out[therapist_calendar(therapist)].push_back(std::move(item));
  }
  for (auto& [name, items] : out)
    std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.row.id < b.row.id; });
  return out;
}

void note(CalDavReport& rep, std::string text) { rep.lines.push_back({false, std::move(text)}); }
void fail(CalDavReport& rep, std::string text) {
  ++rep.failed;
  rep.lines.push_back({true, std::move(text)});
}

const char* closed_word(TaskStatus s) { return s == TaskStatus::done ? "completed" : "cancelled"; }

class Pusher {
 public:
  Pusher(Store& store, Dav& dav, const CalDavOptions& o, CalDavReport& rep)
      : dav_(dav), o_(o), rep_(rep), stamp_(store.clock().unix_seconds()) {}

  void calendar(const std::string& path, const std::string& segment, const std::vector<Item>& items) {
    const bool any_open = std::any_of(items.begin(), items.end(), [](const Item& i) { return i.row.task.status == TaskStatus::open; });
    Listing l = list(dav_, path);
    if (l.missing && any_open) {
      const std::string& therapist = items.front().therapist;
      const bool nl = o_.calendar.lang != "en";
      l.problem = make_calendar(dav_, path, "zorgpad — " + (therapist.empty() ? std::string(nl ? "zonder therapeut" : "without therapist") : therapist));
      if (l.problem.empty()) note(rep_, "calendar " + segment + ": created");
    }
    if (!l.problem.empty()) {
      if (!any_open) fail(rep_, "calendar " + segment + ": not read: " + l.problem);
      for (const auto& i : items)
        if (i.row.task.status == TaskStatus::open) fail(rep_, i.label + ": not pushed: " + l.problem);
      return;
    }
    for (const auto& i : items) {
      todo(path, l, i);
      // A closed task's twin goes even without --with-events (pushed by an earlier run).
      if (o_.with_events || i.row.task.status != TaskStatus::open) event(path, l, i);
    }
  }

 private:
  const Resource* find(const Listing& l, const std::string& name) {
    auto it = l.by_name.find(name);
    return it == l.by_name.end() ? nullptr : &it->second;
  }

  // Reads the object on the server; on failure reports it and returns nullopt.
  std::optional<RemoteObject> remote(const Item& i, const Resource& res, const std::string& uid, const std::string& what) {
    if (!res.has_data) {
      fail(rep_, i.label + what + ": the server sent no calendar data for it; not overwritten");
      return std::nullopt;
    }
    auto r = read_caldav_object(res.data);
    if (!r) {
      fail(rep_, i.label + what + ": the object on the server is unreadable (" + r.message() + "); not overwritten");
      return std::nullopt;
    }
    if (r->uid != uid) {
      fail(rep_, i.label + what + ": the object on the server holds another UID; not overwritten");
      return std::nullopt;
    }
    if (res.etag.empty()) {
      fail(rep_, i.label + what + ": the server gave no ETag for it; not overwritten");
      return std::nullopt;
    }
    return std::move(*r);
  }

  bool put(const Item& i, const std::string& path, const std::string& text, const Resource* existing,
           const std::string& what) {
    httplib::Headers h;
    if (existing) h.emplace("If-Match", existing->etag);
    else h.emplace("If-None-Match", "*");
    Reply r = dav_.send("PUT", path, std::move(h), text, "text/calendar; charset=utf-8");
    if (r.status == 201 || r.status == 204 || r.status == 200) {
      episodes_.insert(i.row.episode);
      return true;
    }
    if (r.status == 412 && !existing)
      fail(rep_, i.label + what + ": created on the server behind our back (412); not overwritten");
    else
      fail(rep_, i.label + what + ": not pushed: " + problem(r));
    return false;
  }

  void todo(const std::string& cal, const Listing& l, const Item& i) {
    const std::string name = todo_resource(i.row);
    const Resource* res = find(l, name);
    const bool open = i.row.task.status == TaskStatus::open;
    if (!open && !res) return;  // closed before it was ever pushed: nothing to tell the scheduler
    auto obj = caldav_todo(i.row, i.patient, o_.calendar, stamp_);
    if (!obj) return fail(rep_, i.label + ": " + obj.message());
    if (res) {
      auto r = remote(i, *res, task_uid(i.row, o_.calendar), "");
      if (!r) return;
      if (open && r->status == "COMPLETED") {
        ++rep_.unchanged;
        return note(rep_, i.label + ": completed in the scheduler; `zorgpad calendar pull` records it");
      }
      if (r->digest == obj->digest) {
        ++rep_.unchanged;
        return;
      }
    }
    if (!put(i, cal + name, obj->text, res, "")) return;
    if (!res) {
      ++rep_.created;
      note(rep_, i.label + ": created");
    } else {
      ++rep_.updated;
      note(rep_, i.label + ": updated" + (open ? std::string() : std::string(" (") + closed_word(i.row.task.status) + ")"));
    }
  }

  void event(const std::string& cal, const Listing& l, const Item& i) {
    const std::string name = event_resource(i.row);
    const Resource* res = find(l, name);
    if (i.row.task.status != TaskStatus::open) {
      if (!res) return;
      // The event twin of a closed task goes: an event has no "completed".
      if (res->etag.empty()) return fail(rep_, i.label + " event: the server gave no ETag for it; not removed");
      Reply r = dav_.send("DELETE", cal + name, {{"If-Match", res->etag}});
      if (r.status == 200 || r.status == 204 || r.status == 404) {
        ++rep_.removed;
        episodes_.insert(i.row.episode);
        return note(rep_, i.label + " event: removed (" + closed_word(i.row.task.status) + ")");
      }
      return fail(rep_, i.label + " event: not removed: " + problem(r));
    }
    auto obj = caldav_event(i.row, i.patient, o_.calendar, stamp_);
    if (!obj) return fail(rep_, i.label + " event: " + obj.message());
    if (res) {
      auto r = remote(i, *res, event_uid(i.row, o_.calendar), " event");
      if (!r) return;
      if (r->digest == obj->digest) {
        ++rep_.unchanged;
        return;
      }
    }
    if (!put(i, cal + name, obj->text, res, " event")) return;
    if (!res) {
      ++rep_.created;
      note(rep_, i.label + " event: created");
    } else {
      ++rep_.updated;
      note(rep_, i.label + " event: updated");
    }
  }

  Dav& dav_;
  const CalDavOptions& o_;
  CalDavReport& rep_;
  int64_t stamp_;

 public:
  std::set<std::string> episodes_;  // whose objects were written: the audit's
};

}  // namespace
}  // namespace caldav_detail

Expected<CalDavCredentials> read_caldav_credentials(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return bad_input("--credentials: cannot read the file");
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  const size_t colon = line.find(':');
  if (colon == std::string::npos || colon == 0) return bad_input("--credentials: the first line must be user:password");
  return CalDavCredentials{line.substr(0, colon), line.substr(colon + 1)};
}

std::string caldav_segment(std::string_view name) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : name) {
    if (std::isalnum(c) || c == '-' || c == '.') {
      out += char(c);
    } else {
      out += '_';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  // "." and ".." are not names.
  if (out == "." || out == "..") return out == "." ? "_2E" : "_2E_2E";
  return out;
}

std::string therapist_calendar(std::string_view therapist) {
  return therapist.empty() ? "zorgpad-no-therapist" : caldav_segment(therapist);
}

std::string todo_resource(const TaskRow& row) {
  return caldav_segment("zorgpad-task-" + row.episode + "-" + std::to_string(row.task.seq)) + ".ics";
}

std::string event_resource(const TaskRow& row) {
  return caldav_segment("zorgpad-event-" + row.episode + "-" + std::to_string(row.task.seq)) + ".ics";
}

Expected<CalDavReport> caldav_push(Store& store, const CalDavOptions& options) {
  using namespace caldav_detail;  // block scope: never leaks into a unity build's next file
  auto url = parse_url(options.url);
  if (!url) return url.error();
  auto calendars = gather(store);
  if (!calendars) return calendars.error();
  Dav dav(*url, options);
  if (!dav.valid()) return bad_input("--caldav: not a usable URL");
  CalDavReport rep;
  Pusher push(store, dav, options, rep);
  for (const auto& [segment, items] : *calendars) push.calendar(url->path + segment + "/", segment, items);
  if (!push.episodes_.empty()) {
    // The objects carry patient references to another system: an access.
    if (Status a = store.audit("calendar.push", {push.episodes_.begin(), push.episodes_.end()}); !a)
      fail(rep, "audit: " + a.message());
  }
  return rep;
}

Expected<CalDavReport> caldav_pull(Store& store, const CalDavOptions& options) {
  using namespace caldav_detail;  // block scope: never leaks into a unity build's next file
  auto url = parse_url(options.url);
  if (!url) return url.error();
  auto calendars = gather(store);
  if (!calendars) return calendars.error();
  Dav dav(*url, options);
  if (!dav.valid()) return bad_input("--caldav: not a usable URL");
  CalDavReport rep;
  for (const auto& [segment, items] : *calendars) {
    // Read even when every task there is closed: a to-do the scheduler
    // completed after zorgpad closed the task gets its note.
    const bool any_open =
        std::any_of(items.begin(), items.end(), [](const Item& i) { return i.row.task.status == TaskStatus::open; });
    Listing l = list(dav, url->path + segment + "/");
    if (!l.problem.empty()) {
      if (!any_open) fail(rep, "calendar " + segment + ": not read: " + l.problem);
      for (const auto& i : items)
        if (i.row.task.status == TaskStatus::open) fail(rep, i.label + ": not checked: " + l.problem);
      continue;
    }
    if (l.missing) continue;  // never pushed
    for (const auto& i : items) {
      auto it = l.by_name.find(todo_resource(i.row));
      if (it == l.by_name.end()) continue;
      const bool open = i.row.task.status == TaskStatus::open;
      if (!it->second.has_data) {
        if (open) fail(rep, i.label + ": the server sent no calendar data for it; not recorded");
        continue;
      }
      auto r = read_caldav_object(it->second.data);
      if (!r || r->uid != task_uid(i.row, options.calendar)) {
        if (open)
          fail(rep, i.label + ": the object on the server is unreadable (" +
                        (r ? std::string("it holds another UID") : r.message()) + "); not recorded");
        continue;
      }
      if (r->status != "COMPLETED") continue;
      if (open) {
        auto done = store.complete_task(i.row.id);
        if (!done) {
          fail(rep, i.label + ": not recorded: " + done.message());
          continue;
        }
        ++rep.recorded;
        note(rep, i.label + ": done (completed in the scheduler)");
        continue;
      }
      if (i.row.task.status == TaskStatus::done) {
        if (r->zorgpad_status == "done") continue;  // COMPLETED because zorgpad pushed it so
        ++rep.skipped;
        note(rep, i.label + ": skipped, already done in zorgpad");
      } else {
        ++rep.skipped;
        note(rep, i.label + ": skipped, cancelled in zorgpad");
      }
    }
  }
  return rep;
}

}  // namespace zorgpad
