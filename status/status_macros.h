// Copyright 2026 The micro-nats Authors.
//
// status_macros.h: early-return helpers for absl::Status and absl::StatusOr.
//
// Debian's Abseil has no status macros; these have the shape of the ones in
// newer Abseil and in Google's code bases, so moving is a rename.
//
//   absl::StatusOr<Service> Lookup(absl::string_view name) {
//     MN_RETURN_IF_ERROR(ValidateName(name));
//     MN_ASSIGN_OR_RETURN(std::vector<Service> found,
//                         registry.GetService(name));
//     return found.front();
//   }

#ifndef MICRO_NATS_STATUS_STATUS_MACROS_H_
#define MICRO_NATS_STATUS_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// MN_RETURN_IF_ERROR
//
// Evaluates its argument (an absl::Status or absl::StatusOr) once and returns
// its status from the enclosing function when it is not OK. Variadic so that
// an expression with a template's comma in it, e.g.
// `MN_RETURN_IF_ERROR(server.Handle<Req, Resp>("E", fn))`, needs no extra
// parentheses.
#define MN_RETURN_IF_ERROR(...)                                  \
  do {                                                           \
    const absl::Status mn_status_ =                              \
        ::micro_nats::status_internal::AsStatus((__VA_ARGS__));  \
    if (ABSL_PREDICT_FALSE(!mn_status_.ok())) return mn_status_; \
  } while (false)

// MN_ASSIGN_OR_RETURN
//
// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status from
// the enclosing function, otherwise moves the value into `lhs`, which may be
// a declaration (`auto x`) or an existing variable.
#define MN_ASSIGN_OR_RETURN(lhs, rexpr)                                       \
  MN_ASSIGN_OR_RETURN_IMPL_(MN_STATUS_MACROS_CONCAT_(mn_statusor_, __LINE__), \
                            lhs, rexpr)

#define MN_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                              \
  if (ABSL_PREDICT_FALSE(!statusor.ok())) {             \
    return std::move(statusor).status();                \
  }                                                     \
  lhs = std::move(statusor).value()

#define MN_STATUS_MACROS_CONCAT_INNER_(x, y) x##y
#define MN_STATUS_MACROS_CONCAT_(x, y) MN_STATUS_MACROS_CONCAT_INNER_(x, y)

namespace micro_nats::status_internal {

inline const absl::Status& AsStatus(const absl::Status& status) {
  return status;
}

template <typename T>
const absl::Status& AsStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

}  // namespace micro_nats::status_internal

#endif  // MICRO_NATS_STATUS_STATUS_MACROS_H_
