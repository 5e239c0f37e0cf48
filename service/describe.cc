// Copyright 2026 The micro-nats Authors.

#include "service/describe.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace micro_nats::service {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

std::string TypeName(const FieldDescriptor& field) {
  switch (field.type()) {
    case FieldDescriptor::TYPE_MESSAGE:
    case FieldDescriptor::TYPE_GROUP:
      return field.message_type()->name();
    case FieldDescriptor::TYPE_ENUM:
      return field.enum_type()->name();
    default:
      return field.type_name();  // "string", "int64", "bytes", ...
  }
}

void AddFields(const Descriptor& message, int depth, registry::Value* value);

registry::Value DescribeField(const FieldDescriptor& field, int depth) {
  registry::Value value{.name = field.name()};
  if (field.is_map()) {
    const FieldDescriptor* key = field.message_type()->map_key();
    const FieldDescriptor* mapped = field.message_type()->map_value();
    value.type = absl::StrCat("map[", TypeName(*key), "]", TypeName(*mapped));
    if (mapped->message_type() != nullptr) {
      AddFields(*mapped->message_type(), depth + 1, &value);
    }
    return value;
  }
  value.type = TypeName(field);
  if (field.is_repeated()) value.type = absl::StrCat("[]", value.type);
  if (field.message_type() != nullptr) {
    AddFields(*field.message_type(), depth + 1, &value);
  }
  return value;
}

void AddFields(const Descriptor& message, int depth, registry::Value* value) {
  if (depth >= kMaxDescribeDepth) return;
  for (int i = 0; i < message.field_count(); ++i) {
    value->values.push_back(DescribeField(*message.field(i), depth));
  }
}

}  // namespace

registry::Value DescribeMessage(const Descriptor& message) {
  registry::Value value{.name = message.name(), .type = message.name()};
  AddFields(message, 0, &value);
  return value;
}

}  // namespace micro_nats::service
