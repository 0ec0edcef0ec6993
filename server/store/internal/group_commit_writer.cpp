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

// Savepoints are not free: in WAL mode SQLite copies every page a savepoint
// dirties into a sub-journal: 10-20% of ingest time with 500-change commits
// (docs/benchmarks.md). Conflicts are rare (two pushes racing on one
// record), so a group is first written without savepoints; only if one of
// its commits conflicts is the group rolled back and written again with a
// savepoint a commit, so that the conflict is rolled back alone.
Result<std::vector<std::optional<Result<std::vector<std::uint64_t>>>>> GroupCommitWriter::write_group(
    const std::vector<Pending*>& group) {
  std::vector<std::optional<Result<std::vector<std::uint64_t>>>> answers(group.size());
  for (const bool with_savepoints : {false, true}) {
    auto transaction = database_.begin();
    if (!transaction.ok()) return std::move(transaction).error();
    auto head = read_head(database_);
    if (!head.ok()) return std::move(head).error();
    std::uint64_t sequence = *head;
    bool conflicted = false;
    for (std::size_t i = 0; i < group.size() && !conflicted; ++i) {
      if (with_savepoints) {
        auto answer = write_in_savepoint(database_, *group[i]->rows, sequence);
        if (!answer.ok()) return std::move(answer).error();  // drops the transaction: all rolled back
        answers[i] = std::move(answer).value();
        continue;
      }
      auto sequences = write_push_commit(database_, *group[i]->rows, sequence + 1);
      if (!sequences.ok() && sequences.error().code != "store_conflict") return std::move(sequences).error();
      conflicted = !sequences.ok();
      if (!conflicted) sequence += sequences->size();
      answers[i] = std::move(sequences);
    }
    if (conflicted) continue;  // drops the transaction: rolled back, then written with savepoints
    // synchronous=FULL: the WAL is fsynced before commit() returns.
    CASEFILE_RETURN_IF_ERROR(transaction->commit());
    return answers;
  }
  return make_error("database_error", "a group conflicted even when written with savepoints");
}

void GroupCommitWriter::commit_group(std::vector<Pending*>& group) {
  auto written = write_group(group);
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
      answer.set_value(std::move(*(*written)[i]));
    } else {
      // Nothing of the group was committed; every caller may retry.
      answer.set_value(store_unavailable(written.error()));
    }
  }
}

}  // namespace casefile::server::internal
