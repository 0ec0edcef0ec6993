#include "server/store/postgres_connection.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace casefile::server::postgres {
namespace {

// PostgreSQL type OIDs (src/include/catalog/pg_type.dat).
constexpr unsigned int kByteaOid = 17;
constexpr unsigned int kInt8Oid = 20;
constexpr unsigned int kTextOid = 25;
constexpr unsigned int kInt8ArrayOid = 1016;

std::string big_endian(std::int64_t value) {
  const auto bits = static_cast<std::uint64_t>(value);
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[static_cast<std::size_t>(i)] = static_cast<char>(bits >> (56 - 8 * i));
  return bytes;
}

// The first line of libpq's message, which never holds the connection string.
std::string first_line(const char* message) {
  std::string text = message == nullptr ? "" : message;
  const auto end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

Error result_error(const PGresult* result, const PGconn* connection) {
  const char* state = result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const char* primary = result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  const std::string sqlstate = state == nullptr ? "" : state;
  std::string message = primary != nullptr ? primary : first_line(PQerrorMessage(connection));
  if (!sqlstate.empty()) message = "SQLSTATE " + sqlstate + ": " + message;
  if (sqlstate == "23505") return make_error("unique_violation", message);
  if (sqlstate == "40001" || sqlstate == "40P01") return make_error("serialization", message);
  return make_error("unavailable", "PostgreSQL: " + message);
}

}  // namespace

void Parameters::add(unsigned int type, std::string value, int format) {
  types_.push_back(type);
  values_.push_back(std::move(value));
  formats_.push_back(format);
  nulls_.push_back(false);
}

Parameters& Parameters::null() {
  add(0, std::string(), 1);  // type 0: PostgreSQL infers it from the statement
  nulls_.back() = true;
  return *this;
}

Parameters& Parameters::int64(std::int64_t value) {
  add(kInt8Oid, big_endian(value), 1);
  return *this;
}

Parameters& Parameters::bytes(crypto::ByteView value) {
  add(kByteaOid, std::string(reinterpret_cast<const char*>(value.data()), value.size()), 1);
  return *this;
}

Parameters& Parameters::text(std::string_view value) {
  add(kTextOid, std::string(value), 1);
  return *this;
}

Parameters& Parameters::int64_array(const std::vector<std::int64_t>& values) {
  // The text form "{1,2,3}": digits only, so nothing needs quoting.
  std::string literal = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) literal += ',';
    literal += std::to_string(values[i]);
  }
  literal += '}';
  add(kInt8ArrayOid, std::move(literal), 0);
  return *this;
}

QueryResult::QueryResult(pg_result* result) : result_(result) {}
QueryResult::QueryResult(QueryResult&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
QueryResult& QueryResult::operator=(QueryResult&& other) noexcept {
  if (this != &other) {
    if (result_ != nullptr) PQclear(result_);
    result_ = std::exchange(other.result_, nullptr);
  }
  return *this;
}
QueryResult::~QueryResult() {
  if (result_ != nullptr) PQclear(result_);
}

int QueryResult::rows() const { return PQntuples(result_); }

std::uint64_t QueryResult::affected_rows() const {
  const char* tuples = PQcmdTuples(result_);
  return tuples == nullptr || *tuples == '\0' ? 0 : std::stoull(tuples);
}

bool QueryResult::is_null(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }

Result<std::int64_t> QueryResult::int64(int row, int column) const {
  if (PQftype(result_, column) != kInt8Oid || PQgetlength(result_, row, column) != 8) {
    return make_error("corrupt", "a PostgreSQL column is not a bigint");
  }
  const auto* bytes = reinterpret_cast<const unsigned char*>(PQgetvalue(result_, row, column));
  std::uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) bits = (bits << 8) | bytes[i];
  return static_cast<std::int64_t>(bits);
}

crypto::Bytes QueryResult::bytes(int row, int column) const {
  const auto* data = reinterpret_cast<const std::uint8_t*>(PQgetvalue(result_, row, column));
  return crypto::Bytes(data, data + PQgetlength(result_, row, column));
}

std::string QueryResult::text(int row, int column) const {
  return std::string(PQgetvalue(result_, row, column),
                     static_cast<std::size_t>(PQgetlength(result_, row, column)));
}

