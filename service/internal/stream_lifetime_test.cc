// Copyright 2026 The micro-nats Authors.
//
// A stream's life against the listener's idle reaping (memory stack): the
// client's keepalive spares a live stream however long both ends wait,
// and a client that went silent is reaped, its handler told.

#include <memory>
#include <string>
#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/internal/stream_core.h"
#include "service/memory/memory_service.h"
#include "status/status_matchers.h"
#include "testing/sync.h"

namespace micro_nats::service {
namespace {

using ::micro_nats::testing::Collector;
using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::StatusIs;

constexpr absl::Duration kIdle = absl::Milliseconds(300);
constexpr absl::Duration kWait = absl::Seconds(10);

class StreamLifetimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions server;
    server.listen.idle_timeout = kIdle;
    auto service = NewMemoryService({.identity = {.name = "lifetime"},
                                     .network = network_,
                                     .server = std::move(server)});
    ASSERT_THAT(service, IsOk());
    service_ = std::move(service).value();
    // Waits in Recv and Send for three idle timeouts each, saying how it
    // went, then echoes what comes until the client half-closes.
    ASSERT_THAT(
        service_->server().HandleStream(
            "Slow.Echo",
            [this](Context& ctx, ServerStream& stream) -> absl::Status {
              waited_.Add(stream.Recv(absl::Now() + 3 * kIdle).status());
              for (;;) {
                absl::StatusOr<Message> m = stream.Recv();
                if (absl::IsOutOfRange(m.status())) break;
                if (!m.ok()) {
                  waited_.Add(m.status());
                  return m.status();
                }
                if (m->body == "fill") {
                  // The client's window is 2 and it does not read: the
                  // third Send waits.
                  absl::Status sent;
                  for (int i = 0; i < 3 && sent.ok(); ++i) {
                    sent =
                        stream.Send({.body = "full"}, absl::Now() + 3 * kIdle);
                  }
                  waited_.Add(sent);
                  continue;
                }
                MN_RETURN_IF_ERROR(stream.Send(std::move(m).value()));
              }
              return absl::OkStatus();
            }),
        IsOk());
    ASSERT_THAT(service_->Start(), IsOk());
    auto caller = NewMemoryService(
        {.identity = {.name = "lifetime-caller"}, .network = network_});
    ASSERT_THAT(caller, IsOk());
    caller_ = std::move(caller).value();
  }

  const std::shared_ptr<MemoryNetwork> network_ = NewMemoryNetwork();
  std::unique_ptr<Service> service_;
  std::unique_ptr<Service> caller_;
  Collector<absl::Status> waited_;
};

TEST_F(StreamLifetimeTest, ALiveStreamIsNotReapedWhileBothEndsWait) {
  auto stream = caller_->client().StreamRaw(
      "lifetime", "Slow.Echo",
      {.call = {.timeout = absl::Seconds(30)},
       .window = {.messages = 2, .bytes = 1 << 20}});
  ASSERT_THAT(stream, IsOk());
  // The handler waited three idle timeouts in Recv while this end did
  // nothing at all: its stream is still there.
  ASSERT_TRUE(waited_.WaitForCount(1, kWait));
  EXPECT_THAT(waited_.Snapshot()[0],
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  ASSERT_THAT((*stream)->Send({.body = "fill"}), IsOk());
  // And three more in Send, against a full window.
  ASSERT_TRUE(waited_.WaitForCount(2, kWait));
  EXPECT_THAT(waited_.Snapshot()[1],
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  for (int i = 0; i < 2; ++i) {
    EXPECT_THAT((*stream)->Recv(absl::Now() + kWait),
                ::micro_nats::testing::IsOkAndHolds(
                    ::testing::Field(&Message::body, "full")));
  }
  ASSERT_THAT((*stream)->Send({.body = "still here"}), IsOk());
  EXPECT_THAT((*stream)->Recv(absl::Now() + kWait),
              ::micro_nats::testing::IsOkAndHolds(
                  ::testing::Field(&Message::body, "still here")));
  ASSERT_THAT((*stream)->CloseSend(), IsOk());
  EXPECT_THAT((*stream)->Recv(absl::Now() + kWait),
              StatusIs(absl::StatusCode::kOutOfRange));
}

TEST_F(StreamLifetimeTest, AClientThatWentSilentIsReapedAndItsHandlerTold) {
  // A client that opened a stream and then neither pings nor closes (its
  // process hung or died where the transport cannot tell).
  auto registered = network_->registry->GetService("lifetime");
  ASSERT_THAT(registered, IsOk());
  ASSERT_FALSE(registered->empty());
  ASSERT_FALSE((*registered)[0].nodes.empty());
  auto socket = network_->transport->Dial((*registered)[0].nodes[0].address);
  ASSERT_THAT(socket, IsOk());
  Message open = service_internal::Frame(service_internal::FrameKind::kOpen);
  open.headers[kEndpointHeader] = "Slow.Echo";
  service_internal::SetWindow(&open.headers, {.messages = 2, .bytes = 1024});
  ASSERT_THAT((*socket)->Send(open), IsOk());
  auto accept = (*socket)->Recv(absl::Now() + kWait);
  ASSERT_THAT(accept, IsOk());
  ASSERT_THAT(service_internal::KindOf(accept->headers),
              ::micro_nats::testing::IsOkAndHolds(
                  service_internal::FrameKind::kAccept));
  // Reaped after an idle timeout: its handler's Recv ends before its own
  // deadline.
  ASSERT_TRUE(waited_.WaitForCount(1, kWait));
  EXPECT_THAT(waited_.Snapshot()[0],
              StatusIs(absl::StatusCode::kCancelled,
                       ::testing::HasSubstr("went away")));
  EXPECT_THAT((*socket)->Recv(absl::Now() + kWait),
              StatusIs(absl::StatusCode::kOutOfRange));
}

}  // namespace
}  // namespace micro_nats::service
