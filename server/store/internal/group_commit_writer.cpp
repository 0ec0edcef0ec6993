#include "server/store/internal/group_commit_writer.hpp"

#include <optional>
#include <utility>

#include "server/store/internal/column_values.hpp"

namespace casefile::server::internal {
namespace {

Result<std::uint64_t> read_head(schema::Database& database) {
  auto head = database.prepare("SELECT coalesce(max(sequence), 0) FROM change_log");
  if (!head.ok()) return std::move(head).error();
  auto row = head->step();
  if (!row.ok()) return std::move(row).error();
  return from_column(head->column_int64(0));
}

// One commit inside the group transaction. A store_conflict is rolled back
// to the savepoint and returned as the commit's answer; any other error is
// returned for the whole group to fail.
Result<Result<std::vector<std::uint64_t>>> write_in_savepoint(schema::Database& database,
                                                              const PushCommitRows& rows,
                                                              std::uint64_t& head) {
  CASEFILE_RETURN_IF_ERROR(database.execute("SAVEPOINT push_commit"));
  auto sequences = write_push_commit(database, rows, head + 1);
  if (sequences.ok()) {
    CASEFILE_RETURN_IF_ERROR(database.execute("RELEASE push_commit"));
    head += sequences->size();
    return sequences;
  }
  if (sequences.error().code != "store_conflict") return std::move(sequences).error();
  CASEFILE_RETURN_IF_ERROR(database.execute("ROLLBACK TO push_commit; RELEASE push_commit"));
  return sequences;
}

}  // namespace

GroupCommitWriter::GroupCommitWriter(schema::Database database, std::size_t max_group_commits)
    : database_(std::move(database)), max_group_commits_(max_group_commits), thread_([this] { run(); }) {}

GroupCommitWriter::~GroupCommitWriter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

Result<std::vector<std::uint64_t>> GroupCommitWriter::commit(const PushCommitRows& rows) {
  Pending pending{&rows, {}};
  auto answer = pending.answer.get_future();
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return make_error("store_unavailable", "the server store is closing");
    queue_.push_back(&pending);
  }
  wake_.notify_one();
  return answer.get();
}

std::uint64_t GroupCommitWriter::groups_committed() const {
  std::lock_guard lock(mutex_);
  return groups_;
}

std::uint64_t GroupCommitWriter::commits_answered() const {
  std::lock_guard lock(mutex_);
  return commits_;
}

std::size_t GroupCommitWriter::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

std::size_t GroupCommitWriter::writing() const {
  std::lock_guard lock(mutex_);
  return writing_;
}

void GroupCommitWriter::run() {
  std::vector<Pending*> group;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued was answered
      while (!queue_.empty() && group.size() < max_group_commits_) {
        group.push_back(queue_.front());
        queue_.pop_front();
      }
      writing_ = group.size();
    }
    commit_group(group);
    group.clear();
  }
}

void GroupCommitWriter::commit_group(std::vector<Pending*>& group) {
  std::vector<std::optional<Result<std::vector<std::uint64_t>>>> answers(group.size());
  const Status written = [&]() -> Status {
    auto transaction = database_.begin();
    if (!transaction.ok()) return std::move(transaction).error();
    auto head = read_head(database_);
    if (!head.ok()) return std::move(head).error();
    std::uint64_t sequence = *head;
    for (std::size_t i = 0; i < group.size(); ++i) {
      auto answer = write_in_savepoint(database_, *group[i]->rows, sequence);
      if (!answer.ok()) return std::move(answer).error();  // drops the transaction: all rolled back
      answers[i] = std::move(answer).value();
    }
    // synchronous=FULL: the WAL is fsynced before commit() returns.
    return transaction->commit();
  }();
  {
    std::lock_guard lock(mutex_);
    if (written.ok()) ++groups_;
    commits_ += group.size();
    writing_ = 0;
  }
  for (std::size_t i = 0; i < group.size(); ++i) {
    // Moved out first: the caller destroys its Pending as soon as the answer is ready.
    auto answer = std::move(group[i]->answer);
    if (written.ok()) {
      answer.set_value(std::move(*answers[i]));
    } else {
      // Nothing of the group was committed; every caller may retry.
      answer.set_value(store_unavailable(written.error()));
    }
  }
}

}  // namespace casefile::server::internal
