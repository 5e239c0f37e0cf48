// Copyright 2026 The micro-nats Authors.

#include "nats/message.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "nats/status.h"
#include "status/status_macros.h"

namespace micro_nats::nats {

absl::StatusOr<NatsMsgPtr> BuildMessage(absl::string_view subject,
                                        absl::string_view reply,
                                        const Headers& headers,
                                        absl::string_view body) {
  const std::string subject_str(subject);
  const std::string reply_str(reply);
  natsMsg* raw = nullptr;
  MN_RETURN_IF_ERROR(FromNatsStatus(
      natsMsg_Create(&raw, subject_str.c_str(),
                     reply_str.empty() ? nullptr : reply_str.c_str(),
                     body.data(), static_cast<int>(body.size())),
      absl::StrCat("create message for '", subject, "'")));
  NatsMsgPtr msg(raw);
  for (const auto& [name, value] : headers) {
    MN_RETURN_IF_ERROR(FromNatsStatus(
        natsMsgHeader_Set(msg.get(), name.c_str(), value.c_str()),
        absl::StrCat("set header '", name, "'")));
  }
  return msg;
}

Headers ReadHeaders(natsMsg* msg) {
  Headers headers;
  const char** keys = nullptr;
  int count = 0;
  if (natsMsgHeader_Keys(msg, &keys, &count) != NATS_OK) return headers;
  for (int i = 0; i < count; ++i) {
    const char* value = nullptr;
    if (natsMsgHeader_Get(msg, keys[i], &value) == NATS_OK) {
      headers.emplace(keys[i], value != nullptr ? value : "");
    }
  }
  free(keys);  // the array is ours, the strings are the message's
  return headers;
}

absl::string_view Body(natsMsg* msg) {
  const char* data = natsMsg_GetData(msg);
  if (data == nullptr) return {};
  return absl::string_view(data, natsMsg_GetDataLength(msg));
}

absl::string_view Subject(natsMsg* msg) {
  const char* subject = natsMsg_GetSubject(msg);
  return subject != nullptr ? subject : "";
}

absl::string_view Reply(natsMsg* msg) {
  const char* reply = natsMsg_GetReply(msg);
  return reply != nullptr ? reply : "";
}

}  // namespace micro_nats::nats
