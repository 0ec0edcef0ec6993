// Shared by the FieldDevice tests: fast-enough scrypt, valid records of the
// intake schema, file scans, and checks that fail the test with the error.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "device/field_device.hpp"
#include "sync/ids.hpp"
#include "tests/support/scratch_directory.hpp"

namespace casefile::device::testing {

using test_support::ScratchDirectory;

// The minimum key_file accepts, so that each unlock costs as little as it can.
inline constexpr crypto::ScryptParameters kTestScrypt{.n = 1u << 17, .r = 8, .p = 1};
inline constexpr std::int64_t kNow = 1'795'000'000'000;  // 2026-11-18

inline CreateOptions test_options(std::string duress = "", std::uint32_t lockout_after = 0) {
  CreateOptions options;
  options.duress_passphrase = std::move(duress);
  options.lockout_after = lockout_after;
  options.scrypt = kTestScrypt;
  return options;
}

#define CASEFILE_ASSERT_OK(expression)                                                \
  do {                                                                                \
    const auto& casefile_result_ = (expression);                                      \
    ASSERT_TRUE(casefile_result_.ok())                                                \
        << casefile_result_.error().code << ": " << casefile_result_.error().message; \
  } while (false)

// Creates a device or throws (tests wrap calls in ASSERT_NO_THROW where useful).
inline FieldDevice create_device(const std::filesystem::path& directory, std::string_view passphrase,
                                 const CreateOptions& options = test_options()) {
  auto device = FieldDevice::create(directory, passphrase, options);
  if (!device.ok())
    throw std::runtime_error("create: " + device.error().code + ": " + device.error().message);
  return std::move(device).value();
}

inline FieldDevice unlock_device(const std::filesystem::path& directory, std::string_view passphrase) {
  auto device = FieldDevice::unlock(directory, passphrase);
  if (!device.ok())
    throw std::runtime_error("unlock: " + device.error().code + ": " + device.error().message);
  return std::move(device).value();
}

// A valid `cases` record; the summary is sealed.
inline PlainFields case_fields(const std::string& summary) {
  return {{"stage", std::string("investigation")},
          {"province", std::string("Northern")},
          {"channel", std::string("duty_lawyer")},
          {"opened_on", std::string("2026-11-01")},
          {"summary", summary}};
}

// A valid draft interview of the case; notes and custody_treatment are sealed.
inline PlainFields interview_fields(const sync::CaseId& case_id, const std::string& notes) {
  return {{"held_on", std::string("2026-11-17")}, {"place_type", std::string("detention_centre")},
          {"status", std::string("draft")},       {"case_record", sync::to_text(case_id)},
          {"duration_minutes", std::int64_t{45}}, {"notes", notes}};
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Every regular file under `directory`, recursively.
inline std::vector<std::filesystem::path> files_in(const std::filesystem::path& directory) {
  std::vector<std::filesystem::path> files;
  if (!std::filesystem::exists(directory)) return files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(directory)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  return files;
}

// The names of the files that contain `needle`.
inline std::vector<std::string> files_containing(const std::filesystem::path& directory,
                                                 const std::string& needle) {
  std::vector<std::string> found;
  for (const auto& path : files_in(directory)) {
    if (read_file(path).find(needle) != std::string::npos) found.push_back(path.filename().string());
  }
  return found;
}

inline const FieldRead* find_field(const RecordRead& record, std::string_view name) {
  for (const FieldRead& field : record.fields) {
    if (field.name == name) return &field;
  }
  return nullptr;
}

}  // namespace casefile::device::testing
