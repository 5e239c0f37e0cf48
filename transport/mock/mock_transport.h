// Copyright 2026 The micro-nats Authors.
//
// mock_transport.h: gmock mocks of Transport, Listener and Socket, for
// consumers' unit tests that check interactions. For a working in-process
// transport use transport/memory instead.
//
//   MockSocket socket;
//   EXPECT_CALL(socket, Send(Field(&Message::body, "ping")));
//   EXPECT_CALL(socket, Recv(_)).WillOnce(Return(Message{.body = "pong"}));

#ifndef MICRO_NATS_TRANSPORT_MOCK_MOCK_TRANSPORT_H_
#define MICRO_NATS_TRANSPORT_MOCK_MOCK_TRANSPORT_H_

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "transport/transport.h"

namespace micro_nats::transport {

class MockSocket : public Socket {
 public:
  // By default Send and Close succeed and Recv says the peer closed.
  MockSocket();

  MOCK_METHOD(absl::Status, Send, (const Message& message), (override));
  MOCK_METHOD(absl::StatusOr<Message>, Recv, (absl::Time deadline), (override));
  MOCK_METHOD(absl::Status, Close, (), (override));
  MOCK_METHOD(std::string, LocalAddress, (), (const, override));
  MOCK_METHOD(std::string, RemoteAddress, (), (const, override));
};

class MockListener : public Listener {
 public:
  // By default Accept, AcceptMessages, Shutdown and Close succeed.
  MockListener();

  MOCK_METHOD(std::string, Address, (), (const, override));
  MOCK_METHOD(absl::Status, Accept, (AcceptHandler handler), (override));
  MOCK_METHOD(absl::Status, AcceptMessages, (MessageHandler handler),
              (override));
  MOCK_METHOD(absl::Status, Shutdown, (absl::Time deadline), (override));
  MOCK_METHOD(absl::Status, Close, (), (override));
  MOCK_METHOD(size_t, OpenSockets, (), (const, override));
};

class MockTransport : public Transport {
 public:
  // By default Listen and Dial return nice mocks.
  MockTransport();

  MOCK_METHOD(absl::StatusOr<std::unique_ptr<Listener>>, Listen,
              (absl::string_view address, ListenOptions options), (override));
  MOCK_METHOD(absl::StatusOr<std::unique_ptr<Socket>>, Dial,
              (absl::string_view address, DialOptions options), (override));
};

}  // namespace micro_nats::transport

#endif  // MICRO_NATS_TRANSPORT_MOCK_MOCK_TRANSPORT_H_
