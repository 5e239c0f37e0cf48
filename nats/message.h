// Copyright 2026 The micro-nats Authors.
//
// message.h: building and reading nats.c messages with headers.
//
// Transport and broker messages travel as NATS messages: headers as NATS
// headers, the body as raw bytes. These helpers keep nats.c's C API out of
// the blocks.

#ifndef MICRO_NATS_NATS_MESSAGE_H_
#define MICRO_NATS_NATS_MESSAGE_H_

#include <nats/nats.h>

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "message/message.h"

namespace micro_nats::nats {

// Header names to values. NATS allows several values per name; micro-nats,
// like go-micro, keeps one (the first).
using Headers = ::micro_nats::Headers;

// Frees `msg` now, on this thread. natsMsg_Destroy instead hands every
// message to nats.c's garbage-collector thread: a library-wide lock, and a
// wake-up of that thread whenever its list was empty, per message. For a
// message nobody else refers to: one built here (nats.c copies what it
// publishes) or one nats.c handed over (a delivered message, a request's
// answer), which nats.c no longer refers to. Not for a message nats.c
// keeps a claim on (JetStream's auto-acked messages, marked not to be
// destroyed): give those to natsMsg_Destroy. Null is ignored.
void DestroyNow(natsMsg* msg);

struct NatsMsgDeleter {
  void operator()(natsMsg* msg) const { DestroyNow(msg); }
};
// Owns a message micro-nats built or was handed (see DestroyNow).
using NatsMsgPtr = std::unique_ptr<natsMsg, NatsMsgDeleter>;

// Frees a delivered message now (DestroyNow) or through nats.c's collector
// thread (natsMsg_Destroy), which frees in batches: cheaper per message when
// many arrive to a wake-up, dearer (a wake-up of its own) when one does.
struct ReleaseMsg {
  bool now = true;
  void operator()(natsMsg* msg) const {
    if (now) {
      DestroyNow(msg);
    } else {
      natsMsg_Destroy(msg);
    }
  }
};
using DeliveredMsgPtr = std::unique_ptr<natsMsg, ReleaseMsg>;

// Returns a message for `subject` with an optional `reply` subject (empty
// for none), `headers` and `body`. A header whose value is blank
// (message.h's IsBlankHeaderValue) is left out: the receiver sees it absent.
// InvalidArgument when a subject is not a concrete NATS subject
// (ValidateSubject) or a header breaks ValidateHeaders: every message
// micro-nats sends is built here or checked by Connection, so no layer above
// can put a line break on the wire.
absl::StatusOr<NatsMsgPtr> BuildMessage(absl::string_view subject,
                                        absl::string_view reply,
                                        const Headers& headers,
                                        absl::string_view body);

// OK when `msg` passes BuildMessage's checks (subjects and every header);
// for messages made by nats.c's own natsMsg_Create.
absl::Status ValidateMessage(natsMsg* msg);

// Returns the message's headers (first value of each), empty when it has
// none. A header that breaks ValidateHeaders (a hand-written peer's lone
// CR or LF, a control character) is left out and counted in `*invalid`.
Headers ReadHeaders(natsMsg* msg, int* invalid = nullptr);

// Returns the message's body, subject and reply subject ("" when none); the
// views live as long as the message.
absl::string_view Body(natsMsg* msg);
absl::string_view Subject(natsMsg* msg);
absl::string_view Reply(natsMsg* msg);

}  // namespace micro_nats::nats

#endif  // MICRO_NATS_NATS_MESSAGE_H_
