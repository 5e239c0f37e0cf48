// Copyright 2026 The micro-nats Authors.
//
// schema.h: checks NATS Service API answers against ADR-32's JSON schemas
// (srv/testdata/schemas), for tests.
//
// Runs srv/testing/check_schema.py with Debian's python3-jsonschema; a
// test using it needs `data = ["//srv:schema_check_data"]`.
//
//   EXPECT_THAT(srv::testing::CheckAgainstSchema(srv::Verb::kInfo, json),
//               IsOk());

#ifndef MICRO_NATS_SRV_TESTING_SCHEMA_H_
#define MICRO_NATS_SRV_TESTING_SCHEMA_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "srv/protocol.h"

namespace micro_nats::srv::testing {

// OK when `json` is valid against the schema of `verb`'s answer;
// InvalidArgument listing what is not; Internal when the checker cannot
// run.
absl::Status CheckAgainstSchema(Verb verb, absl::string_view json);

}  // namespace micro_nats::srv::testing

#endif  // MICRO_NATS_SRV_TESTING_SCHEMA_H_
