// Copyright 2026 The micro-nats Authors.
//
// go-micro's registry JSON, written as go-micro writes it (encoding/json of
// registry.Service and registry.Result), decoded and encoded back.

#include "registry/nats/internal/codec.h"

#include <random>
#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "status/status_matchers.h"

namespace micro_nats::registry::registry_internal {
namespace {

using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::SizeIs;

// What go-micro's NATS registry publishes as a query: a Result with only
// the name set (nil slices and maps are null), and a Timestamp.
constexpr char kGoMicroQuery[] =
    R"({"Action":"get","Service":{"name":"greeter","version":"","metadata":null,)"
    R"("endpoints":null,"nodes":null},"Timestamp":0})";

// A reply: one registry.Service.
constexpr char kGoMicroReply[] = R"({
  "name": "greeter",
  "version": "latest",
  "metadata": {"protocol": "grpc"},
  "endpoints": [{
    "name": "Greeter.Hello",
    "request": {"name": "Request", "type": "Request",
                "values": [{"name": "name", "type": "string", "values": null}]},
    "response": {"name": "Response", "type": "Response", "values": null},
    "metadata": {"stream": "false"}
  }, {
    "name": "Greeter.Ping", "request": null, "response": null, "metadata": null
  }],
  "nodes": [{"id": "greeter-1", "address": "10.0.0.1:8080",
             "metadata": {"broker": "nats", "registry": "nats"}}]
})";

// A watch event.
constexpr char kGoMicroEvent[] =
    R"({"Action":"delete","Service":{"name":"greeter","version":"latest",)"
    R"("metadata":null,"endpoints":null,"nodes":[{"id":"greeter-1",)"
    R"("address":"10.0.0.1:8080","metadata":null}]},"Timestamp":1700000000})";

TEST(CodecTest, DecodesGoMicrosQuery) {
  auto query = DecodeResult(kGoMicroQuery);
  ASSERT_THAT(query, IsOk());
  EXPECT_EQ(query->action, "get");
  EXPECT_EQ(query->service.name, "greeter");
  EXPECT_TRUE(query->service.nodes.empty());
}

TEST(CodecTest, DecodesGoMicrosReply) {
  auto service = DecodeService(kGoMicroReply);
  ASSERT_THAT(service, IsOk());
  EXPECT_EQ(service->name, "greeter");
  EXPECT_EQ(service->version, "latest");
  EXPECT_EQ(service->metadata.at("protocol"), "grpc");
  ASSERT_THAT(service->endpoints, SizeIs(2));
  const Endpoint& hello = service->endpoints[0];
  EXPECT_EQ(hello.name, "Greeter.Hello");
  ASSERT_TRUE(hello.request.has_value());
  EXPECT_EQ(hello.request->values.at(0).name, "name");
  EXPECT_EQ(hello.request->values.at(0).type, "string");
  EXPECT_EQ(hello.metadata.at("stream"), "false");
  EXPECT_FALSE(service->endpoints[1].request.has_value());
  ASSERT_THAT(service->nodes, SizeIs(1));
  EXPECT_EQ(service->nodes[0].id, "greeter-1");
  EXPECT_EQ(service->nodes[0].address, "10.0.0.1:8080");
  EXPECT_EQ(service->nodes[0].metadata.at("broker"), "nats");
}

TEST(CodecTest, DecodesGoMicrosWatchEvent) {
  auto event = DecodeResult(kGoMicroEvent);
  ASSERT_THAT(event, IsOk());
  EXPECT_EQ(event->action, "delete");
  ASSERT_THAT(event->service.nodes, SizeIs(1));
  EXPECT_EQ(event->service.nodes[0].id, "greeter-1");
}

// Re-parses both as generic JSON (google.protobuf.Value) so the comparison
// ignores key order and spacing, not content.
void ExpectSameJson(const std::string& ours, const std::string& theirs) {
  google::protobuf::Value a, b;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(ours, &a).ok());
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(theirs, &b).ok());
  EXPECT_EQ(a.DebugString(), b.DebugString()) << ours << "\nvs\n" << theirs;
}

