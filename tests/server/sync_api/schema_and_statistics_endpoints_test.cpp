// GET /v1/schema and GET /v1/admin/stats as handlers; statistics are read
// from the sync store's file exactly as casefiled and casefile-admin read it.
#include <gtest/gtest.h>

#include "schema/intake_schema.hpp"
#include "schema/schema_json.hpp"
#include "server/sync_api/schema_endpoint.hpp"
#include "server/sync_api/statistics_endpoint.hpp"
#include "sync/change_encoding.hpp"
#include "sync/record_state.hpp"
#include "sync_api_test_support.hpp"

namespace casefile::server {
namespace {

using namespace casefile::server::testing;

TEST(SchemaEndpointTest, ServesTheCurrentDeclarationWithAnETagThatRevalidates) {
  const SchemaEndpoint endpoint;
  Request request;
  request.method = "GET";
  request.path = request.target = "/v1/schema";
  const Response response = endpoint.get(request);
  EXPECT_EQ(response.status, 200u);
  EXPECT_EQ(schema::schema_from_json(response.body).value(), schema::current_declaration());
  EXPECT_NE(std::find(response.headers.begin(), response.headers.end(),
                      std::pair<std::string, std::string>{"ETag", endpoint.etag()}),
            response.headers.end());

  request.headers = {{"If-None-Match", "\"stale\", W/" + endpoint.etag()}};
  const Response unchanged = endpoint.get(request);
  EXPECT_EQ(unchanged.status, 304u);
  EXPECT_TRUE(unchanged.body.empty());
  request.headers = {{"If-None-Match", "\"stale\""}};
  EXPECT_EQ(endpoint.get(request).status, 200u);
}

class StatisticsEndpointTest : public ::testing::Test {
 protected:
  StatisticsEndpointTest() : key_(32) {
    std::fill(key_.data(), key_.data() + 32, 0x33);
    database_ = directory_.path() / "casefile.db";
    store_ = std::move(SqlcipherServerStore::open(database_, key_).value());
    lawyer_.context().member_cases = {case_number(1)};
    for (TestDevice* device : {&lawyer_, &admin_}) authenticator_.allow(device->token(), device->context());
    sync_ = std::make_unique<SyncEndpoints>(*store_, notifier_, authenticator_, nullptr, metrics_,
                                            SyncEndpointOptions{}, [] { return kNowMillis; });
    endpoint_ = std::make_unique<StatisticsEndpoint>(
        [this] { return read_statistics_snapshot(database_, key_); }, authenticator_,
        [this](const AuditEvent& event) {
          audit_.push_back(event);
          return ok_status();
        },
        [] { return kNowMillis; });
  }

  void write_records() {
    const sync::CaseId case_id = case_number(1);
    std::vector<sync::Change> changes = {
        lawyer_.new_case(case_id, record_number(1), "trial", "2025-03-10"),
        lawyer_.new_case(case_id, record_number(2), "appeal", "2025-04-01"),
        lawyer_.new_case(case_id, record_number(3), "trial", "2024-12-31"),  // before the range
        lawyer_.change(
            case_id, "interviews", record_number(4),
            {TestDevice::set("case_record", sync::to_text(record_number(1))),
             TestDevice::set("held_on", std::string("2025-03-11")),
             TestDevice::set("place_type", std::string("police_station")),
             TestDevice::set("status", std::string("draft")),
             TestDevice::set("notes", TestDevice::sealed(case_id, "interviews", record_number(4), "notes",
                                                         "the client described the cell"))})};
    const Response pushed =
        sync_->push(lawyer_.request("POST", "/v1/sync/push", lawyer_.push_body(std::move(changes))));
    ASSERT_EQ(pushed.status, 200u);
    ASSERT_EQ(pushed.body.find("refused"), std::string::npos) << pushed.body;
  }

  Response stats(TestDevice& device, const std::string& query) {
    return endpoint_->get(device.request("GET", "/v1/admin/stats?" + query));
  }

