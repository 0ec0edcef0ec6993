#include "tools/casefile-admin/store_migration.hpp"

#include <signal.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "crypto/secret_bytes.hpp"
#include "schema/database.hpp"
#include "server/instance.hpp"
#include "server/store/postgres_connection.hpp"
#include "server/store/postgres_schema_migrations.hpp"
#include "server/sync_api/database_key_file.hpp"
#include "server/sync_api/sqlcipher_key_wrap_store.hpp"
#include "tools/casefile-device/progress_bar.hpp"

namespace casefile::admin {
namespace {

namespace fs = std::filesystem;
using server::postgres::Connection;
using server::postgres::Parameters;

enum class Kind { integer, blob, text };

struct Column {
  std::string source;  // the SQLCipher column
  std::string target;  // the PostgreSQL column
  Kind kind;
};

// One table to copy, ordered by its key so that pages are stable.
struct Table {
  std::string file;  // casefile.db, control.db or keys.db
  std::string source;
  std::string target;
  std::vector<Column> columns;
  std::string order_by;
};

Column integer(std::string name) { return {name, name, Kind::integer}; }
Column blob(std::string name) { return {name, name, Kind::blob}; }
Column text(std::string name) { return {name, name, Kind::text}; }

// Parents before children (foreign keys), the log before what points at it.
std::vector<Table> tables() {
  const std::string sync = "casefile.db";
  const std::string control = "control.db";
  const std::string keys = "keys.db";
  return {
      {sync,
       "batches",
       "batches",
       {blob("author"), blob("batch_id"), integer("tree_size"), blob("root"), blob("signature")},
       "author, batch_id"},
      {sync,
       "change_log",
       "change_log",
       {integer("sequence"), blob("device"), integer("device_sequence"), blob("case_id"),
        blob("change_bytes"), blob("leaf_hash"), blob("batch_id"), integer("leaf_index"),
        integer("tree_size"), blob("proof_path")},
       "sequence"},
      {sync,
       "records",
       "records",
       {blob("case_id"), text("collection"), blob("record_id"), integer("version"), blob("state"),
        integer("created_by")},
       "case_id, collection, record_id"},
      {sync,
       "attachment_uploads",
       "attachment_uploads",
       {text("upload_id"), blob("device"), blob("case_id"), blob("record_id"), integer("length"),
        integer("upload_offset"), integer("expires_at")},
       "upload_id"},
      {sync,
       "attachment_blobs",
       "attachment_blobs",
       {blob("case_id"), blob("record_id"), integer("size"), text("sha256"), blob("device"),
        integer("stored_at")},
       "case_id, record_id"},
      {keys,
       "key_epochs",
       "key_epochs",
       {blob("case_id"), integer("epoch"), blob("manifest"), blob("uploaded_by"), integer("uploaded_at")},
       "case_id, epoch"},
      {keys,
       "key_wraps",
       "key_wraps",
       {blob("case_id"), integer("epoch"), blob("recipient"), blob("wrap")},
       "case_id, epoch, recipient"},
      {control,
       "users",
       "users",
       {text("name"), text("role"), integer("disabled"), integer("created_at")},
       "name"},
      {control,
       "devices",
       "devices",
       {blob("id"),
        {"user", "user_name", Kind::text},
        blob("signing_key"),
        blob("wrapping_key"),
        text("state"),
        integer("enrolled_at"),
        blob("certificate"),
        blob("wipe_order")},
       "id"},
      {control,
       "enrolment_codes",
       "enrolment_codes",
       {blob("code_hash"), {"user", "user_name", Kind::text}, integer("expires_at"), integer("used")},
       "code_hash"},
      {control,
       "auth_challenges",
       "auth_challenges",
       {blob("challenge"), blob("device"), integer("expires_at"), integer("used")},
       "challenge"},
      {control,
       "tokens",
       "tokens",
       {blob("token_hash"), blob("device"), integer("expires_at")},
       "token_hash"},
      {control, "cases", "cases", {blob("id"), integer("created_at"), text("created_by")}, "id"},
      {control,
       "case_members",
       "case_members",
       {blob("case_id"), {"user", "user_name", Kind::text}, integer("added_at")},
       "case_id, user"},
      {control,
       "audit_log",
       "audit_log",
       {integer("sequence"), integer("time"), text("actor"), text("event"), text("subject"), text("details"),
        blob("hash")},
       "sequence"},
  };
}

constexpr std::int64_t kPageRows = 500;

std::string join(const std::vector<Column>& columns, bool target) {
  std::string list;
  for (const Column& column : columns)
    list += (list.empty() ? "" : ", ") + (target ? column.target : column.source);
  return list;
}

Result<std::int64_t> count_rows(schema::Database& database, const std::string& table) {
  auto statement = database.prepare("SELECT count(*) FROM " + table);
  if (!statement.ok()) return std::move(statement).error();
  auto row = statement->step();
  if (!row.ok()) return std::move(row).error();
  return statement->column_int64(0);
}

// Copies one table page by page; returns the rows it inserted (rows already
// in PostgreSQL, from an earlier run, are skipped).
Result<std::int64_t> copy_table(schema::Database& source, Connection& target, const Table& table,
                                device_tool::TerminalProgressBar& progress) {
  auto total = count_rows(source, table.source);
  if (!total.ok()) return std::move(total).error();
  std::string placeholders;
  for (std::size_t i = 0; i < table.columns.size(); ++i)
    placeholders += (i == 0 ? "$" : ", $") + std::to_string(i + 1);
  const std::string insert = "INSERT INTO " + table.target + " (" + join(table.columns, true) + ") VALUES (" +
                             placeholders + ") ON CONFLICT DO NOTHING";
  auto select = source.prepare("SELECT " + join(table.columns, false) + " FROM " + table.source +
                               " ORDER BY " + table.order_by + " LIMIT ?1 OFFSET ?2");
  if (!select.ok()) return std::move(select).error();
  std::int64_t copied = 0;
  std::int64_t inserted = 0;
  while (copied < *total) {
    select->reset();
    select->bind_int64(1, kPageRows).bind_int64(2, copied);
    Status page = server::postgres::in_transaction(target, "BEGIN", [&]() -> Status {
      for (;;) {
        auto row = select->step();
        if (!row.ok()) return std::move(row).error();
        if (!*row) return ok_status();
        Parameters parameters;
        for (std::size_t i = 0; i < table.columns.size(); ++i) {
          const int column = static_cast<int>(i);
          if (select->column_is_null(column)) {
            parameters.null();
          } else if (table.columns[i].kind == Kind::integer) {
            parameters.int64(select->column_int64(column));
          } else if (table.columns[i].kind == Kind::blob) {
            parameters.bytes(select->column_blob(column));
          } else {
            parameters.text(select->column_text(column));
          }
        }
        auto done = target.execute(insert, parameters);
        if (!done.ok()) return std::move(done).error();
        inserted += static_cast<std::int64_t>(done->affected_rows());
        ++copied;
      }
    });
    if (!page.ok()) return std::move(page).error();
    progress.show(table.target, static_cast<std::uint64_t>(copied), static_cast<std::uint64_t>(*total));
  }
  return inserted;
}

// The heads every later writer locks, and the instance epoch devices know.
Status finish(schema::Database& sync, Connection& target) {
  auto epoch = sync.prepare("SELECT epoch FROM instance_identity WHERE singleton = 1");
  if (!epoch.ok()) return std::move(epoch).error();
  auto row = epoch->step();
  if (!row.ok()) return std::move(row).error();
  if (!*row) return make_error("corrupt_instance", "casefile.db has no instance epoch");
  const crypto::Bytes epoch_bytes = epoch->column_blob(0);
  return server::postgres::in_transaction(target, "BEGIN", [&]() -> Status {
    for (const char* sql :
         {"UPDATE log_head SET last_sequence = (SELECT coalesce(max(sequence), 0) FROM change_log) "
          "WHERE singleton = 1",
          "UPDATE audit_head SET last_sequence = coalesce((SELECT max(sequence) FROM audit_log), 0), "
          "last_hash = coalesce((SELECT hash FROM audit_log ORDER BY sequence DESC LIMIT 1), last_hash) "
          "WHERE singleton = 1"}) {
      auto done = target.execute(sql);
      if (!done.ok()) return std::move(done).error();
    }
    auto done = target.execute("UPDATE instance_identity SET epoch = $1 WHERE singleton = 1",
                               Parameters().bytes(epoch_bytes));
    if (!done.ok()) return std::move(done).error();
    return ok_status();
  });
}

// casefiled.pid names a live process (a SIGKILLed casefiled leaves the file).
bool casefiled_running(const fs::path& pid_file) {
  std::ifstream in(pid_file);
  long pid = 0;
  return in >> pid && pid > 0 && ::kill(static_cast<pid_t>(pid), 0) == 0;
}

int run_migrate_to_postgres(const Options& options) {
  const auto url = options.value("postgres-url");
  if (!url) return usage_error("store migrate-to-postgres --postgres-url URL");
  const server::InstanceLayout layout(options.instance);
  if (!server::instance_exists(layout.root))
    return fail(options, make_error("no_instance", "no instance at " + layout.root.string()));
  if (casefiled_running(layout.root / "casefiled.pid")) {
    return fail(options, make_error("instance_running",
                                    "casefiled is running on this instance (casefiled.pid); stop it first"));
  }
  auto key = server::read_database_key_file(layout.database_key());
  if (!key.ok()) return fail(options, key.error());
  auto target = Connection::open(crypto::SecretBytes(crypto::as_bytes(*url)));
  if (!target.ok()) return fail(options, make_error("store_unavailable", target.error().message));
  Status migrated = server::migrate_postgres(**target, server::postgres_server_migrations());
  if (!migrated.ok()) return fail(options, migrated.error());

  std::map<std::string, schema::Database> sources;
  for (const std::string file : {"casefile.db", "control.db", "keys.db"}) {
    const fs::path path =
        file == "keys.db" ? server::key_wrap_database_path(layout.database()) : layout.root / file;
    // As the writer (casefiled is stopped): after a crash, only a writer may
    // recover the write-ahead log. A missing file is an error, not created.
    std::error_code missing;
    if (!fs::exists(path, missing))
      return fail(options, make_error("corrupt_instance", "missing " + path.string()));
    auto database = schema::Database::open(path, *key);
    if (!database.ok()) return fail(options, database.error());
    sources.emplace(file, std::move(*database));
  }
  device_tool::TerminalProgressBar progress(!options.json && device_tool::standard_error_is_terminal());
  boost::json::object copied;
  for (const Table& table : tables()) {
    auto inserted = copy_table(sources.at(table.file), **target, table, progress);
    if (!inserted.ok()) return fail(options, inserted.error());
    copied[table.target] = *inserted;
    if (!options.json) std::cerr << table.target << ": " << *inserted << " rows copied\n";
  }
  progress.finish();
  Status finished = finish(sources.at("casefile.db"), **target);
  if (!finished.ok()) return fail(options, finished.error());
  if (options.json) {
    print_json({{"copied", copied}});
  } else {
    std::cout << "migrated; now set [store] kind = \"postgres\" and postgres_url in casefiled.toml\n";
  }
  return kExitOk;
}

}  // namespace

bool is_store_command(const std::string& command) { return command == "store"; }

int run_store_command(const Options& options) {
  if (options.words.size() == 2 && options.words[1] == "migrate-to-postgres")
    return run_migrate_to_postgres(options);
  return usage_error("store migrate-to-postgres --postgres-url URL");
}

}  // namespace casefile::admin
