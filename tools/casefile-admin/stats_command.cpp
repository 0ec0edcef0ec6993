#include "tools/casefile-admin/stats_command.hpp"

#include <boost/json.hpp>
#include <iostream>
#include <string>
#include <vector>

#include "server/config.hpp"
#include "server/instance.hpp"
#include "server/sync_api/database_key_file.hpp"
#include "server/sync_api/statistics_endpoint.hpp"
#include "server/sync_api/statistics_snapshot.hpp"

namespace casefile::tools {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

constexpr const char* kStatsUsage =
    R"(usage: casefile-admin stats --from YYYY-MM-DD --to YYYY-MM-DD [--csv | --json]
                            [--instance DIR]

Impact statistics (cases represented, interviews held, outcomes reached, by stage,
province, outcome, channel, juvenile and disability) over the instance's records,
from clear fields only. Prints a table by default, RFC 4180 CSV with --csv, one JSON
object with --json.
)";

int usage_error(const std::string& message) {
  std::cerr << "casefile-admin stats: " << message << "\n\n" << kStatsUsage;
  return kExitUsage;
}

int failed(bool json, const Error& error) {
  if (json) {
    std::cout << boost::json::serialize(
                     boost::json::object{{"ok", false}, {"error", error.code}, {"message", error.message}})
              << "\n";
  } else {
    std::cerr << "casefile-admin: " << error.message << " (" << error.code << ")\n";
  }
  return kExitFailed;
}

void print_table(const boost::json::object& statistics) {
  std::cout << "from " << statistics.at("first_day").as_string().c_str() << " to "
            << statistics.at("last_day").as_string().c_str() << "\n";
  for (const char* measure : {"cases_represented", "interviews_held", "outcomes_reached"}) {
    const auto& breakdown = statistics.at(measure).as_object();
    std::cout << "\n" << measure << ": " << breakdown.at("total").to_number<std::uint64_t>() << "\n";
    for (const auto& [dimension, values] : breakdown) {
      if (!values.is_object()) continue;
      for (const auto& [value, count] : values.as_object()) {
        if (count.to_number<std::uint64_t>() == 0) continue;
        std::cout << "  " << std::string(dimension) << " = " << std::string(value) << ": "
                  << count.to_number<std::uint64_t>() << "\n";
      }
    }
  }
}

}  // namespace

int run_stats_command(int argc, char** argv) {
  std::string instance = "var";
  std::string from;
  std::string to;
  std::string format = "table";
  const std::vector<std::string> arguments(argv, argv + argc);
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    const std::string& argument = arguments[i];
    if (argument == "--csv" || argument == "--json") {
      if (format != "table") return usage_error("give at most one of --csv and --json");
      format = argument.substr(2);
    } else if (argument == "--from" || argument == "--to" || argument == "--instance") {
      if (i + 1 >= arguments.size()) return usage_error(argument + " needs a value");
      (argument == "--from" ? from : argument == "--to" ? to : instance) = arguments[++i];
    } else if (argument == "-h" || argument == "--help") {
      std::cout << kStatsUsage;
      return kExitOk;
    } else {
      return usage_error("unexpected argument " + argument);
    }
  }
  if (from.empty() || to.empty()) return usage_error("--from and --to are required");
  const bool json = format == "json";
  auto query = server::parse_statistics_query(from, to, format == "csv" ? "csv" : "json");
  if (!query.ok()) return usage_error(query.error().message);

  if (!server::instance_exists(instance))
    return failed(json, make_error("no_instance", "no instance at " + instance));
  auto config = server::load_config(server::InstanceLayout(instance).config());
  if (!config.ok()) return failed(json, config.error());
  auto key = server::read_database_key_file(config->database_key_file);
  if (!key.ok()) return failed(json, key.error());
  auto snapshot = server::read_statistics_snapshot(config->database, *key);
  if (!snapshot.ok()) return failed(json, snapshot.error());
  auto statistics = schema::compute_impact_statistics(snapshot->records(), query->range);
  if (!statistics.ok()) return failed(json, statistics.error());

  if (format == "csv") {
    std::cout << schema::impact_statistics_to_csv(*statistics);
  } else if (json) {
    boost::json::object object = schema::impact_statistics_to_json(*statistics).as_object();
    object["ok"] = true;
    std::cout << boost::json::serialize(object) << "\n";
  } else {
    print_table(schema::impact_statistics_to_json(*statistics).as_object());
  }
  return kExitOk;
}

}  // namespace casefile::tools
