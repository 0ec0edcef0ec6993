// CASEFILE_ASSIGN_OR_RETURN(name, expr): evaluates `expr` (a Result<T>),
// returns its error from the enclosing function, or binds its value to `name`.
#pragma once

#include <utility>

#define CASEFILE_ASSIGN_OR_RETURN(name, expr) \
  auto name##_result = (expr);                \
  if (!name##_result.ok()) {                  \
    return std::move(name##_result).error();  \
  }                                           \
  auto name = std::move(*name##_result)
