// Copyright 2026 The micro-nats Authors.

#include "nats/message.h"

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "nats/status.h"
#include "status/status_macros.h"
#include "subject/subject.h"

// nats.c's own free of a message (src/msg.c; exported, the same from 3.0
// to 3.9), which its garbage collector calls; natsMsg_Destroy queues the
// message for that. Used only with nats.c 3.x.
extern "C" void natsMsg_free(void* object);

namespace micro_nats::nats {

void DestroyNow(natsMsg* msg) {
  static const bool in_place = nats_GetVersionNumber() >> 16 == 3;
  if (msg == nullptr) return;
  if (in_place) {
    natsMsg_free(msg);
  } else {
    natsMsg_Destroy(msg);
  }
}

absl::StatusOr<NatsMsgPtr> BuildMessage(absl::string_view subject,
                                        absl::string_view reply,
                                        const Headers& headers,
                                        absl::string_view body) {
  // The choke point for every message this process builds: nats.c writes
  // subjects and header lines verbatim into its protocol, so a CR/LF or a
  // space from a peer's data would inject protocol lines or drop the
  // connection.
  MN_RETURN_IF_ERROR(ValidateSubject(subject, SubjectKind::kConcrete));
  if (!reply.empty()) {
    MN_RETURN_IF_ERROR(
        ValidateSubject(reply, SubjectKind::kConcrete, "reply subject"));
  }
  MN_RETURN_IF_ERROR(ValidateHeaders(headers));
  // Valid subjects are at most kMaxSubjectLength bytes: terminated copies
  // on the stack, not on the heap (this runs for every request and answer).
  char subject_str[kMaxSubjectLength + 1];
  char reply_str[kMaxSubjectLength + 1];
  std::memcpy(subject_str, subject.data(), subject.size());
  subject_str[subject.size()] = '\0';
  if (!reply.empty()) std::memcpy(reply_str, reply.data(), reply.size());
  reply_str[reply.size()] = '\0';
  natsMsg* raw = nullptr;
  // Error texts are built only on failure.
  if (natsStatus s =
          natsMsg_Create(&raw, subject_str, reply.empty() ? nullptr : reply_str,
                         body.data(), static_cast<int>(body.size()));
      s != NATS_OK) {
    return FromNatsStatus(s,
                          absl::StrCat("create message for '", subject, "'"));
  }
  NatsMsgPtr msg(raw);
  for (const auto& [name, value] : headers) {
    // nats.c 3.4.1 cannot read back an empty (or blank) value: it reads the
    // next header line as the value, or loses every header when it is the
    // last. An empty header is left out; readers see it absent.
    if (IsBlankHeaderValue(value)) continue;
    if (natsStatus s =
            natsMsgHeader_Set(msg.get(), name.c_str(), value.c_str());
        s != NATS_OK) {
      return FromNatsStatus(s, absl::StrCat("set header '", name, "'"));
    }
  }
  // nats.c 3.4.1's header table confuses some distinct names ("a" and
  // "aaa": setting the second overwrites the first; found by
  // //fuzz:header_map_fuzzer): read each back before sending.
  for (const auto& [name, value] : headers) {
    if (IsBlankHeaderValue(value)) continue;
    const char* stored = nullptr;
    if (natsMsgHeader_Get(msg.get(), name.c_str(), &stored) != NATS_OK ||
        stored == nullptr || value != stored) {
      return absl::InvalidArgumentError(absl::StrCat(
          "header '", name,
          "' collides with another header name in nats.c's header table"));
    }
  }
  return msg;
}

absl::Status ValidateMessage(natsMsg* msg) {
  MN_RETURN_IF_ERROR(ValidateSubject(Subject(msg), SubjectKind::kConcrete));
  if (!Reply(msg).empty()) {
    MN_RETURN_IF_ERROR(
        ValidateSubject(Reply(msg), SubjectKind::kConcrete, "reply subject"));
  }
  const char** keys = nullptr;
  int count = 0;
  const natsStatus s = natsMsgHeader_Keys(msg, &keys, &count);
  if (s == NATS_NOT_FOUND) return absl::OkStatus();  // no headers
  MN_RETURN_IF_ERROR(FromNatsStatus(s, "read headers"));
  absl::Status status;
  for (int i = 0; i < count && status.ok(); ++i) {
    status = ValidateHeaderName(keys[i]);
    const char** values = nullptr;
    int n = 0;
    if (status.ok() &&
        natsMsgHeader_Values(msg, keys[i], &values, &n) == NATS_OK) {
      for (int j = 0; j < n && status.ok(); ++j) {
        const absl::string_view value = values[j] != nullptr ? values[j] : "";
        status = ValidateHeaderValue(keys[i], value);
        if (status.ok() && IsBlankHeaderValue(value)) {
          status = absl::InvalidArgumentError(absl::StrCat(
              "header '", keys[i],
              "' is empty: NATS cannot carry an empty header value"));
        }
      }
      free(values);
    }
  }
  free(keys);  // the array is ours, the strings are the message's
  return status;
}

Headers ReadHeaders(natsMsg* msg, int* invalid) {
  Headers headers;
  if (invalid != nullptr) *invalid = 0;
  const char** keys = nullptr;
  int count = 0;
  if (natsMsgHeader_Keys(msg, &keys, &count) != NATS_OK) return headers;
  for (int i = 0; i < count; ++i) {
    const char* value = nullptr;
    if (natsMsgHeader_Get(msg, keys[i], &value) == NATS_OK) {
      const absl::string_view v = value != nullptr ? value : "";
      // A peer writing the protocol by hand can send what we never would
      // (nats.c splits lines on CRLF only: a lone CR or LF stays in a
      // value); such a header is dropped, so it is never echoed or used.
      if (!ValidateHeaderName(keys[i]).ok() ||
          !ValidateHeaderValue(keys[i], v).ok()) {
        if (invalid != nullptr) ++*invalid;
        continue;
      }
      headers.emplace(keys[i], std::string(v));
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
