// The change log of a casefile instance, read straight from its casefile.db
// (SQLCipher, under the instance's database.key), for tests that compare what
// the server holds across a backup, a restore and a heal. Header-only.
#pragma once

#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>

#include "crypto/bytes.hpp"
#include "crypto/secret_bytes.hpp"
#include "schema/database.hpp"

namespace casefile::test_support {

// One logged change: its id (author device, device sequence), canonical
// bytes, and the signature of the batch it was accepted in.
struct ServerLoggedChange {
  crypto::Bytes author;
  std::int64_t device_sequence = 0;
  crypto::Bytes change_bytes;
  crypto::Bytes batch_signature;

  friend auto operator<=>(const ServerLoggedChange&, const ServerLoggedChange&) = default;
};

inline crypto::SecretBytes instance_database_key(const std::filesystem::path& instance) {
  std::ifstream in(instance / "database.key");
  std::string hex;
  std::getline(in, hex);
  crypto::Bytes bytes;
  if (!crypto::from_hex(hex, bytes)) throw std::runtime_error("malformed database.key");
  return crypto::SecretBytes(bytes);
}

// Every change of the log with its batch signature. A multiset: a change
// logged twice shows twice.
inline std::multiset<ServerLoggedChange> server_change_log(const std::filesystem::path& instance) {
  auto database = schema::Database::open_reader(instance / "casefile.db", instance_database_key(instance));
  if (!database.ok()) throw std::runtime_error("open casefile.db: " + database.error().message);
  auto select = database->prepare(
      "SELECT c.device, c.device_sequence, c.change_bytes, b.signature FROM change_log c JOIN batches b ON "
      "b.author = c.device AND b.batch_id = c.batch_id");
  if (!select.ok()) throw std::runtime_error(select.error().message);
  std::multiset<ServerLoggedChange> log;
  while (true) {
    auto row = select->step();
    if (!row.ok()) throw std::runtime_error(row.error().message);
    if (!*row) break;
    log.insert(
        {select->column_blob(0), select->column_int64(1), select->column_blob(2), select->column_blob(3)});
  }
  return log;
}

}  // namespace casefile::test_support
