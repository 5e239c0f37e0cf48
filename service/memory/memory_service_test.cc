// Copyright 2026 The micro-nats Authors.

#include "service/memory/memory_service.h"

#include "absl/strings/str_cat.h"
#include "service/testing/e2e.h"

namespace micro_nats::service {
namespace {

class MemoryEnvironment : public ServiceEnvironment {
 public:
  absl::StatusOr<std::unique_ptr<Service>> NewService(
      const std::string& name, ServerOptions server,
      ClientOptions client) override {
    return NewMemoryService({.identity = {.name = name},
                             .network = network_,
                             .server = std::move(server),
                             .client = std::move(client)});
  }

 private:
  const std::shared_ptr<MemoryNetwork> network_ = NewMemoryNetwork();
};

std::unique_ptr<ServiceEnvironment> MakeMemoryEnvironment() {
  return std::make_unique<MemoryEnvironment>();
}

INSTANTIATE_TEST_SUITE_P(Memory, ServiceEndToEndTest,
                         ::testing::Values(ServiceBackend{
                             "Memory", &MakeMemoryEnvironment}),
                         ServiceBackendName);

TEST(MemoryServiceTest, ServicesWithoutANetworkShareTheProcessOne) {
  auto server = NewMemoryService({.identity = {.name = "process-wide"}});
  ASSERT_THAT(server, ::micro_nats::testing::IsOk());
  ASSERT_THAT((*server)->server().Handle(
                  "P.Call",
                  [](Context&, const Message& request, Message* response) {
                    response->body = "got " + request.body;
                    return absl::OkStatus();
                  }),
              ::micro_nats::testing::IsOk());
  ASSERT_THAT((*server)->Start(), ::micro_nats::testing::IsOk());
  auto client = NewMemoryService({.identity = {.name = "process-wide-client"}});
  ASSERT_THAT(client, ::micro_nats::testing::IsOk());
  EXPECT_THAT(
      (*client)->client().CallRaw("process-wide", "P.Call", {.body = "bytes"}),
      ::micro_nats::testing::IsOkAndHolds(
          ::testing::Field(&Message::body, "got bytes")));
}

// Picks the node `id` while it is a candidate.
class PreferNode : public Selector {
 public:
  explicit PreferNode(std::string id) : id_(std::move(id)) {}
  registry::Node Select(absl::string_view,
                        const std::vector<registry::Node>& nodes) override {
    for (const registry::Node& node : nodes) {
      if (node.id == id_) return node;
    }
    return nodes.front();
  }

 private:
  const std::string id_;
};

TEST(MemoryServiceTest, ARetryAfterTheMessageWasTakenSendsItWhole) {
  // The memory transport takes a call's request (no copy): a node that
  // ends the socket unanswered has it, and the retry on the next node still
  // sends the same body and metadata.
  using ::micro_nats::testing::IsOk;
  using ::micro_nats::testing::IsOkAndHolds;
  auto network = NewMemoryNetwork();
  auto server = NewMemoryService(
      {.identity = {.name = "taken-retry"}, .network = network});
  ASSERT_THAT(server, IsOk());
  ASSERT_THAT((*server)->server().Handle(
                  "T.Call",
                  [](Context& ctx, const Message& request, Message* response) {
                    auto kept = ctx.metadata().find("X-Kept");
                    response->body = absl::StrCat("got ", request.body, " and ",
                                                  kept == ctx.metadata().end()
                                                      ? "no header"
                                                      : kept->second);
                    return absl::OkStatus();
                  }),
              IsOk());
  ASSERT_THAT((*server)->Start(), IsOk());
  // A node of the same service that closes each socket unanswered (after it
  // took the request: only an idempotent call is sent again, retry.h).
  auto dropper = network->transport->Listen("memory.taken.dropper");
  ASSERT_THAT(dropper, IsOk());
  ASSERT_THAT((*dropper)->AcceptMessages(
                  [](const std::shared_ptr<transport::Socket>& socket,
                     Message) { socket->Close().IgnoreError(); }),
              IsOk());
  ASSERT_THAT(
      network->registry->Register(
          {.name = "taken-retry",
           .nodes = {{.id = "dropper", .address = "memory.taken.dropper"}}},
          {}),
      IsOk());
  auto caller = NewMemoryService(
      {.identity = {.name = "taken-retry-caller"}, .network = network});
  ASSERT_THAT(caller, IsOk());
  EXPECT_THAT(
      (*caller)->client().CallRaw(
          "taken-retry", "T.Call", {.body = "the body"},
          {.selector = std::make_shared<PreferNode>("dropper"),
           .metadata = {{"X-Kept", "kept"}},
           .idempotent = true}),
      IsOkAndHolds(::testing::Field(&Message::body, "got the body and kept")));
  EXPECT_EQ((*caller)->client().stats().retries, 1);
  (*server)->Stop(absl::Now() + absl::Seconds(5)).IgnoreError();
}

TEST(MemoryServiceTest, AnIdentityFieldSetTwiceMustAgree) {
  using ::micro_nats::testing::StatusIs;
  using ::testing::AllOf;
  using ::testing::HasSubstr;
  EXPECT_THAT(NewMemoryService({.identity = {.name = "outer"},
                                .server = {.identity = {.name = "inner"}}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("name"), HasSubstr("'outer'"),
                             HasSubstr("'inner'"))));
  EXPECT_THAT(NewMemoryService({.identity = {.name = "v", .version = "1.0.0"},
                                .server = {.identity = {.version = "2.0.0"}}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("version"), HasSubstr("'1.0.0'"),
                             HasSubstr("'2.0.0'"))));
  EXPECT_THAT(
      NewMemoryService({.identity = {.name = "m", .metadata = {{"a", "1"}}},
                        .server = {.identity = {.metadata = {{"a", "2"}}}}}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("metadata"), HasSubstr("{a=1}"),
                     HasSubstr("{a=2}"))));
}

TEST(MemoryServiceTest, AnIdentityFieldSetOnceIsTakenFromEitherLevel) {
  // The same value at both levels is no conflict.
  auto both = NewMemoryService(
      {.identity = {.name = "same", .version = "3.0.0"},
       .server = {.identity = {.name = "same", .metadata = {{"k", "v"}}}}});
  ASSERT_THAT(both, ::micro_nats::testing::IsOk());
  const registry::Service registration = (*both)->server().registration();
  EXPECT_EQ(registration.name, "same");
  EXPECT_EQ(registration.version, "3.0.0");
  EXPECT_EQ(registration.metadata, (Metadata{{"k", "v"}}));
  // Only the server's: the name and version are its.
  auto inner = NewMemoryService(
      {.server = {.identity = {.name = "inner-only", .version = "4.0.0"}}});
  ASSERT_THAT(inner, ::micro_nats::testing::IsOk());
  EXPECT_EQ((*inner)->name(), "inner-only");
  EXPECT_EQ((*inner)->server().registration().version, "4.0.0");
  // Neither: "latest".
  auto plain = NewMemoryService({.identity = {.name = "plain"}});
  ASSERT_THAT(plain, ::micro_nats::testing::IsOk());
  EXPECT_EQ((*plain)->server().registration().version, "latest");
}

TEST(MemoryServiceTest, NoNameAtEitherLevelIsRefused) {
  EXPECT_THAT(NewMemoryService({}), ::micro_nats::testing::StatusIs(
                                        absl::StatusCode::kInvalidArgument));
}

// InvalidArgument saying `what`.
auto Invalid(const char* what) {
  return ::micro_nats::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                         ::testing::HasSubstr(what));
}

