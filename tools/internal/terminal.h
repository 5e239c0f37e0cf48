// Copyright 2026 The micro-nats Authors.
//
// terminal.h: text from the network made safe to print on a terminal.
//
// What `micro` prints — service names, node ids, metadata, error details,
// message bodies — is chosen by whoever answered on the bus. A control
// character in it (ESC, a C1 control, a stray CR) would let that peer
// drive the user's terminal: retitle it, hide lines, fake output. So every
// remote string passes through TerminalSafe before it is printed.
//
//   std::cout << TerminalSafe(node.id) << "\n";

#ifndef MICRO_NATS_TOOLS_INTERNAL_TERMINAL_H_
#define MICRO_NATS_TOOLS_INTERNAL_TERMINAL_H_

#include <string>

#include "absl/strings/string_view.h"

namespace micro_nats::tools_internal {

// `text` with C0 controls (\n, \r and \t as such, others as \xNN), DEL,
// C1 controls (as \u00NN) and bytes that are not valid UTF-8 (as \xNN)
// escaped; printable UTF-8 is kept as it is.
std::string TerminalSafe(absl::string_view text);

}  // namespace micro_nats::tools_internal

#endif  // MICRO_NATS_TOOLS_INTERNAL_TERMINAL_H_
