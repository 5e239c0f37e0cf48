// Copyright 2026 The micro-nats Authors.
//
// go-micro's registry JSON as the NATS registry reads it from peers: a
// lookup answer (a Service) and a watch event (a Result: action and
// service). Whatever decodes must encode and decode back to the same
// value.

#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_input.h"
#include "registry/nats/internal/codec.h"

namespace {

using micro_nats::registry::Service;
using micro_nats::registry::registry_internal::DecodeResult;
using micro_nats::registry::registry_internal::DecodeService;
using micro_nats::registry::registry_internal::EncodeResult;
using micro_nats::registry::registry_internal::EncodeService;
using micro_nats::registry::registry_internal::Result;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view json = micro_nats::fuzz::AsView(data, size);

  if (absl::StatusOr<Service> service = DecodeService(json); service.ok()) {
    absl::StatusOr<Service> again = DecodeService(EncodeService(*service));
    FUZZ_CHECK(again.ok(), again.status().ToString());
    FUZZ_CHECK(*again == *service, "a service changed on its way round");
  } else {
    FUZZ_CHECK(absl::IsInvalidArgument(service.status()),
               service.status().ToString());
  }

  if (absl::StatusOr<Result> result = DecodeResult(json); result.ok()) {
    absl::StatusOr<Result> again = DecodeResult(EncodeResult(*result));
    FUZZ_CHECK(again.ok(), again.status().ToString());
    FUZZ_CHECK(
        again->action == result->action && again->service == result->service,
        "an event changed on its way round");
  } else {
    FUZZ_CHECK(absl::IsInvalidArgument(result.status()),
               result.status().ToString());
  }
  return 0;
}