TEST(MemoryServiceTest, ServerCreateChecksItsOptionsOnce) {
  const std::shared_ptr<MemoryNetwork> network = NewMemoryNetwork();
  auto create = [&](ServerOptions options) {
    return Server::Create(std::move(options), network->registry,
                          network->transport, nullptr);
  };
  EXPECT_THAT(create({}), Invalid("service name"));
  EXPECT_THAT(create({.identity = {.name = "has space"}}),
              Invalid("service name"));
  EXPECT_THAT(create({.identity = {.name = "s", .version = "1 0"}}),
              Invalid("version"));
  EXPECT_THAT(create({.identity = {.name = "s"}, .id = "a b"}),
              Invalid("node id"));
  EXPECT_THAT(Server::Create({.identity = {.name = "s"}}, nullptr,
                             network->transport, nullptr),
              Invalid("registry"));
  EXPECT_THAT(
      create({.identity = {.name = "s"}, .listen = {.handler_threads = 0}}),
      Invalid("handler_threads"));
  ServerOptions overload{.identity = {.name = "s"}};
  overload.listen.on_overload = [](const std::shared_ptr<transport::Socket>&,
                                   Message) {};
  EXPECT_THAT(create(std::move(overload)), Invalid("on_overload"));
  EXPECT_THAT(
      create({.identity = {.name = "s"}, .register_ttl = absl::ZeroDuration()}),
      Invalid("register_ttl"));
  // What Create fills in: the version and a node id after the name.
  auto made = create({.identity = {.name = "made"}});
  ASSERT_THAT(made, ::micro_nats::testing::IsOk());
  EXPECT_EQ((*made)->registration().version, "latest");
  EXPECT_THAT((*made)->id(), ::testing::StartsWith("made-"));
}

TEST(MemoryServiceTest, ClientCreateChecksItsOptionsOnce) {
  const std::shared_ptr<MemoryNetwork> network = NewMemoryNetwork();
  auto create = [&](ClientOptions options) {
    return Client::Create(std::move(options), network->registry,
                          network->transport, nullptr);
  };
  EXPECT_THAT(Client::Create({}, network->registry, nullptr, nullptr),
              Invalid("transport"));
  EXPECT_THAT(create({.content_type = "text/plain"}), Invalid("text/plain"));
  EXPECT_THAT(create({.timeout = absl::ZeroDuration()}), Invalid("timeout"));
  EXPECT_THAT(create({.retries = -1}), Invalid("retries"));
  EXPECT_THAT(create({.async_threads = 0}), Invalid("async_threads"));
  EXPECT_THAT(create({.socket_idle_timeout = absl::ZeroDuration()}),
              Invalid("socket_idle_timeout"));
  EXPECT_THAT(create({}), ::micro_nats::testing::IsOk());
}

}  // namespace
}  // namespace micro_nats::service
