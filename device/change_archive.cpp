#include "device/change_archive.hpp"

#include <algorithm>
#include <limits>

#include "sync/change_encoding.hpp"

namespace casefile::device {
namespace {

constexpr std::uint64_t kMaxStored = std::numeric_limits<std::int64_t>::max();

Error unavailable(const Error& cause) {
  return make_error("store_unavailable", cause.code + ": " + cause.message);
}

Error corrupt_row(const std::string& detail) {
  return make_error("store_unavailable", "corrupt: archive_changes (" + detail + ")");
}

template <typename Tag>
crypto::ByteView id_bytes(const sync::Id128<Tag>& id) {
  return {id.bytes.data(), id.bytes.size()};
}

// Copies a column into a fixed-size array; false when the length differs.
template <std::size_t Size>
bool copy_column(const schema::Statement& statement, int column, std::array<std::uint8_t, Size>& out) {
  const crypto::Bytes bytes = statement.column_blob(column);
  if (bytes.size() != Size) return false;
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return true;
}

crypto::Bytes encode_path(const std::vector<sync::MerkleHash>& path) {
  crypto::Bytes bytes;
  bytes.reserve(path.size() * sizeof(sync::MerkleHash));
  for (const sync::MerkleHash& hash : path) bytes.insert(bytes.end(), hash.begin(), hash.end());
  return bytes;
}

std::optional<std::vector<sync::MerkleHash>> decode_path(const crypto::Bytes& bytes) {
  constexpr std::size_t kHashSize = sizeof(sync::MerkleHash);
  if (bytes.size() % kHashSize != 0) return std::nullopt;
  std::vector<sync::MerkleHash> path(bytes.size() / kHashSize);
  for (std::size_t i = 0; i < path.size(); ++i) {
    std::copy(bytes.begin() + static_cast<std::ptrdiff_t>(i * kHashSize),
              bytes.begin() + static_cast<std::ptrdiff_t>((i + 1) * kHashSize), path[i].begin());
  }
  return path;
}

std::optional<std::string> optional_text(const schema::Statement& statement, int column) {
  if (statement.column_is_null(column)) return std::nullopt;
  return statement.column_text(column);
}

}  // namespace

Status ChangeArchive::add(const std::vector<sync::BatchHeader>& headers,
                          const std::vector<sync::SignedChange>& changes) {
  if (changes.empty()) return ok_status();
  // Refuse what cannot be archived before anything is written.
  for (const sync::SignedChange& signed_change : changes) {
    const bool has_header = std::any_of(headers.begin(), headers.end(), [&](const sync::BatchHeader& header) {
      return header.id == signed_change.proof.batch && header.author == signed_change.change.id.device;
    });
    if (!has_header) return make_error("invalid_argument", "an archived change has no batch header");
    if (signed_change.change.id.sequence == 0 || signed_change.change.id.sequence > kMaxStored ||
        signed_change.proof.leaf_index > kMaxStored) {
      return make_error("invalid_argument", "an archived change's sequence or leaf index is out of range");
    }
  }
  auto insert_batch = database_->prepare(
      "INSERT OR IGNORE INTO archive_batches (author, batch_id, tree_size, root, signature) "
      "VALUES (?, ?, ?, ?, ?)");
  auto find_batch =
      database_->prepare("SELECT batch_key FROM archive_batches WHERE author = ? AND batch_id = ?");
  auto insert_change = database_->prepare(
      "INSERT OR IGNORE INTO archive_changes (case_id, author, sequence, batch_key, leaf_index, proof_path, "
      "change) VALUES (?, ?, ?, ?, ?, ?, ?)");
  if (!insert_batch.ok()) return unavailable(insert_batch.error());
  if (!find_batch.ok()) return unavailable(find_batch.error());
  if (!insert_change.ok()) return unavailable(insert_change.error());
  std::vector<std::pair<const sync::BatchHeader*, std::int64_t>> keys;
  auto batch_key = [&](const sync::BatchHeader& header) -> Result<std::int64_t> {
    for (const auto& [known, key] : keys) {
      if (known == &header) return key;
    }
    if (header.tree_size == 0 || header.tree_size > kMaxStored) {
      return make_error("invalid_argument", "a batch header's tree size is out of range");
    }
    insert_batch->bind_blob(1, id_bytes(header.author))
        .bind_blob(2, id_bytes(header.id))
        .bind_int64(3, static_cast<std::int64_t>(header.tree_size))
        .bind_blob(4, {header.root.data(), header.root.size()})
        .bind_blob(5, {header.signature.data(), header.signature.size()});
    if (auto inserted = insert_batch->run(); !inserted.ok()) return unavailable(inserted.error());
    insert_batch->reset();
    find_batch->bind_blob(1, id_bytes(header.author)).bind_blob(2, id_bytes(header.id));
    auto row = find_batch->step();
    if (!row.ok()) return unavailable(row.error());
    if (!*row) return make_error("store_unavailable", "corrupt: archive_batches lost a row");
    const std::int64_t key = find_batch->column_int64(0);
    find_batch->reset();
    keys.emplace_back(&header, key);
    return key;
  };
  for (const sync::SignedChange& signed_change : changes) {
    const auto header = std::find_if(headers.begin(), headers.end(), [&](const sync::BatchHeader& candidate) {
      return candidate.id == signed_change.proof.batch && candidate.author == signed_change.change.id.device;
    });
    auto key = batch_key(*header);
    if (!key.ok()) return std::move(key).error();
    const sync::Change& change = signed_change.change;
    insert_change->bind_blob(1, id_bytes(change.record.case_id))
        .bind_blob(2, id_bytes(change.id.device))
        .bind_int64(3, static_cast<std::int64_t>(change.id.sequence))
        .bind_int64(4, *key)
        .bind_int64(5, static_cast<std::int64_t>(signed_change.proof.leaf_index))
        .bind_blob(6, encode_path(signed_change.proof.path))
        .bind_blob(7, sync::encode_change(change));
    if (auto inserted = insert_change->run(); !inserted.ok()) return unavailable(inserted.error());
    insert_change->reset();
  }
  return ok_status();
}

Result<ArchivedRun> ChangeArchive::read_run(std::uint64_t after_position, std::size_t max_changes,
                                            const std::function<bool(const sync::CaseId&)>& relay) {
  ArchivedRun run;
  run.last_position = after_position;
  if (max_changes == 0 || after_position >= kMaxStored) return run;
  // Rows are read a page at a time; rows of cases not relayed are passed over
  // (and counted as read), and the run ends at the first relayed row of
  // another batch.
  constexpr std::int64_t kPage = 1000;
  auto select = database_->prepare(
      "SELECT c.position, c.case_id, c.batch_key, c.leaf_index, c.proof_path, c.change, b.author, "
      "b.batch_id, b.tree_size, b.root, b.signature FROM archive_changes c JOIN archive_batches b ON "
      "b.batch_key = c.batch_key WHERE c.position > ? ORDER BY c.position LIMIT ?");
  if (!select.ok()) return unavailable(select.error());
  std::optional<std::int64_t> run_key;
  while (true) {
    select->reset();
    select->bind_int64(1, static_cast<std::int64_t>(run.last_position)).bind_int64(2, kPage);
    std::int64_t rows = 0;
    while (true) {
      auto row = select->step();
      if (!row.ok()) return unavailable(row.error());
      if (!*row) break;
      ++rows;
      const auto position = static_cast<std::uint64_t>(select->column_int64(0));
      sync::CaseId case_id;
      if (!copy_column(*select, 1, case_id.bytes)) return corrupt_row("a case id is not 16 bytes");
      if (!relay(case_id)) {
        run.last_position = position;
        continue;
      }
      const std::int64_t key = select->column_int64(2);
      if (run_key && (*run_key != key || run.batch->changes.size() >= max_changes)) return run;
      if (!run_key) {
        run_key = key;
        sync::BatchHeader header;
        if (!copy_column(*select, 6, header.author.bytes) || !copy_column(*select, 7, header.id.bytes) ||
            !copy_column(*select, 9, header.root) || !copy_column(*select, 10, header.signature)) {
          return make_error("store_unavailable", "corrupt: archive_batches (a column has the wrong size)");
        }
        header.tree_size = static_cast<std::uint64_t>(select->column_int64(8));
        run.batch = sync::Batch{header, {}};
      }
      auto change = sync::decode_change(select->column_blob(5));
      if (!change.ok()) return corrupt_row(change.error().code);
      auto path = decode_path(select->column_blob(4));
      if (!path) return corrupt_row("an inclusion path is malformed");
      sync::ChangeProof proof{run.batch->header.id, static_cast<std::uint64_t>(select->column_int64(3)),
                              run.batch->header.tree_size, std::move(*path)};
      run.batch->changes.push_back(sync::SignedChange{std::move(*change), std::move(proof)});
      run.last_position = position;
    }
    if (rows < kPage) return run;
  }
}

Result<std::uint64_t> ChangeArchive::count_after(std::uint64_t after_position) {
  auto select = database_->prepare("SELECT count(*) FROM archive_changes WHERE position > ?");
  if (!select.ok()) return unavailable(select.error());
  select->bind_int64(1, static_cast<std::int64_t>(std::min(after_position, kMaxStored)));
  auto row = select->step();
  if (!row.ok()) return unavailable(row.error());
  if (!*row) return corrupt_row("count returned no row");
  return static_cast<std::uint64_t>(select->column_int64(0));
}

Status ChangeArchive::purge_case(const sync::CaseId& case_id) {
  auto remove = database_->prepare("DELETE FROM archive_changes WHERE case_id = ?");
  if (!remove.ok()) return unavailable(remove.error());
  remove->bind_blob(1, id_bytes(case_id));
  if (auto removed = remove->run(); !removed.ok()) return unavailable(removed.error());
  auto orphans = database_->prepare(
      "DELETE FROM archive_batches WHERE NOT EXISTS (SELECT 1 FROM archive_changes c WHERE c.batch_key = "
      "archive_batches.batch_key)");
  if (!orphans.ok()) return unavailable(orphans.error());
  if (auto removed = orphans->run(); !removed.ok()) return unavailable(removed.error());
  return ok_status();
}

Result<InstanceEpochState> ChangeArchive::epoch_state() {
  auto select = database_->prepare(
      "SELECT epoch, healing_epoch, healed_through FROM server_instance WHERE singleton = 1");
  if (!select.ok()) return unavailable(select.error());
  auto row = select->step();
  if (!row.ok()) return unavailable(row.error());
  if (!*row) return make_error("store_unavailable", "corrupt: server_instance (its row is missing)");
  return InstanceEpochState{optional_text(*select, 0), optional_text(*select, 1),
                            static_cast<std::uint64_t>(select->column_int64(2))};
}

Status ChangeArchive::save_epoch_state(const InstanceEpochState& state) {
  auto update = database_->prepare(
      "UPDATE server_instance SET epoch = ?, healing_epoch = ?, healed_through = ? WHERE singleton = 1");
  if (!update.ok()) return unavailable(update.error());
  if (state.epoch) {
    update->bind_text(1, *state.epoch);
  } else {
    update->bind_null(1);
  }
  if (state.healing_epoch) {
    update->bind_text(2, *state.healing_epoch);
  } else {
    update->bind_null(2);
  }
  update->bind_int64(3, static_cast<std::int64_t>(std::min(state.healed_through, kMaxStored)));
  if (auto updated = update->run(); !updated.ok()) return unavailable(updated.error());
  if (database_->changes() != 1) return make_error("store_unavailable", "corrupt: server_instance (no row)");
  return ok_status();
}

}  // namespace casefile::device