TEST(CodecTest, EncodesServiceInGoMicrosShape) {
  auto service = DecodeService(kGoMicroReply);
  ASSERT_THAT(service, IsOk());
  // go-micro writes null for a nil request and for nil maps and slices; we
  // write {} and [] and leave a missing request out. Go reads both the
  // same, so compare against go-micro's text with those spelled our way.
  const std::string expected = R"({
    "name": "greeter", "version": "latest", "metadata": {"protocol": "grpc"},
    "endpoints": [{
      "name": "Greeter.Hello",
      "request": {"name": "Request", "type": "Request",
                  "values": [{"name": "name", "type": "string", "values": []}]},
      "response": {"name": "Response", "type": "Response", "values": []},
      "metadata": {"stream": "false"}
    }, {"name": "Greeter.Ping", "metadata": {}}],
    "nodes": [{"id": "greeter-1", "address": "10.0.0.1:8080",
               "metadata": {"broker": "nats", "registry": "nats"}}]})";
  ExpectSameJson(EncodeService(*service), expected);
}

TEST(CodecTest, EncodesResultWithGoFieldNames) {
  const std::string json =
      EncodeResult({"create", Service{.name = "g",
                                      .version = "1",
                                      .nodes = {{.id = "n", .address = "a"}}}});
  ExpectSameJson(json, R"({"Action": "create", "Service": {
      "name": "g", "version": "1", "metadata": {}, "endpoints": [],
      "nodes": [{"id": "n", "address": "a", "metadata": {}}]}})");
  auto back = DecodeResult(json);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->service.nodes.at(0).id, "n");
}

TEST(CodecTest, MalformedJsonIsInvalidArgument) {
  for (const char* bad :
       {"", "{", "not json", R"({"name": 5})", R"({"nodes": "x"})", "[1,2]"}) {
    EXPECT_THAT(DecodeService(bad),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("malformed registry service JSON")))
        << bad;
  }
  EXPECT_THAT(DecodeResult(R"({"Action": ["get"]})"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// Values nest (a request's fields have fields): a peer cannot send a nesting
// deep enough to exhaust the stack.
TEST(CodecTest, DeeplyNestedValuesAreRefusedNotACrash) {
  std::string json = R"({"name":"s","endpoints":[{"name":"e","request":)";
  constexpr int kDepth = 100000;
  for (int i = 0; i < kDepth; ++i) json += R"({"name":"v","values":[)";
  for (int i = 0; i < kDepth; ++i) json += "]}";
  json += "}]}";
  EXPECT_THAT(DecodeService(json),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// Whatever arrives, the decoder answers with a value or InvalidArgument:
// go-micro's own messages with bytes changed, dropped and repeated, from a
// fixed seed (run it under --config=asan to see memory errors too).
TEST(CodecTest, CorruptedMessagesDecodeOrAreInvalidArgument) {
  std::mt19937 random(20261127);
  int decoded = 0;
  int refused = 0;
  for (const char* sample : {kGoMicroQuery, kGoMicroReply, kGoMicroEvent}) {
    for (int round = 0; round < 3000; ++round) {
      std::string json(sample);
      const int edits = 1 + static_cast<int>(random() % 4);
      for (int e = 0; e < edits && !json.empty(); ++e) {
        const size_t at = random() % json.size();
        switch (random() % 3) {
          case 0:
            json[at] = static_cast<char>(random() % 256);
            break;
          case 1:
            json.erase(at, 1 + random() % 8);
            break;
          default:
            json.insert(at, json.substr(at, 1 + random() % 8));
            break;
        }
      }
      for (auto result :
           {DecodeResult(json).status(), DecodeService(json).status()}) {
        if (result.ok()) {
          ++decoded;
        } else {
          ASSERT_THAT(result, StatusIs(absl::StatusCode::kInvalidArgument))
              << json;
          ++refused;
        }
      }
    }
  }
  // Both outcomes happen, so the corruption neither always nor never breaks
  // the JSON.
  EXPECT_GT(decoded, 0);
  EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace micro_nats::registry::registry_internal
