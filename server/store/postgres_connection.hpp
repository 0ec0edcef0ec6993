// One libpq connection to PostgreSQL, for the server's PostgreSQL stores
// (docs/scale.md). Every statement is sent with PQexecParams: values travel as
// parameters, never spliced into SQL text, and both parameters and results use
// the binary format, so bytea columns carry arbitrary bytes unchanged.
//
// A connection is used by one thread at a time. The connection string may hold
// a password: it is kept in wiped memory and never put into an error message.
//
// Errors: "unique_violation" (SQLSTATE 23505: a row's key is taken),
// "serialization" (40001, 40P01: retry the transaction),
// "unavailable" (anything else: connection lost, server refusing, bad SQL; the
// message holds PostgreSQL's SQLSTATE and primary message), "corrupt" (a
// result column has an unexpected type or size).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "crypto/secret_bytes.hpp"

struct pg_conn;
struct pg_result;

namespace casefile::server::postgres {

// A statement's parameters, $1, $2, ... in the order they are added.
class Parameters {
 public:
  Parameters& int64(std::int64_t value);
  Parameters& bytes(crypto::ByteView value);
  Parameters& text(std::string_view value);
  // SQL NULL, of the type the statement gives the parameter.
  Parameters& null();
  // A bigint[] (for "= ANY($n)").
  Parameters& int64_array(const std::vector<std::int64_t>& values);

  std::size_t size() const { return values_.size(); }
  const std::vector<unsigned int>& types() const { return types_; }
  const std::vector<std::string>& values() const { return values_; }
  const std::vector<int>& formats() const { return formats_; }
  bool is_null(std::size_t index) const { return nulls_[index]; }

 private:
  void add(unsigned int type, std::string value, int format);

  std::vector<unsigned int> types_;  // PostgreSQL type OIDs
  std::vector<std::string> values_;  // binary or text, as formats_ says
  std::vector<int> formats_;         // 1: binary, 0: text
  std::vector<bool> nulls_;          // true: NULL, whatever values_ holds
};

// The rows a statement returned (binary format).
class QueryResult {
 public:
  explicit QueryResult(pg_result* result);
  QueryResult(QueryResult&& other) noexcept;
  QueryResult& operator=(QueryResult&& other) noexcept;
  QueryResult(const QueryResult&) = delete;
  QueryResult& operator=(const QueryResult&) = delete;
  ~QueryResult();

  int rows() const;
  // Rows an INSERT, UPDATE or DELETE touched.
  std::uint64_t affected_rows() const;
  bool is_null(int row, int column) const;
  // Errors: "corrupt" when the column is not an 8-byte bigint.
  Result<std::int64_t> int64(int row, int column) const;
  crypto::Bytes bytes(int row, int column) const;
  std::string text(int row, int column) const;

 private:
  pg_result* result_;
};

class Connection {
 public:
  // Connects (libpq connection string or URI). Errors: "unavailable".
  static Result<std::unique_ptr<Connection>> open(const crypto::SecretBytes& connection_string);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // One statement; its rows in the binary format.
  Result<QueryResult> execute(std::string_view sql, const Parameters& parameters = {});
  // Statements without parameters, several separated by ';' (migrations).
  Status execute_script(std::string_view sql);

  // For LISTEN (PostgresChangeListener): the socket to poll() for input, and
  // the payloads of the notifications received so far, after reading what
  // the socket holds. Errors: "unavailable" (the connection is lost).
  int socket() const;
  Result<std::vector<std::string>> take_notifications();

  // Runs ROLLBACK if a transaction is open (after a failed statement).
  void abandon_transaction();
  // True when the connection to the server is lost; reset() reconnects.
  bool broken() const;
  Status reset();

 private:
  explicit Connection(pg_conn* connection) : connection_(connection) {}
  pg_conn* connection_;
};

// Up to a fixed number of connections shared by a store's threads, opened as
// calls need them. A caller leases one for one call; a lease of a connection
// the server dropped reconnects it first, so a PostgreSQL restart costs the
// calls in flight, not the store.
class ConnectionPool {
 public:
  // A pool that starts with `first` and opens up to `limit` connections in
  // all (at least one).
  ConnectionPool(const crypto::SecretBytes& connection_string, std::unique_ptr<Connection> first,
                 std::size_t limit);

  class Lease {
   public:
    Lease(ConnectionPool& pool, Connection& connection) : pool_(&pool), connection_(&connection) {}
    Lease(Lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)),
          connection_(std::exchange(other.connection_, nullptr)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (pool_ != nullptr) pool_->give_back(*connection_);
    }
    Connection& connection() { return *connection_; }

   private:
    ConnectionPool* pool_;
    Connection* connection_;
  };

  // An idle connection, else a new one while below the limit, else waits for
  // one to be freed. Errors: "unavailable" when a connection cannot be
  // opened, or was lost and cannot reconnect.
  Result<Lease> acquire();

 private:
  void give_back(Connection& connection);

  const crypto::SecretBytes connection_string_;
  const std::size_t limit_;
  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<Connection>> connections_;  // GUARDED_BY(mutex_)
  std::vector<Connection*> idle_;                         // GUARDED_BY(mutex_)
  std::size_t opening_ = 0;                               // GUARDED_BY(mutex_): being opened now
};

// Runs `body` inside BEGIN ... COMMIT; rolls back if it or the COMMIT fails.
// `begin` is the opening statement ("BEGIN", "BEGIN ISOLATION LEVEL ...").
template <typename Body>
auto in_transaction(Connection& connection, std::string_view begin, Body&& body) -> decltype(body()) {
  auto started = connection.execute(begin);
  if (!started.ok()) return std::move(started).error();
  auto result = body();
  if (!result.ok()) {
    connection.abandon_transaction();
    return result;
  }
  auto committed = connection.execute("COMMIT");
  if (!committed.ok()) {
    connection.abandon_transaction();
    return std::move(committed).error();
  }
  return result;
}

}  // namespace casefile::server::postgres
