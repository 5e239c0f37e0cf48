// Copyright 2026 The micro-nats Authors.
//
// nats_transport.h: the transport on NATS subjects (go-micro's design).
//
// A listener's address is a subject (a unique inbox unless one is given);
// its one subscription receives every client's messages, and each message's
// reply subject names the client socket it belongs to. A client socket's
// inbox is one of many on a single nats::InboxMux per transport, so
// dialling costs no subscription and no delivery thread. Headers travel as
// NATS headers and bodies as raw bytes (no JSON or base64 envelope).
//
// Beyond go-micro:
//   - Dial sends an "open" and waits for the listener's answer, so dialling
//     nobody is Unavailable at once (NATS "no responders"), as in memory;
//   - Close sends a "close", so the other side frees the socket at once
//     rather than at its idle timeout;
//   - a send to a listener that vanished makes the next Recv Unavailable
//     promptly (no responders), not DeadlineExceeded; so does a server's
//     send to a client that vanished (server messages carry a reply inbox
//     of their own for that);
//   - a message still in flight for a socket the server just ended is
//     refused with another close, not taken for a new socket;
//   - messages over the server's max_payload are InvalidArgument before
//     anything is sent;
//   - a listener with max_sockets open answers a new client "refused"
//     (Dial: ResourceExhausted), and a Dial that timed out sends a close
//     after its open, so the listener holds nothing for it;
//   - a client Recv that waits longer than DialOptions::probe_interval
//     sends a "ping": NATS answers "no responders" when the listener's
//     process died after taking the request (Recv: Unavailable), and a
//     listener that no longer holds the socket answers "close" (OutOfRange),
//     so a lost answer costs about one interval, not the whole deadline.
// Across a NATS server restart nats.c reconnects and resubscribes: a
// listener serves new sockets again and a socket carries on, unless it
// sent while its peer was still reconnecting (then "no responders" ends it
// with Unavailable, as for a peer that is gone; dial again).
// The control messages carry the header `Micro-Transport-Control`.
//
// Trust: NATS does not say who published a message, and a socket is known
// by its client's reply subject. A client socket therefore carries a
// random token (`Micro-Transport-Token`) on its open, its first data
// message and its close: the listener keeps the token the socket started
// with and ignores a close without it, so a third party that learns (or
// guesses: they are sequential per connection) a socket's inbox cannot end
// it. (Only those who can read the listener's subject see tokens; a peer
// that sends none, written elsewhere, gets the old behaviour.) Data can
// still be forged "from" a known inbox; its answer goes to that inbox,
// whose owner matches answers by Micro-Id. Anything published straight to
// a client's inbox (a close, data) is believed: NATS permissions are the
// defence there (services publish to inboxes only as replies:
// allow_responses). Let only the clients of a service publish to its
// address, e.g. in nats-server's configuration
//   {user: client, permissions: {publish: ["micro.svc.>"],
//                                subscribe: ["_INBOX.>"]}}
// (nats_transport_test.cc, SubjectPermissionsStopAForgedClose, runs such a
// server). Among clients allowed to publish there, NATS cannot tell them
// apart.
//
// Every listener and socket of the process shares the one nats::Connection.

#ifndef MICRO_NATS_TRANSPORT_NATS_NATS_TRANSPORT_H_
#define MICRO_NATS_TRANSPORT_NATS_NATS_TRANSPORT_H_

#include <memory>

#include "nats/connection.h"
#include "transport/transport.h"

namespace micro_nats::transport {

// The control header and its values, for peers written elsewhere.
inline constexpr char kControlHeader[] = "Micro-Transport-Control";
inline constexpr char kControlOpen[] = "open";
inline constexpr char kControlOpenAck[] = "open-ack";
inline constexpr char kControlClose[] = "close";
// The listener is full (ListenOptions::max_sockets); the body says so.
inline constexpr char kControlRefused[] = "refused";
inline constexpr char kControlPing[] = "ping";
// The client socket's token (see Trust above).
inline constexpr char kTokenHeader[] = "Micro-Transport-Token";

// Subscribes the transport's inbox (one subscription for every socket it
// dials) before returning: Unavailable when that fails, InvalidArgument for
// a null connection.
absl::StatusOr<std::unique_ptr<Transport>> NewNatsTransport(
    std::shared_ptr<nats::Connection> connection);

}  // namespace micro_nats::transport

#endif  // MICRO_NATS_TRANSPORT_NATS_NATS_TRANSPORT_H_
