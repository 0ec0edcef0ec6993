// The store's single writer: a thread that owns the writer connection and
// commits queued pushes in groups, one transaction and one fsync a group.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/result.hpp"
#include "schema/database.hpp"
#include "server/store/internal/push_commit_rows.hpp"

namespace casefile::server::internal {

class GroupCommitWriter {
 public:
  // Takes the writer connection (already migrated); starts the thread.
  // REQUIRES: max_group_commits >= 1.
  GroupCommitWriter(schema::Database database, std::size_t max_group_commits);
  // Answers every queued commit, then joins the thread.
  ~GroupCommitWriter();
  GroupCommitWriter(const GroupCommitWriter&) = delete;
  GroupCommitWriter& operator=(const GroupCommitWriter&) = delete;

  // Queues `rows` and blocks until its group is committed (or it is refused).
  Result<std::vector<std::uint64_t>> commit(const PushCommitRows& rows);

  std::uint64_t groups_committed() const;
  std::uint64_t commits_answered() const;
  std::size_t queued() const;
  // Commits of the group being written now (0 when the writer is idle).
  std::size_t writing() const;

 private:
  struct Pending {
    const PushCommitRows* rows;
    std::promise<Result<std::vector<std::uint64_t>>> answer;
  };

  void run();
  // Writes one group in one transaction and commits it: each commit's answer
  // (its sequences, or its store_conflict), or the error that failed them all.
  Result<std::vector<std::optional<Result<std::vector<std::uint64_t>>>>> write_group(
      const std::vector<Pending*>& group);
  // Writes and commits one group, then answers each of its callers.
  void commit_group(std::vector<Pending*>& group);

  schema::Database database_;  // used by the writer thread only, after construction
  const std::size_t max_group_commits_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending*> queue_;  // GUARDED_BY(mutex_)
  bool stopping_ = false;       // GUARDED_BY(mutex_)
  std::uint64_t groups_ = 0;    // GUARDED_BY(mutex_)
  std::uint64_t commits_ = 0;   // GUARDED_BY(mutex_)
  std::size_t writing_ = 0;     // GUARDED_BY(mutex_)
  std::thread thread_;          // last: starts once everything above exists
};

}  // namespace casefile::server::internal
