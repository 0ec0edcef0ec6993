// Shared pieces of the sync API handler tests: a temporary instance of the
// stores, an authenticator that maps bearer tokens to fixed callers, and
// devices that write schema-valid changes and seal them into signed batches.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "crypto/ed25519.hpp"
#include "crypto/envelope.hpp"
#include "crypto/random.hpp"
#include "server/access/device_context.hpp"
#include "server/store/sqlcipher_server_store.hpp"
#include "server/sync_api/sync_endpoints.hpp"
#include "sync/batch.hpp"
#include "sync/change_json.hpp"
#include "tests/support/scratch_directory.hpp"

namespace casefile::server::testing {

namespace fs = std::filesystem;

inline constexpr std::uint64_t kNowMillis = 1'750'000'000'000;

template <typename IdType>
IdType numbered(std::uint8_t tag, std::uint64_t number) {
  IdType id;
  id.bytes[0] = tag;
  id.bytes[6] = 0x40;  // version 4, so the text is a plausible UUID
  id.bytes[8] = 0x80;
  for (int i = 0; i < 6; ++i) id.bytes[15 - i] = static_cast<std::uint8_t>(number >> (8 * i));
  return id;
}

inline sync::CaseId case_number(std::uint64_t n) { return numbered<sync::CaseId>(0xca, n); }
inline sync::RecordId record_number(std::uint64_t n) { return numbered<sync::RecordId>(0x7e, n); }

// A directory removed at the end of the test.
using TemporaryDirectory = test_support::ScratchDirectory;

// Bearer token -> caller, or the error a token maps to.
class FakeAuthenticator final : public RequestAuthenticator {
 public:
  void allow(const std::string& token, DeviceContext context) {
    const std::lock_guard lock(mutex_);
    callers_[token] = std::move(context);
  }
  void refuse(const std::string& token, Error error) {
    const std::lock_guard lock(mutex_);
    callers_.erase(token);
    refusals_[token] = std::move(error);
  }
  void set_cases(const std::string& token, std::set<sync::CaseId> cases) {
    const std::lock_guard lock(mutex_);
    callers_.at(token).member_cases = std::move(cases);
  }

  Result<DeviceContext> authenticate(const Request& request) const override {
    const std::string_view header = request.header("Authorization");
    const std::string token = header.starts_with("Bearer ") ? std::string(header.substr(7)) : std::string();
    const std::lock_guard lock(mutex_);
    if (auto found = callers_.find(token); found != callers_.end()) return found->second;
    if (auto found = refusals_.find(token); found != refusals_.end()) return found->second;
    return make_error("unauthenticated", "no valid bearer token");
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, DeviceContext> callers_;
  std::map<std::string, Error> refusals_;
};

// One device: its keys, its next sequence, and schema-valid changes.
class TestDevice {
 public:
  TestDevice(std::uint64_t number, std::string user, Role role = Role::lawyer)
      : key_(*crypto::Ed25519PrivateKey::generate()), token_("token-" + std::to_string(number)) {
    context_.device = numbered<sync::DeviceId>(0xd0, number);
    context_.user = std::move(user);
    context_.role = role;
    context_.signing_key = key_.public_key();
  }

  DeviceContext& context() { return context_; }
  const sync::DeviceId& id() const { return context_.device; }
  const std::string& token() const { return token_; }
  const crypto::Ed25519PrivateKey& key() const { return key_; }

  // A new case record with every required field, and a sealed summary.
  sync::Change new_case(const sync::CaseId& case_id, const sync::RecordId& record, const std::string& stage,
                        const std::string& opened_on = "2025-03-10") {
    return change(
        case_id, "cases", record,
        {set("channel", std::string("duty_lawyer")), set("opened_on", opened_on),
         set("province", std::string("north")), set("stage", stage),
         set("summary", sealed(case_id, "cases", record, "summary", "met the client at the gate"))});
  }

  sync::Change change(const sync::CaseId& case_id, const std::string& collection,
                      const sync::RecordId& record, std::vector<sync::Operation> operations) {
    sync::Change result{sync::ChangeId{context_.device, next_sequence_++},
                        sync::RecordKey{case_id, collection, record},
                        sync::Hlc::from_parts(kNowMillis - 1000, static_cast<std::uint32_t>(next_sequence_)),
                        std::move(operations)};
    sync::canonicalize_change(result);
    return result;
  }

  static sync::Operation set(const std::string& field, sync::FieldValue value) {
    return sync::Operation{sync::OperationKind::set_field, field, std::move(value), {}};
  }

  static sync::SealedValue sealed(const sync::CaseId& case_id, const std::string& collection,
                                  const sync::RecordId& record, const std::string& field,
                                  const std::string& plaintext) {
    static const crypto::Bytes case_key(32, 0x42);
    const std::string case_text = sync::to_text(case_id);
    const std::string record_text = sync::to_text(record);
    auto envelope = crypto::seal_field(crypto::FieldContext{case_text, collection, record_text, field}, 1,
                                       case_key, crypto::as_bytes(plaintext));
    EXPECT_TRUE(envelope.ok());
    return sync::SealedValue{*envelope};
  }

  // The push request body of `changes`, sealed in a new batch.
  std::string push_body(std::vector<sync::Change> changes) {
    auto batch =
        sync::seal_batch(numbered<sync::BatchId>(0xba, ++batches_ + (context_.device.bytes[15] << 16)), key_,
                         context_.device, std::move(changes));
    EXPECT_TRUE(batch.ok()) << batch.error().message;
    return sync::encode_push_request(*batch);
  }

  Request request(std::string method, std::string target, std::string body = {}) const {
    Request request;
    request.method = std::move(method);
    request.target = std::move(target);
    const auto question = request.target.find('?');
    request.path = request.target.substr(0, question);
    if (question != std::string::npos) request.query = request.target.substr(question + 1);
    request.headers = {{"Authorization", "Bearer " + token_}};
    if (!body.empty()) request.headers.emplace_back("Content-Type", "application/json");
    request.body = std::move(body);
    return request;
  }

 private:
  crypto::Ed25519PrivateKey key_;
  std::string token_;
  DeviceContext context_;
  std::uint64_t next_sequence_ = 1;
  std::uint64_t batches_ = 0;
};

inline boost::json::value body_json(const Response& response) { return boost::json::parse(response.body); }

inline std::string error_of(const Response& response) {
  const auto json = body_json(response);
  return std::string(json.at("error").as_string());
}

}  // namespace casefile::server::testing
