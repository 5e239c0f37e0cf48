// Copyright 2026 The micro-nats Authors.
//
// The client's policies on a mock transport: the headers a call carries,
// which failures are retried (and the node evicted), wrapper order.

#include "service/client.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "registry/cache/cache.h"
#include "registry/memory/memory_registry.h"
#include "service/errors.h"
#include "status/status_matchers.h"
#include "transport/mock/mock_transport.h"

namespace micro_nats::service {
namespace {

using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::IsOkAndHolds;
using ::micro_nats::testing::StatusIs;
using ::testing::_;
using ::testing::HasSubstr;
using ::testing::NiceMock;
using ::testing::Return;
using transport::MockSocket;
using transport::MockTransport;

// What a mock node answers: its body, or a status for the socket's Recv,
// or an error the server sends back.
struct NodeBehaviour {
  absl::Status recv_status = absl::OkStatus();
  absl::Status server_error = absl::OkStatus();
  std::string refused;  // kRefusedHeader of the error answer, if any
  std::string body = "ok";
};

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Registered before the cache watches: an event of it reaching the
    // cache after a test's Evict would refill the entry it evicted from.
    std::shared_ptr<registry::Registry> backend = registry::NewMemoryRegistry();
    ASSERT_THAT(backend->Register({.name = "svc",
                                   .version = "1",
                                   .nodes = {{.id = "a", .address = "addr.a"},
                                             {.id = "b", .address = "addr.b"}}},
                                  {}),
                IsOk());
    registry_ = registry::CachingRegistry::Create(backend).value();
    ON_CALL(*transport_, Dial(_, _))
        .WillByDefault(
            [this](absl::string_view address, transport::DialOptions) {
              dialled_.push_back(std::string(address));
              return MakeSocket(behaviour_[std::string(address)]);
            });
  }

  absl::StatusOr<std::unique_ptr<transport::Socket>> MakeSocket(
      NodeBehaviour behaviour) {
    auto socket = std::make_unique<NiceMock<MockSocket>>();
    auto last_id = std::make_shared<std::string>();
    ON_CALL(*socket, Send(_)).WillByDefault([this, last_id](const Message& m) {
      sent_.push_back(m);
      *last_id = m.headers.at(kIdHeader);
      return absl::OkStatus();
    });
    ON_CALL(*socket, Recv(_))
        .WillByDefault(
            [behaviour, last_id](absl::Time) -> absl::StatusOr<Message> {
              if (!behaviour.recv_status.ok()) return behaviour.recv_status;
              Message answer{.headers = {{kIdHeader, *last_id}},
                             .body = behaviour.body};
              if (!behaviour.server_error.ok()) {
                answer.headers[kErrorHeader] =
                    ErrorToJson(behaviour.server_error, "svc");
                if (!behaviour.refused.empty()) {
                  answer.headers[kRefusedHeader] = behaviour.refused;
                }
              }
              return answer;
            });
    ON_CALL(*socket, Close()).WillByDefault(Return(absl::OkStatus()));
    return std::unique_ptr<transport::Socket>(std::move(socket));
  }

  std::unique_ptr<Client> NewClient(ClientOptions options = {}) {
    options.backoff = absl::ZeroDuration();
    absl::StatusOr<std::unique_ptr<Client>> client =
        Client::Create(std::move(options), registry_, transport_, nullptr);
    EXPECT_THAT(client, IsOk());
    return client.ok() ? std::move(client).value() : nullptr;
  }

  std::shared_ptr<registry::CachingRegistry> registry_;
  std::shared_ptr<NiceMock<MockTransport>> transport_ =
      std::make_shared<NiceMock<MockTransport>>();
  std::map<std::string, NodeBehaviour> behaviour_;
  std::vector<std::string> dialled_;
  std::vector<Message> sent_;
};

TEST_F(ClientTest, ACallCarriesGoMicrosHeadersAndTheMetadata) {
  auto client = NewClient();
  const absl::Time before = absl::Now();
  ASSERT_THAT(client->CallRaw(
                  "svc", "Svc.Do", {.headers = {{kContentTypeHeader, "x/y"}}},
                  {.timeout = absl::Seconds(3), .metadata = {{"Trace", "t1"}}}),
              IsOk());
  ASSERT_EQ(sent_.size(), 1u);
  const Headers& headers = sent_[0].headers;
  EXPECT_EQ(headers.at(kServiceHeader), "svc");
  EXPECT_EQ(headers.at(kEndpointHeader), "Svc.Do");
  EXPECT_EQ(headers.at(kContentTypeHeader), "x/y");
  EXPECT_EQ(headers.at("Trace"), "t1");
  EXPECT_EQ(headers.at(kIdHeader).size(), 15u);
  const int64_t timeout_ns = std::stoll(headers.at(kTimeoutHeader));
  EXPECT_LE(timeout_ns, absl::ToInt64Nanoseconds(absl::Seconds(3)));
  EXPECT_GT(timeout_ns,
            absl::ToInt64Nanoseconds(absl::Seconds(3) - (absl::Now() - before) -
                                     absl::Milliseconds(500)));
}