  TemporaryDirectory directory_;
  crypto::SecretBytes key_;
  std::filesystem::path database_;
  std::unique_ptr<SqlcipherServerStore> store_;
  ChangeNotifier notifier_;
  FakeAuthenticator authenticator_;
  MetricsRegistry metrics_;
  std::unique_ptr<SyncEndpoints> sync_;
  std::unique_ptr<StatisticsEndpoint> endpoint_;
  std::vector<AuditEvent> audit_;
  TestDevice lawyer_{1, "amina"};
  TestDevice admin_{2, "root", Role::admin};
};

TEST_F(StatisticsEndpointTest, AnAdminGetsTheFiguresOfTheRangeAsJsonOrCsv) {
  write_records();
  const Response response = stats(admin_, "from=2025-01-01&to=2025-12-31");
  ASSERT_EQ(response.status, 200u) << response.body;
  const auto body = body_json(response);
  EXPECT_EQ(body.at("cases_represented").at("total"), 2);
  EXPECT_EQ(body.at("cases_represented").at("by_stage").at("trial"), 1);
  EXPECT_EQ(body.at("cases_represented").at("by_stage").at("appeal"), 1);
  EXPECT_EQ(body.at("interviews_held").at("total"), 1);
  ASSERT_EQ(audit_.size(), 1u);
  EXPECT_EQ(audit_[0].event, "stats_read");

  const Response csv = stats(admin_, "from=2025-01-01&to=2025-12-31&format=csv");
  ASSERT_EQ(csv.status, 200u);
  EXPECT_EQ(csv.content_type, "text/csv; charset=utf-8");
  EXPECT_EQ(csv.body.rfind("measure,dimension,value,count\r\n", 0), 0u);
  EXPECT_NE(csv.body.find("cases_represented,total,,2\r\n"), std::string::npos) << csv.body;
}

TEST_F(StatisticsEndpointTest, OnlyAdminsMayReadStatisticsAndQueriesAreChecked) {
  const Response lawyer = stats(lawyer_, "from=2025-01-01&to=2025-12-31");
  EXPECT_EQ(lawyer.status, 403u);
  EXPECT_EQ(error_of(lawyer), "forbidden");
  EXPECT_EQ(error_of(stats(admin_, "from=2025-12-31&to=2025-01-01")), "invalid_date_range");
  EXPECT_EQ(error_of(stats(admin_, "from=2025-02-30&to=2025-12-31")), "invalid_query");
  EXPECT_EQ(error_of(stats(admin_, "from=2025-01-01&to=2025-12-31&format=xml")), "invalid_query");
  EXPECT_TRUE(audit_.empty());
}

// Statistics read clear fields only: garbage in every sealed value of every
// stored record leaves every figure as it was.
TEST_F(StatisticsEndpointTest, StatisticsNeverReadSealedValues) {
  write_records();
  const std::string before = stats(admin_, "from=2025-01-01&to=2025-12-31").body;
  store_.reset();

  auto database = schema::Database::open(database_, key_).value();
  std::vector<std::pair<crypto::Bytes, crypto::Bytes>> rewrites;  // (record_id, new state)
  {
    // A record created by one change keeps no state, only the change's
    // sequence (records.created_by): its state is that change applied.
    auto rows = database
                    .prepare(
                        "SELECT records.record_id, records.state, change_log.change_bytes FROM records "
                        "LEFT JOIN change_log ON change_log.sequence = records.created_by")
                    .value();
    while (*rows.step()) {
      sync::RecordState state(sync::RecordKey{});
      if (rows.column_is_null(1)) {
        const sync::Change change = sync::decode_change(rows.column_blob(2)).value();
        state = sync::RecordState(change.record);
        state.apply(change);
      } else {
        state = sync::decode_record_state(rows.column_blob(1)).value();
      }
      std::map<std::string, sync::FieldRegister> fields;
      int sealed_values = 0;
      for (const auto& [name, field_register] : state.fields()) {
        std::vector<sync::RegisterEntry> entries = field_register.entries();
        for (auto& entry : entries) {
          if (std::holds_alternative<sync::SealedValue>(entry.value)) {
            entry.value = sync::SealedValue{*crypto::random_bytes(57)};
            ++sealed_values;
          }
        }
        fields.emplace(name, sync::FieldRegister::from_parts(entries, field_register.superseded()));
      }
      EXPECT_EQ(sealed_values, 1);
      rewrites.emplace_back(rows.column_blob(0),
                            sync::encode_record_state(sync::RecordState::from_parts(
                                state.key(), fields, state.tombstones(), state.deleted_dots())));
    }
  }
  ASSERT_EQ(rewrites.size(), 4u);
  for (const auto& [record_id, state] : rewrites) {
    auto update =
        database.prepare("UPDATE records SET state = ?, created_by = NULL WHERE record_id = ?").value();
    update.bind_blob(1, state).bind_blob(2, record_id);
    ASSERT_TRUE(update.run().ok());
  }

  const std::string after = stats(admin_, "from=2025-01-01&to=2025-12-31").body;
  EXPECT_EQ(after, before);
  EXPECT_NE(after.find("\"total\":2"), std::string::npos) << after;
}

}  // namespace
}  // namespace casefile::server
