// Copyright 2026 The micro-nats Authors.

#include "registry/registry.h"

#include "absl/strings/str_cat.h"
#include "subject/subject.h"

namespace micro_nats::registry {
namespace {

absl::Status ValidateToken(absl::string_view value, absl::string_view what,
                           bool allow_empty) {
  auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid ", what, " '", value, "': ", why));
  };
  if (value.empty()) {
    return allow_empty ? absl::OkStatus() : invalid("empty");
  }
  if (value.size() > kMaxNameLength) {
    return invalid(absl::StrCat("longer than ", kMaxNameLength, " bytes"));
  }
  for (char c : value) {
    if (!IsSubjectChar(c)) return invalid("spaces or control characters");
    if (c == '*' || c == '>') return invalid("NATS wildcards '*' and '>'");
  }
  return absl::OkStatus();
}

}  // namespace

absl::string_view EventTypeName(EventType type) {
  switch (type) {
    case EventType::kCreate:
      return "create";
    case EventType::kUpdate:
      return "update";
    case EventType::kDelete:
      return "delete";
  }
  return "unknown";
}

absl::Status ValidateServiceName(absl::string_view name) {
  return ValidateToken(name, "service name", /*allow_empty=*/false);
}

absl::Status ValidateService(const Service& service) {
  if (auto s = ValidateServiceName(service.name); !s.ok()) return s;
  if (auto s = ValidateToken(service.version, "version", /*allow_empty=*/true);
      !s.ok()) {
    return s;
  }
  for (const Node& node : service.nodes) {
    if (auto s = ValidateNodeId(node.id); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status ValidateNodeId(absl::string_view id) {
  return ValidateToken(id, "node id", /*allow_empty=*/false);
}

absl::StatusOr<LookupResult> Registry::Find(absl::string_view name) {
  absl::StatusOr<std::vector<Service>> services = GetService(name);
  if (!services.ok()) return services.status();
  return LookupResult{std::move(services).value(), true};
}

}  // namespace micro_nats::registry
