// Copyright 2026 The micro-nats Authors.
//
// nats_wire.h: NATS messages as they arrive, for harnesses that decode
// them without a connection.
//
// nats.c parses a received message's header block lazily, when its
// headers are first read; the message is made by natsMsg_create, which
// libnats exports but does not declare (nats.c 3.4.1, src/msg.h). Its
// signature is declared here as that version defines it.

#ifndef MICRO_NATS_FUZZ_NATS_WIRE_H_
#define MICRO_NATS_FUZZ_NATS_WIRE_H_

#include <nats/nats.h>

#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "message/message.h"
#include "nats/message.h"

extern "C" natsStatus natsMsg_create(natsMsg** new_msg, const char* subject,
                                     int subject_len, const char* reply,
                                     int reply_len, const char* buf,
                                     int buf_len, int hdr_len);

namespace micro_nats::fuzz {

// A message as nats.c's parser hands it to a subscriber: `header_block`
// (empty for none) then `body`.
inline nats::NatsMsgPtr ReceivedMessage(absl::string_view subject,
                                        absl::string_view reply,
                                        absl::string_view header_block,
                                        absl::string_view body) {
  // natsMsg_Create would start the library; natsMsg_create does not, and
  // freeing a message needs it.
  static const bool opened = nats_Open(-1) == NATS_OK;
  if (!opened) std::abort();
  const std::string buf = std::string(header_block) + std::string(body);
  natsMsg* msg = nullptr;
  if (natsMsg_create(&msg, subject.data(), static_cast<int>(subject.size()),
                     reply.data(), static_cast<int>(reply.size()), buf.data(),
                     static_cast<int>(buf.size()),
                     static_cast<int>(header_block.size())) != NATS_OK) {
    std::abort();  // out of memory
  }
  return nats::NatsMsgPtr(msg);
}

// The header block nats.c 3.4.1 writes for `headers` (natsMsgHeader_encode:
// "NATS/1.0\r\n", then "name: value\r\n" each, CR and LF in a value
// written as spaces, then "\r\n"); empty without headers (a PUB, not an
// HPUB).
inline std::string EncodeNatsHeaders(const Headers& headers) {
  if (headers.empty()) return "";
  std::string out = "NATS/1.0\r\n";
  for (const auto& [name, value] : headers) {
    std::string line = value;
    for (char& c : line) {
      if (c == '\r' || c == '\n') c = ' ';
    }
    out += name + ": " + line + "\r\n";
  }
  return out + "\r\n";
}

}  // namespace micro_nats::fuzz

#endif  // MICRO_NATS_FUZZ_NATS_WIRE_H_
