// Copyright 2026 The micro-nats Authors.
//
// message.h: what a transport socket or a broker topic carries, and the
// rules its headers follow.
//
// Headers travel as NATS headers, which are HTTP-style lines: a name made
// of token characters, a colon, a value without line breaks. A header that
// breaks those rules would corrupt the message on the wire (a CR/LF in a
// name or value injects headers of its own), so every backend, memory
// included, refuses it with InvalidArgument before sending.
//
//   MN_RETURN_IF_ERROR(ValidateHeaders(message.headers));

#ifndef MICRO_NATS_MESSAGE_MESSAGE_H_
#define MICRO_NATS_MESSAGE_MESSAGE_H_

#include <cstddef>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace micro_nats {

// Header names to values (one value per name, as in go-micro).
using Headers = std::map<std::string, std::string>;

struct Message {
  Headers headers;
  std::string body;  // raw bytes
};

// OK when `name` is a valid header name: 1 or more of HTTP's token
// characters (letters, digits and !#$%&'*+-.^_`|~); otherwise
// InvalidArgument saying why.
absl::Status ValidateHeaderName(absl::string_view name);

// OK when `value` may follow a header name: no CR, LF, NUL or other
// control character but HTAB.
absl::Status ValidateHeaderValue(absl::string_view name,
                                 absl::string_view value);

// Both checks for every header.
absl::Status ValidateHeaders(const Headers& headers);

// Whether a header value is empty or only spaces and tabs: NATS headers
// cannot carry one (nats.c 3.4.1 misreads it and the headers after it), so
// //nats leaves it out and WireHeaders drops it.
bool IsBlankHeaderValue(absl::string_view value);

// Whether `headers` would change on a trip through NATS: nats.c trims
// spaces and tabs around a value and cannot carry a blank one (//nats
// leaves it out). Cheap, allocates nothing.
bool HeadersChangeOnTheWire(const Headers& headers);

// `headers` as NATS delivers them: values trimmed of spaces and tabs, blank
// ones absent. The memory backends deliver this too, so a unit test on
// memory sees what NATS would deliver.
Headers WireHeaders(const Headers& headers);

// A message's size as limits count it: the body, and each header as its
// "name: value\r\n" line.
size_t MessageSize(const Message& message);

}  // namespace micro_nats

#endif  // MICRO_NATS_MESSAGE_MESSAGE_H_
