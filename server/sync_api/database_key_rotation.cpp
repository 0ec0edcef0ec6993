#include "server/sync_api/database_key_rotation.hpp"

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <system_error>

#include "schema/database.hpp"
#include "server/sync_api/database_key_file.hpp"
#include "server/sync_api/sqlcipher_key_wrap_store.hpp"

namespace casefile::server {
namespace {

struct RotationStatus {
  std::string state = "running";
  std::vector<std::pair<std::string, std::string>> databases;  // name, state
  std::optional<Error> error;
};

// Replaces the status file atomically (a reader sees the old or the new one).
Status write_status(const std::filesystem::path& key_file, const RotationStatus& status) {
  boost::json::array databases;
  for (const auto& [name, state] : status.databases) databases.push_back({{"name", name}, {"state", state}});
  boost::json::object object{{"state", status.state}, {"databases", std::move(databases)}};
  if (status.error) {
    object["error"] = status.error->code;
    object["message"] = status.error->message;
  }
  const std::filesystem::path path = rotation_status_path(key_file);
  std::filesystem::path staging = path;
  staging += ".tmp";
  {
    std::ofstream out(staging, std::ios::binary | std::ios::trunc);
    out << boost::json::serialize(object) << "\n";
    if (!out.flush()) return make_error("io_error", "cannot write " + staging.string());
  }
  if (std::rename(staging.c_str(), path.c_str()) != 0) {
    return make_error("io_error", "cannot rename " + staging.string());
  }
  return ok_status();
}

}  // namespace

std::vector<std::filesystem::path> instance_database_files(const std::filesystem::path& sync_database) {
  return {sync_database, sync_database.parent_path() / "control.db", key_wrap_database_path(sync_database)};
}

RotatingDatabase closed_database(const std::filesystem::path& file) {
  return RotatingDatabase{
      file.filename().string(),
      [file](const crypto::SecretBytes& current, const crypto::SecretBytes& next) -> Status {
        std::error_code error;
        if (!std::filesystem::exists(file, error)) return ok_status();
        auto database = schema::Database::open(file, current);
        if (database.ok()) return database->rekey(next);
        if (database.error().code != "wrong_key") return std::move(database).error();
        // Rekeyed before an interruption: the next key must open it.
        auto rekeyed = schema::Database::open(file, next);
        if (!rekeyed.ok()) {
          return make_error(rekeyed.error().code,
                            "neither the current nor the next key opens " + file.string());
        }
        return ok_status();
      }};
}

std::filesystem::path rotation_status_path(const std::filesystem::path& key_file) {
  return key_file.parent_path() / "database-key-rotation.json";
}

Status record_rotation_failure(const std::filesystem::path& key_file, const Error& error) {
  RotationStatus status;
  status.state = "failed";
  status.error = error;
  return write_status(key_file, status);
}

Status finish_database_key_rotation(const std::filesystem::path& key_file,
                                    const std::vector<RotatingDatabase>& databases,
                                    const std::function<void()>& on_promoted) {
  std::error_code exists_error;
  if (!std::filesystem::exists(next_database_key_path(key_file), exists_error)) {
    return make_error("no_rotation",
                      "no " + next_database_key_path(key_file).string() + ": nothing to finish");
  }
  auto current = read_database_key_file(key_file);
  if (!current.ok()) return std::move(current).error();
  auto next = read_database_key_file(next_database_key_path(key_file));
  if (!next.ok()) return std::move(next).error();

  RotationStatus status;
  for (const RotatingDatabase& database : databases) status.databases.emplace_back(database.name, "pending");
  CASEFILE_RETURN_IF_ERROR(write_status(key_file, status));
  for (std::size_t i = 0; i < databases.size(); ++i) {
    status.databases[i].second = "rekeying";
    CASEFILE_RETURN_IF_ERROR(write_status(key_file, status));
    Status rekeyed = databases[i].rekey(*current, *next);
    if (!rekeyed.ok()) {
      status.databases[i].second = "failed";
      status.state = "failed";
      status.error = rekeyed.error();
      (void)write_status(key_file, status);  // the rekey's error is the one to report
      return rekeyed;
    }
    status.databases[i].second = "rekeyed";
    CASEFILE_RETURN_IF_ERROR(write_status(key_file, status));
  }
  Status promoted = promote_next_database_key(key_file);
  if (promoted.ok() && on_promoted) on_promoted();
  status.state = promoted.ok() ? "done" : "failed";
  if (!promoted.ok()) status.error = promoted.error();
  CASEFILE_RETURN_IF_ERROR(write_status(key_file, status));
  return promoted;
}

}  // namespace casefile::server
