#include "base/result.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace casefile {
namespace {

Result<int> parse_positive(int input) {
  if (input <= 0) return make_error("not_positive", "value must be positive");
  return input;
}

Status check_both(int a, int b) {
  CASEFILE_RETURN_IF_ERROR(parse_positive(a));
  CASEFILE_RETURN_IF_ERROR(parse_positive(b));
  return ok_status();
}

TEST(Result, CarriesValueOrError) {
  auto good = parse_positive(3);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 3);

  auto bad = parse_positive(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "not_positive");
}

TEST(Result, ReturnIfErrorPropagatesTheFirstFailure) {
  EXPECT_TRUE(check_both(1, 2).ok());
  auto status = check_both(1, -2);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, "not_positive");
}

TEST(Result, HoldsMoveOnlyValues) {
  Result<std::unique_ptr<std::string>> result = std::make_unique<std::string>("kept");
  ASSERT_TRUE(result.ok());
  auto owned = std::move(result).value();
  EXPECT_EQ(*owned, "kept");
}

}  // namespace
}  // namespace casefile
