// Copyright 2026 The micro-nats Authors.

#include "transport/mock/mock_transport.h"

namespace micro_nats::transport {

using ::testing::_;
using ::testing::NiceMock;
using ::testing::Return;

MockSocket::MockSocket() {
  ON_CALL(*this, Send(_)).WillByDefault(Return(absl::OkStatus()));
  ON_CALL(*this, Recv(_)).WillByDefault([](absl::Time) {
    return absl::StatusOr<Message>(
        absl::OutOfRangeError("the peer closed the socket"));
  });
  ON_CALL(*this, Close()).WillByDefault(Return(absl::OkStatus()));
}

MockListener::MockListener() {
  ON_CALL(*this, Accept(_)).WillByDefault(Return(absl::OkStatus()));
  ON_CALL(*this, AcceptMessages(_)).WillByDefault(Return(absl::OkStatus()));
  ON_CALL(*this, Shutdown(_)).WillByDefault(Return(absl::OkStatus()));
  ON_CALL(*this, Close()).WillByDefault(Return(absl::OkStatus()));
}

MockTransport::MockTransport() {
  ON_CALL(*this, Listen(_, _))
      .WillByDefault(
          [](absl::string_view,
             ListenOptions) -> absl::StatusOr<std::unique_ptr<Listener>> {
            return std::unique_ptr<Listener>(new NiceMock<MockListener>());
          });
  ON_CALL(*this, Dial(_, _))
      .WillByDefault(
          [](absl::string_view,
             DialOptions) -> absl::StatusOr<std::unique_ptr<Socket>> {
            return std::unique_ptr<Socket>(new NiceMock<MockSocket>());
          });
}

}  // namespace micro_nats::transport
