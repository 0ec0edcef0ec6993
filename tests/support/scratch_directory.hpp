// A fresh directory under the system temporary directory, removed with its
// contents when the object is destroyed; and fresh random database keys.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "crypto/random.hpp"
#include "crypto/secret_bytes.hpp"

namespace casefile::test_support {

class ScratchDirectory {
 public:
  ScratchDirectory() {
    std::string pattern = (std::filesystem::temp_directory_path() / "casefile-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~ScratchDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDirectory(const ScratchDirectory&) = delete;
  ScratchDirectory& operator=(const ScratchDirectory&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path file(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline crypto::SecretBytes random_database_key() {
  auto key = crypto::random_secret(32);
  if (!key.ok()) throw std::runtime_error("random_secret failed: " + key.error().message);
  return std::move(key).value();
}

}  // namespace casefile::test_support
