// A fixed set of read-only connections shared by the store's readers. WAL
// lets each read a consistent snapshot while the writer writes.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

#include "base/result.hpp"
#include "crypto/secret_bytes.hpp"
#include "schema/database.hpp"

namespace casefile::server::internal {

class ReaderPool {
 public:
  // Opens `count` readers. REQUIRES: count >= 1, and the writer has created
  // the file in WAL mode.
  static Result<std::unique_ptr<ReaderPool>> open(const std::filesystem::path& path,
                                                  const crypto::SecretBytes& key, std::size_t count,
                                                  const schema::DatabaseOptions& options);

  // One connection, for one thread, until the lease is dropped.
  class Lease {
   public:
    Lease(ReaderPool& pool, schema::Database& database) : pool_(&pool), database_(&database) {}
    Lease(Lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)), database_(std::exchange(other.database_, nullptr)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (pool_ != nullptr) pool_->give_back(*database_);
    }
    schema::Database& database() { return *database_; }

   private:
    ReaderPool* pool_;
    schema::Database* database_;
  };

  // Waits until a connection is free.
  Lease acquire();

 private:
  explicit ReaderPool(std::vector<std::unique_ptr<schema::Database>> readers);
  void give_back(schema::Database& database);

  std::vector<std::unique_ptr<schema::Database>> readers_;
  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<schema::Database*> idle_;  // GUARDED_BY(mutex_)
};

// A read transaction on a reader connection, so that several queries see one
// snapshot. Ends (ROLLBACK: nothing to keep) when dropped.
class ReadSnapshot {
 public:
  static Result<ReadSnapshot> begin(schema::Database& database);
  ReadSnapshot(ReadSnapshot&& other) noexcept : database_(std::exchange(other.database_, nullptr)) {}
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(ReadSnapshot&&) = delete;
  ~ReadSnapshot();

 private:
  explicit ReadSnapshot(schema::Database& database) : database_(&database) {}
  schema::Database* database_;
};

}  // namespace casefile::server::internal