TEST_F(ClientTest, UnavailableIsRetriedOnAnotherNodeWhichIsEvicted) {
  behaviour_["addr.b"].recv_status = absl::UnavailableError("no responders");
  auto client = NewClient({.selector = NewRoundRobinSelector()});
  // Round robin: "a" first (warming a socket to it), then "b", which fails.
  ASSERT_THAT(client->CallRaw("svc", "Svc.Do", {}), IsOk());
  dialled_.clear();
  EXPECT_THAT(client->CallRaw("svc", "Svc.Do", {}),
              IsOkAndHolds(::testing::Field(&Message::body, "ok")));
  EXPECT_THAT(dialled_, ::testing::ElementsAre("addr.b"));  // a was warm
  EXPECT_EQ(client->stats().retries, 1);
  EXPECT_EQ(client->stats().evicted, 1);
  auto cached = registry_->Lookup("svc");
  ASSERT_THAT(cached, IsOk());
  ASSERT_EQ(cached->services.size(), 1u);
  EXPECT_THAT(
      cached->services[0].nodes,
      ::testing::ElementsAre(::testing::Field(&registry::Node::id, "a")));
}

TEST_F(ClientTest, RetriesStopAtTheLimitAndSaySo) {
  behaviour_["addr.a"].recv_status = absl::UnavailableError("down");
  behaviour_["addr.b"].recv_status = absl::UnavailableError("down");
  auto client = NewClient();
  EXPECT_THAT(client->CallRaw("svc", "Svc.Do", {}, {.retries = 1}),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("failed after 2 attempts")));
  EXPECT_EQ(dialled_.size(), 2u);
}

TEST_F(ClientTest, OtherFailuresAreNotRetried) {
  for (const absl::Status& error : {absl::ResourceExhaustedError("overloaded"),
                                    absl::InvalidArgumentError("bad request"),
                                    absl::PermissionDeniedError("no")}) {
    behaviour_["addr.a"].server_error = error;
    behaviour_["addr.b"].server_error = error;
    auto client = NewClient();
    dialled_.clear();
    EXPECT_THAT(client->CallRaw("svc", "Svc.Do", {}, {.retries = 5}),
                StatusIs(error.code(), error.message()));
    EXPECT_EQ(dialled_.size(), 1u) << error;
    EXPECT_EQ(client->stats().retries, 0) << error;
  }
}

TEST_F(ClientTest, OnlyAServersOwnUnavailableIsRetried) {
  // A handler's Unavailable: the handler ran; the caller sees it.
  behaviour_["addr.a"].server_error = absl::UnavailableError("handler's");
  behaviour_["addr.b"].server_error = absl::UnavailableError("handler's");
  auto client = NewClient({.selector = NewRoundRobinSelector()});
  EXPECT_THAT(client->CallRaw("svc", "Svc.Do", {}, {.retries = 5}),
              StatusIs(absl::StatusCode::kUnavailable, "handler's"));
  EXPECT_EQ(dialled_.size(), 1u);
  EXPECT_EQ(client->stats().retries, 0);
  EXPECT_EQ(client->stats().evicted, 0);
  // A server that refuses as stopping: another node is tried, this one
  // evicted.
  behaviour_["addr.a"] = {.server_error = absl::UnavailableError("stopping"),
                          .refused = "stopping"};
  behaviour_["addr.b"] = {};
  dialled_.clear();
  auto fresh = NewClient({.selector = NewRoundRobinSelector()});
  EXPECT_THAT(fresh->CallRaw("svc", "Svc.Do", {}, {.retries = 5}),
              IsOkAndHolds(::testing::Field(&Message::body, "ok")));
  EXPECT_EQ(fresh->stats().evicted, 1);
  EXPECT_EQ(fresh->stats().retries, 1);
}

TEST_F(ClientTest, AnAnswerForAnotherCallIsSkipped) {
  ON_CALL(*transport_, Dial(_, _))
      .WillByDefault([this](absl::string_view, transport::DialOptions) {
        auto socket = std::make_unique<NiceMock<MockSocket>>();
        auto id = std::make_shared<std::string>();
        ON_CALL(*socket, Send(_)).WillByDefault([id](const Message& m) {
          *id = m.headers.at(kIdHeader);
          return absl::OkStatus();
        });
        EXPECT_CALL(*socket, Recv(_))
            .WillOnce(Return(
                Message{.headers = {{kIdHeader, "stale"}}, .body = "old"}))
            .WillOnce([id](absl::Time) {
              return Message{.headers = {{kIdHeader, *id}}, .body = "new"};
            });
        return absl::StatusOr<std::unique_ptr<transport::Socket>>(
            std::move(socket));
      });
  auto client = NewClient();
  EXPECT_THAT(client->CallRaw("svc", "Svc.Do", {}),
              IsOkAndHolds(::testing::Field(&Message::body, "new")));
}

TEST_F(ClientTest, WrappersRunOutermostFirst) {
  std::vector<std::string> order;
  auto wrapper = [&order](std::string name) {
    return [&order, name](CallFunc next) -> CallFunc {
      return [&order, name, next](const CallRequest& request,
                                  const CallOptions& options) {
        order.push_back(name + ">");
        auto result = next(request, options);
        order.push_back("<" + name);
        return result;
      };
    };
  };
  auto client = NewClient({.wrappers = {wrapper("outer"), wrapper("inner")}});
  ASSERT_THAT(client->CallRaw("svc", "Svc.Do", {}), IsOk());
  EXPECT_THAT(order,
              ::testing::ElementsAre("outer>", "inner>", "<inner", "<outer"));
}

TEST_F(ClientTest, AnUnknownServiceIsNotFoundWithoutDialling) {
  auto client = NewClient();
  EXPECT_THAT(client->CallRaw("nobody", "X.Y", {}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("'nobody'")));
  EXPECT_TRUE(dialled_.empty());
}

}  // namespace
}  // namespace micro_nats::service
