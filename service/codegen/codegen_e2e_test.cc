// Copyright 2026 The micro-nats Authors.
//
// Generated clients call generated handlers, on the memory stack and on
// NATS: every rpc of the test protos, sync and async, idempotent methods
// registered so. And the generated gmock client stands in for a real one.

#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/codegen/stacks_test_base.h"
#include "service/codegen/testdata/nopkg.micro.h"
#include "service/codegen/testdata/shop.micro.h"
#include "service/codegen/testdata/shop.micro_mock.h"
#include "status/status_matchers.h"

namespace micro_test::shop::v1 {
namespace {

using ::micro_nats::service::Context;
using ::micro_nats::service::Service;
using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::IsOkAndHolds;
using ::micro_nats::testing::StatusIs;
using ::micro_test::common::Id;

class Shop : public CatalogHandler, public OrdersHandler {
 public:
  absl::Status List(Context&, const ListRequest& request,
                    ListResponse* response) override {
    for (int i = 0; i < request.limit(); ++i) {
      Item* item = response->add_items();
      item->mutable_id()->set_value("item-" + std::to_string(i));
      item->mutable_details()->set_name("thing " + std::to_string(i));
    }
    return absl::OkStatus();
  }
  absl::Status Get(Context&, const Id& request,
                   Item::Details* response) override {
    if (request.value() != "item-1") {
      return absl::NotFoundError("no item " + request.value());
    }
    response->set_name("thing 1");
    response->set_price_cents(250);
    return absl::OkStatus();
  }
  absl::Status Place(Context& ctx, const Order& request,
                     Id* response) override {
    response->set_value(std::to_string(request.items_size()) + " items for " +
                        std::string(ctx.Get("Customer")));
    return absl::OkStatus();
  }
};

class Pinger : public ::PingerHandler {
 public:
  absl::Status Ping(Context&, const ::PingRequest& request,
                    ::PingReply* response) override {
    response->set_text("pong: " + request.text());
    return absl::OkStatus();
  }
};

class CodegenEndToEndTest
    : public ::micro_nats::service::codegen_testing::StacksTest {
 protected:
  void SetUp() override {
    StacksTest::SetUp();
    if (HasFatalFailure()) return;
    server_ = NewService("shop");
    caller_ = NewService("shopper");
    ASSERT_TRUE(server_ && caller_);
    ASSERT_THAT(RegisterCatalogHandler(server_->server(), shop_), IsOk());
    ASSERT_THAT(RegisterOrdersHandler(server_->server(), shop_), IsOk());
    ASSERT_THAT(RegisterPingerHandler(server_->server(), pinger_), IsOk());
    ASSERT_THAT(server_->Start(), IsOk());
  }

  // What `of` says of each endpoint of "shop" in the registry, by name.
  template <typename Of>
  std::map<std::string, std::string> EndpointsSay(Of of) {
    std::map<std::string, std::string> said;
    auto versions = caller_->registry().Lookup("shop");
    EXPECT_THAT(versions, IsOk());
    if (!versions.ok()) return said;
    EXPECT_EQ(versions->services.size(), 1u);
    for (const auto& service : versions->services) {
      for (const auto& endpoint : service.endpoints) {
        said[endpoint.name] = of(endpoint);
      }
    }
    return said;
  }

  Shop shop_;
  Pinger pinger_;
  std::unique_ptr<Service> server_;
  std::unique_ptr<Service> caller_;
};

TEST_P(CodegenEndToEndTest, EveryRpcOfEveryServiceAnswers) {
  CatalogClient catalog(caller_->client(), "shop");
  OrdersClient orders(caller_->client(), "shop");
  ::PingerClient pinger(caller_->client(), "shop");

  ListRequest list;
  list.set_limit(3);
  auto listed = catalog.List(list);
  ASSERT_THAT(listed, IsOk());
  ASSERT_EQ(listed->items_size(), 3);
  EXPECT_EQ(listed->items(2).details().name(), "thing 2");

  Id id;
  id.set_value("item-1");
  EXPECT_THAT(catalog.Get(id), IsOkAndHolds(::testing::Property(
                                   &Item::Details::price_cents, 250)));
  id.set_value("item-9");
  EXPECT_THAT(catalog.Get(id),
              StatusIs(absl::StatusCode::kNotFound, "no item item-9"));

  Order order;
  order.add_items()->set_value("item-1");
  order.add_items()->set_value("item-2");
  EXPECT_THAT(orders.Place(order, {.metadata = {{"Customer", "ada"}}}),
              IsOkAndHolds(::testing::Property(&Id::value, "2 items for ada")));

  ::PingRequest ping;
  ping.set_text("hi");
  EXPECT_THAT(
      pinger.Ping(ping, {.content_type = "application/json"}),
      IsOkAndHolds(::testing::Property(&::PingReply::text, "pong: hi")));
}

TEST_P(CodegenEndToEndTest, AsyncMethodsAnswerToo) {
  CatalogClient catalog(caller_->client(), "shop");
  std::promise<absl::StatusOr<ListResponse>> answered;
  ListRequest list;
  list.set_limit(2);
  catalog.ListAsync(list, {}, [&](absl::StatusOr<ListResponse> response) {
    answered.set_value(std::move(response));
  });
  auto response = answered.get_future().get();
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->items_size(), 2);
}

TEST_P(CodegenEndToEndTest, EndpointsAreRegisteredWithTheirTypes) {
  std::map<std::string, std::string> request_types =
      EndpointsSay([](const auto& endpoint) {
        return endpoint.request ? endpoint.request->name : "";
      });
  EXPECT_EQ(request_types[CatalogNames::kList], "ListRequest");
  EXPECT_EQ(request_types[CatalogNames::kGet], "Id");
  EXPECT_EQ(request_types[OrdersNames::kPlace], "Order");
  EXPECT_EQ(request_types[::PingerNames::kPing], "PingRequest");
}

// The .proto's idempotency_level reaches clients through the registry:
// Catalog's methods (NO_SIDE_EFFECTS, IDEMPOTENT) are registered
// idempotent, which the registry publishes; Orders.Place is neither. The
// generated client marks nothing itself, so the registry's word stays the
// lowest (retry.h): the caller's CallOptions and an operator's
// ClientOptions::policies still decide.
TEST_P(CodegenEndToEndTest, IdempotentMethodsAreRegisteredSo) {
  std::map<std::string, std::string> idempotent =
      EndpointsSay([](const auto& endpoint) -> std::string {
        auto it = endpoint.metadata.find("idempotent");
        return it == endpoint.metadata.end() ? "(none)" : it->second;
      });
  EXPECT_EQ(idempotent[CatalogNames::kList], "true");
  EXPECT_EQ(idempotent[CatalogNames::kGet], "true");
  EXPECT_EQ(idempotent[OrdersNames::kPlace], "(none)");
  EXPECT_EQ(idempotent[::PingerNames::kPing], "(none)");

  // What each call's options said, as the client's wrappers see them.
  std::mutex mu;
  std::vector<std::pair<std::string, absl::optional<bool>>> seen;
  ::micro_nats::service::ClientOptions client;
  client.wrappers.push_back([&](::micro_nats::service::CallFunc next) {
    return [&, next](const ::micro_nats::service::CallRequest& request,
                     const ::micro_nats::service::CallOptions& options) {
      {
        std::lock_guard<std::mutex> lock(mu);
        seen.emplace_back(request.endpoint, options.idempotent);
      }
      return next(request, options);
    };
  });
  std::unique_ptr<Service> caller = NewService("marked", std::move(client));
  ASSERT_NE(caller, nullptr);
  CatalogClient catalog(caller->client(), "shop");
  ListRequest list;
  list.set_limit(1);
  ASSERT_THAT(catalog.List(list), IsOk());
  ASSERT_THAT(catalog.List(list, {.idempotent = false}), IsOk());
  std::lock_guard<std::mutex> lock(mu);
  using Seen = std::pair<std::string, absl::optional<bool>>;
  EXPECT_THAT(seen,
              ::testing::ElementsAre(Seen{CatalogNames::kList, absl::nullopt},
                                     Seen{CatalogNames::kList, false}));
}

INSTANTIATE_TEST_SUITE_P(Stacks, CodegenEndToEndTest, ::testing::Bool(),
                         CodegenEndToEndTest::StackName);

// Code under test that depends on the client interface, as a user's would.
std::string CheapestName(CatalogClientInterface& catalog) {
  ListRequest request;
  request.set_limit(10);
  auto listed = catalog.List(request);
  if (!listed.ok() || listed->items_size() == 0) return "none";
  return listed->items(0).details().name();
}

TEST(MockCatalogClientTest, StandsInForTheClient) {
  MockCatalogClient catalog;
  ListResponse response;
  response.add_items()->mutable_details()->set_name("pencil");
  EXPECT_CALL(catalog,
              List(::testing::Property(&ListRequest::limit, 10), ::testing::_))
      .WillOnce(::testing::Return(response));
  EXPECT_EQ(CheapestName(catalog), "pencil");
  EXPECT_CALL(catalog, List(::testing::_, ::testing::_))
      .WillOnce(::testing::Return(absl::UnavailableError("down")));
  EXPECT_EQ(CheapestName(catalog), "none");
}

TEST(NamesTest, AreTheProtoNames) {
  EXPECT_STREQ(CatalogNames::kFullName, "micro_test.shop.v1.Catalog");
  EXPECT_STREQ(CatalogNames::kGet, "Catalog.Get");
  EXPECT_STREQ(CatalogNames::kGetRequestType, "micro_test.common.Id");
  EXPECT_STREQ(CatalogNames::kGetResponseType,
               "micro_test.shop.v1.Item.Details");
}

}  // namespace
}  // namespace micro_test::shop::v1
