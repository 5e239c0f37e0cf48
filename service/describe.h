// Copyright 2026 The micro-nats Authors.
//
// describe.h: a protobuf message type as go-micro's registry describes a
// request or response: a tree of registry::Value {name, type, values}.
//
// go-micro builds these by reflecting over Go structs; we read the protobuf
// descriptor, giving the same shape: the top value is named after the
// message type, each field is a value named after the field (its proto
// name, which is the JSON key go-micro's generated structs use) with its
// type — a scalar's proto type (`string`, `int64`, `bytes`, ...), a
// message's or enum's short name, `[]T` for repeated fields, `map[K]V` for
// maps — and a message field's own fields below it, down to
// kMaxDescribeDepth levels (recursive types stop there).
//
//   registry::Value v = DescribeMessage(*HelloRequest::descriptor());
//   // {name: "HelloRequest", type: "HelloRequest",
//   //  values: [{name: "name", type: "string"}]}

#ifndef MICRO_NATS_SERVICE_DESCRIBE_H_
#define MICRO_NATS_SERVICE_DESCRIBE_H_

#include <google/protobuf/descriptor.h>

#include "registry/registry.h"

namespace micro_nats::service {

inline constexpr int kMaxDescribeDepth = 3;  // as go-micro's extractValue

registry::Value DescribeMessage(const google::protobuf::Descriptor& message);

}  // namespace micro_nats::service

#endif  // MICRO_NATS_SERVICE_DESCRIBE_H_
