#include "server/store/postgres_change_listener.hpp"

#include <poll.h>
#include <unistd.h>

#include <memory>
#include <system_error>

#include "crypto/bytes.hpp"
#include "server/store/postgres_connection.hpp"

namespace casefile::server {
namespace {

constexpr std::size_t kMostCasesNamed = 200;
constexpr int kReconnectDelayMs = 1000;

}  // namespace

std::string encode_change_payload(const std::set<sync::CaseId>& cases) {
  if (cases.size() > kMostCasesNamed) return "";
  std::string payload;
  for (const sync::CaseId& case_id : cases) {
    if (!payload.empty()) payload += ',';
    payload += crypto::to_hex(case_id.bytes);
  }
  return payload;
}

std::optional<std::set<sync::CaseId>> decode_change_payload(std::string_view payload) {
  std::set<sync::CaseId> cases;
  while (!payload.empty()) {
    const std::size_t comma = payload.find(',');
    const std::string_view hex = payload.substr(0, comma);
    crypto::Bytes bytes;
    sync::CaseId case_id;
    if (!crypto::from_hex(hex, bytes) || bytes.size() != case_id.bytes.size()) return std::nullopt;
    std::copy(bytes.begin(), bytes.end(), case_id.bytes.begin());
    cases.insert(case_id);
    payload = comma == std::string_view::npos ? std::string_view() : payload.substr(comma + 1);
  }
  if (cases.empty()) return std::nullopt;
  return cases;
}

PostgresChangeListener::PostgresChangeListener(std::string_view connection_string, OnCases on_cases,
                                               OnUnknown on_unknown)
    : connection_string_(crypto::as_bytes(connection_string)),
      on_cases_(std::move(on_cases)),
      on_unknown_(std::move(on_unknown)) {
  if (::pipe(stop_pipe_) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  thread_ = std::thread([this] { run(); });
}

PostgresChangeListener::~PostgresChangeListener() {
  const char stop = 's';
  (void)!::write(stop_pipe_[1], &stop, 1);
  thread_.join();
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
}

bool PostgresChangeListener::wait(int socket, int timeout_ms) {
  pollfd descriptors[2] = {{stop_pipe_[0], POLLIN, 0}, {socket, POLLIN, 0}};
  const int count = socket >= 0 ? 2 : 1;
  for (;;) {
    const int ready = ::poll(descriptors, static_cast<nfds_t>(count), timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    return (descriptors[0].revents & POLLIN) == 0;
  }
}

void PostgresChangeListener::run() {
  bool missed = false;  // an outage since the last LISTEN: wake everyone once back
  for (;;) {
    auto opened = postgres::Connection::open(connection_string_);
    std::unique_ptr<postgres::Connection> connection;
    if (opened.ok()) connection = std::move(opened).value();
    if (connection && !connection->execute("LISTEN " + std::string(kChangeChannel)).ok()) connection.reset();
    if (!connection) {
      if (!missed) on_unknown_();
      missed = true;
      if (!wait(-1, kReconnectDelayMs)) return;
      continue;
    }
    listening_ = true;
    if (missed) on_unknown_();
    missed = false;
    for (;;) {
      if (!wait(connection->socket(), -1)) {
        listening_ = false;
        return;
      }
      auto payloads = connection->take_notifications();
      if (!payloads.ok()) break;
      for (const std::string& payload : *payloads) {
        auto cases = decode_change_payload(payload);
        if (cases)
          on_cases_(*cases);
        else
          on_unknown_();
      }
    }
    listening_ = false;
    on_unknown_();
    missed = true;
  }
}

}  // namespace casefile::server
