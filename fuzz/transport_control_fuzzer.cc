// Copyright 2026 The micro-nats Authors.
//
// The NATS transport's side of a socket, as any publisher to a listener's
// address or a client's inbox can feed it: NATS messages whose header
// block nats.c parses (nats::ReadHeaders), the control header
// `Micro-Transport-Control` ("open", "close", "refused" with its reason,
// "ping", or data), NATS's "no responders" status, and the data messages
// queued for the socket's reader within its PendingLimits, without the
// socket's token (`Micro-Transport-Token`).
//
// transport/nats reads the control value in a function private to
// nats_transport.cc (ReadControl); until it is exposed, the harness reads
// the header the same way: with natsMsgHeader_Get, an exact match.
//
// Input: messages separated by 0xFF 0xFF; each is a header block, 0xFF,
// and a body (a message without 0xFF is a body without headers).

#include <nats/nats.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/nats_wire.h"
#include "message/message.h"
#include "nats/message.h"
#include "transport/internal/socket_core.h"
#include "transport/nats/nats_transport.h"

namespace {

namespace transport = micro_nats::transport;
using transport::transport_internal::InboundQueue;

constexpr transport::PendingLimits kLimits{.messages = 4, .bytes = 512};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<absl::string_view> messages = absl::StrSplit(
      micro_nats::fuzz::AsView(data, size), absl::string_view("\xff\xff"));
  InboundQueue queue(kLimits);
  std::vector<micro_nats::Message> queued;
  size_t queued_bytes = 0;
  bool overflowed = false;
  for (absl::string_view raw : messages) {
    const size_t split = raw.find(micro_nats::fuzz::kFieldSeparator);
    const absl::string_view block =
        split == absl::string_view::npos ? "" : raw.substr(0, split);
    const absl::string_view body =
        split == absl::string_view::npos ? raw : raw.substr(split + 1);
    micro_nats::nats::NatsMsgPtr msg = micro_nats::fuzz::ReceivedMessage(
        "fuzz.listener", "_INBOX.fuzz.socket", block, body);

    FUZZ_CHECK(micro_nats::nats::Body(msg.get()) == body, "body");
    FUZZ_CHECK(micro_nats::nats::Reply(msg.get()) == "_INBOX.fuzz.socket",
               "reply");
    // In the order a client socket reads it (OnClientMessage): "no
    // responders", the control header, then the data's headers. nats.c
    // parses the header block on the first of these; a block it cannot
    // parse is left half-parsed and parsed again by the next call, which
    // may then succeed (a control header that read as absent can appear in
    // the data's headers): reported, not checked here.
    if (natsMsg_IsNoResponders(msg.get())) continue;  // the peer is gone
    const char* control = nullptr;
    if (natsMsgHeader_Get(msg.get(), transport::kControlHeader, &control) ==
            NATS_OK &&
        control != nullptr) {
      if (std::strcmp(control, transport::kControlRefused) == 0) {
        // The reason, bounded as Refused() bounds it.
        const absl::string_view reason =
            micro_nats::nats::Body(msg.get()).substr(0, 512);
        FUZZ_CHECK(reason.size() <= 512, "reason");
      }
      continue;  // open, open-ack, close, ping, or unknown: not data
    }
    // What nats.c lifts but we would never send (a lone CR or LF stays in
    // a value; the status line is free text) is left out and counted.
    int invalid = 0;
    const micro_nats::Headers headers =
        micro_nats::nats::ReadHeaders(msg.get(), &invalid);
    const absl::Status valid = micro_nats::ValidateHeaders(headers);
    FUZZ_CHECK(valid.ok(), valid.ToString());
    FUZZ_CHECK(invalid >= 0, "a negative count");

    micro_nats::Message message{headers,
                                std::string(micro_nats::nats::Body(msg.get()))};
    message.headers.erase(transport::kTokenHeader);
    const size_t bytes = micro_nats::MessageSize(message);
    const bool fits = !overflowed && queued.size() < kLimits.messages &&
                      queued_bytes + bytes <= kLimits.bytes;
    const bool overflow = queue.Push(message);
    if (overflowed) {
      FUZZ_CHECK(!overflow, "a queue overflowed twice");
    } else if (fits) {
      FUZZ_CHECK(!overflow, "a message within the limits overflowed");
      queued.push_back(std::move(message));
      queued_bytes += bytes;
    } else {
      FUZZ_CHECK(overflow, "a message beyond the limits was queued");
      overflowed = true;
    }
  }
  for (const micro_nats::Message& expected : queued) {
    absl::StatusOr<micro_nats::Message> got = queue.Pop(absl::InfinitePast());
    FUZZ_CHECK(got.ok(), got.status().ToString());
    FUZZ_CHECK(got->headers == expected.headers && got->body == expected.body,
               "a message changed in the queue");
  }
  absl::StatusOr<micro_nats::Message> rest = queue.Pop(absl::InfinitePast());
  FUZZ_CHECK(!rest.ok(), "a message more than was queued");
  if (overflowed) {
    FUZZ_CHECK(absl::IsResourceExhausted(rest.status()),
               rest.status().ToString());
  }
  return 0;
}
