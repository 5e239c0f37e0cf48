// Copyright 2026 The micro-nats Authors.

#include "bench/natsgo/natsgo_micro.h"

#include <nats/nats.h>

#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "status/status_matchers.h"
#include "testing/nats_server.h"

namespace micro_nats::bench {
namespace {

using ::micro_nats::testing::NatsServer;

// A raw nats.c request to the baseline, as the paired loop sends it.
std::string Request(natsConnection* nc, const std::string& subject,
                    const std::string& body) {
  natsMsg* reply = nullptr;
  if (natsConnection_Request(&reply, nc, subject.c_str(), body.data(),
                             static_cast<int>(body.size()),
                             /*timeout ms=*/5000) != NATS_OK) {
    return "<no reply>";
  }
  std::string got(natsMsg_GetData(reply), natsMsg_GetDataLength(reply));
  natsMsg_Destroy(reply);
  return got;
}

TEST(NatsGoMicroTest, EchoesOnItsSubjectAndStopsByTheDeadline) {
  MN_ASSERT_OK_AND_ASSIGN(auto server, NatsServer::Start());
  MN_ASSERT_OK_AND_ASSIGN(auto go,
                          NatsGoMicro::Start(server->url(), "bench.natsgo"));
  EXPECT_EQ(go->subject(), "bench.natsgo");
  natsConnection* nc = nullptr;
  ASSERT_EQ(natsConnection_ConnectTo(&nc, server->url().c_str()), NATS_OK);
  const std::string body(16, 'x');
  EXPECT_EQ(Request(nc, "bench.natsgo", body), body);
  EXPECT_EQ(Request(nc, "bench.natsgo", "second"), "second");

  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  go->Stop(deadline);
  EXPECT_LE(absl::Now(), deadline + absl::Seconds(1));
  // Gone: nobody answers its subject now.
  natsMsg* reply = nullptr;
  EXPECT_EQ(natsConnection_Request(&reply, nc, "bench.natsgo", "x", 1, 200),
            NATS_NO_RESPONDERS);
  natsConnection_Destroy(nc);
}

TEST(NatsGoMicroTest, FailsWithTheReasonWhenTheServerIsAbsent) {
  MN_ASSERT_OK_AND_ASSIGN(auto server, NatsServer::Start());
  const std::string url = server->url();
  ASSERT_TRUE(server->Stop().ok());
  auto go = NatsGoMicro::Start(url, "bench.natsgo", absl::Seconds(20));
  EXPECT_FALSE(go.ok());
}

}  // namespace
}  // namespace micro_nats::bench
