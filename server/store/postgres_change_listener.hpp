// Long-poll wake-ups across casefiled instances (docs/scale.md): every
// PostgresServerStore commit that appends changes sends
// NOTIFY casefile_changes inside its transaction, so PostgreSQL delivers it
// when (and only if) the commit does; each instance's PostgresChangeListener
// LISTENs on a connection of its own and hands the commit's cases to its
// ChangeNotifier, which wakes the pulls parked on them.
//
// A lost connection may have missed notifications: the listener then calls
// `on_unknown` (wake every parked pull, so that none waits for a wake-up that
// will never come), reconnects once a second, LISTENs again and calls
// `on_unknown` once more for what it missed while away.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "crypto/secret_bytes.hpp"
#include "sync/ids.hpp"

namespace casefile::server {

inline constexpr std::string_view kChangeChannel = "casefile_changes";

// The NOTIFY payload for a commit's cases: their ids in hex, comma-separated;
// empty (meaning "any case") above 200 cases, within PostgreSQL's 8000-byte
// payload limit.
std::string encode_change_payload(const std::set<sync::CaseId>& cases);
// The cases a payload names; nullopt for "any case" or a malformed payload.
std::optional<std::set<sync::CaseId>> decode_change_payload(std::string_view payload);

class PostgresChangeListener {
 public:
  using OnCases = std::function<void(const std::set<sync::CaseId>&)>;
  using OnUnknown = std::function<void()>;

  // Starts the listening thread; it connects with `connection_string` (kept
  // in wiped memory, never logged). The callbacks run on that thread and must
  // not block for long.
  PostgresChangeListener(std::string_view connection_string, OnCases on_cases, OnUnknown on_unknown);
  ~PostgresChangeListener();  // stops and joins the thread
  PostgresChangeListener(const PostgresChangeListener&) = delete;
  PostgresChangeListener& operator=(const PostgresChangeListener&) = delete;

  // Whether the LISTEN is in place now.
  bool listening() const { return listening_.load(); }

 private:
  void run();
  // Waits up to `timeout_ms` (-1: forever) for `socket` (-1: none) or a stop;
  // returns false when stopping.
  bool wait(int socket, int timeout_ms);

  const crypto::SecretBytes connection_string_;
  const OnCases on_cases_;
  const OnUnknown on_unknown_;
  int stop_pipe_[2] = {-1, -1};
  std::atomic<bool> listening_{false};
  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace casefile::server
