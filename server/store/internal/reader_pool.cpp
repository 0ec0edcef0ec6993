#include "server/store/internal/reader_pool.hpp"

#include <utility>

namespace casefile::server::internal {

Result<std::unique_ptr<ReaderPool>> ReaderPool::open(const std::filesystem::path& path,
                                                     const crypto::SecretBytes& key, std::size_t count,
                                                     const schema::DatabaseOptions& options) {
  std::vector<std::unique_ptr<schema::Database>> readers;
  readers.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    auto reader = schema::Database::open_reader(path, key, options);
    if (!reader.ok()) return std::move(reader).error();
    readers.push_back(std::make_unique<schema::Database>(std::move(reader).value()));
  }
  return std::unique_ptr<ReaderPool>(new ReaderPool(std::move(readers)));
}

ReaderPool::ReaderPool(std::vector<std::unique_ptr<schema::Database>> readers)
    : readers_(std::move(readers)) {
  for (auto& reader : readers_) idle_.push_back(reader.get());
}

ReaderPool::Lease ReaderPool::acquire() {
  std::unique_lock lock(mutex_);
  freed_.wait(lock, [this] { return !idle_.empty(); });
  schema::Database* database = idle_.back();
  idle_.pop_back();
  return Lease(*this, *database);
}

void ReaderPool::give_back(schema::Database& database) {
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(&database);
  }
  freed_.notify_one();
}

Result<ReadSnapshot> ReadSnapshot::begin(schema::Database& database) {
  // Deferred: a reader never asks for the write lock.
  CASEFILE_RETURN_IF_ERROR(database.execute("BEGIN"));
  return ReadSnapshot(database);
}

ReadSnapshot::~ReadSnapshot() {
  if (database_ != nullptr) (void)database_->execute("ROLLBACK");
}

}  // namespace casefile::server::internal