Result<std::unique_ptr<Connection>> Connection::open(const crypto::SecretBytes& connection_string) {
  // PQconnectdb reads a C string: copy into wiped memory with a terminator.
  crypto::SecretBytes terminated(connection_string.size() + 1);
  std::memcpy(terminated.data(), connection_string.data(), connection_string.size());
  PGconn* connection = PQconnectdb(reinterpret_cast<const char*>(terminated.data()));
  if (connection == nullptr) return make_error("unavailable", "PostgreSQL: out of memory");
  if (PQstatus(connection) != CONNECTION_OK) {
    Error error =
        make_error("unavailable", "PostgreSQL: cannot connect: " + first_line(PQerrorMessage(connection)));
    PQfinish(connection);
    return error;
  }
  std::unique_ptr<Connection> opened(new Connection(connection));
  // Notices (e.g. "relation already exists, skipping") are not errors, and
  // libpq's default handler writes them to stderr: keep stderr for our logs.
  PQsetNoticeProcessor(
      connection, [](void*, const char*) {}, nullptr);
  return opened;
}

Connection::~Connection() { PQfinish(connection_); }

Result<QueryResult> Connection::execute(std::string_view sql, const Parameters& parameters) {
  const std::string statement(sql);
  std::vector<const char*> values;
  std::vector<int> lengths;
  values.reserve(parameters.size());
  lengths.reserve(parameters.size());
  for (std::size_t index = 0; index < parameters.size(); ++index) {
    const std::string& value = parameters.values()[index];
    values.push_back(parameters.is_null(index) ? nullptr : value.data());
    lengths.push_back(static_cast<int>(value.size()));
  }
  PGresult* raw =
      PQexecParams(connection_, statement.c_str(), static_cast<int>(parameters.size()),
                   parameters.types().data(), values.data(), lengths.data(), parameters.formats().data(), 1);
  QueryResult result(raw);  // owns raw from here
  const ExecStatusType status = raw == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(raw);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) return result_error(raw, connection_);
  return result;
}

Status Connection::execute_script(std::string_view sql) {
  const std::string script(sql);
  PGresult* result = PQexec(connection_, script.c_str());
  const ExecStatusType status = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
  Status outcome = ok_status();
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) outcome = result_error(result, connection_);
  if (result != nullptr) PQclear(result);
  return outcome;
}

int Connection::socket() const { return PQsocket(connection_); }

Result<std::vector<std::string>> Connection::take_notifications() {
  if (PQconsumeInput(connection_) == 0)
    return make_error("unavailable", "PostgreSQL: " + first_line(PQerrorMessage(connection_)));
  std::vector<std::string> payloads;
  while (PGnotify* notification = PQnotifies(connection_)) {
    payloads.emplace_back(notification->extra == nullptr ? "" : notification->extra);
    PQfreemem(notification);
  }
  if (broken()) return make_error("unavailable", "PostgreSQL: the connection was lost");
  return payloads;
}

void Connection::abandon_transaction() {
  if (PQtransactionStatus(connection_) == PQTRANS_IDLE || broken()) return;
  PGresult* result = PQexec(connection_, "ROLLBACK");
  if (result != nullptr) PQclear(result);
}

bool Connection::broken() const { return PQstatus(connection_) != CONNECTION_OK; }

Status Connection::reset() {
  PQreset(connection_);
  if (broken())
    return make_error("unavailable",
                      "PostgreSQL: cannot reconnect: " + first_line(PQerrorMessage(connection_)));
  return ok_status();
}

ConnectionPool::ConnectionPool(const crypto::SecretBytes& connection_string,
                               std::unique_ptr<Connection> first, std::size_t limit)
    : connection_string_(connection_string.clone()), limit_(std::max<std::size_t>(limit, 1)) {
  idle_.push_back(first.get());
  connections_.push_back(std::move(first));
}

Result<ConnectionPool::Lease> ConnectionPool::acquire() {
  Connection* connection = nullptr;
  {
    std::unique_lock lock(mutex_);
    freed_.wait(lock, [this] { return !idle_.empty() || connections_.size() + opening_ < limit_; });
    if (!idle_.empty()) {
      connection = idle_.back();
      idle_.pop_back();
    } else {
      ++opening_;
    }
  }
  if (connection == nullptr) {
    // Connect outside the lock: it takes a round trip or more.
    auto opened = Connection::open(connection_string_);
    const std::lock_guard lock(mutex_);
    --opening_;
    if (!opened.ok()) {
      freed_.notify_one();  // another waiter may try
      return std::move(opened).error();
    }
    connection = opened->get();
    connections_.push_back(std::move(opened).value());
  }
  Lease lease(*this, *connection);
  if (connection->broken()) CASEFILE_RETURN_IF_ERROR(connection->reset());
  return lease;
}

void ConnectionPool::give_back(Connection& connection) {
  {
    const std::lock_guard lock(mutex_);
    idle_.push_back(&connection);
  }
  freed_.notify_one();
}

}  // namespace casefile::server::postgres
