// Copyright 2026 The micro-nats Authors.
//
// stream_suite.h: the streaming contract (service/stream.h), run by the
// memory stack and the NATS stack alike: the three kinds, typed and raw,
// ordering, half-close, cancel each way, deadlines, handler errors, flow
// control with a small window, a slow stream beside a fast one and a call,
// the server's refusals and Stop.
//
// A stack supplies a StreamEnvironment that makes services; on NATS each
// has its own connection, as separate processes would.
//
//   INSTANTIATE_TEST_SUITE_P(Memory, StreamTest,
//                            ::testing::Values(StreamBackend{
//                                "Memory", &MakeMemoryStreamEnvironment}),
//                            StreamBackendName);

#ifndef MICRO_NATS_SERVICE_TESTING_STREAM_SUITE_H_
#define MICRO_NATS_SERVICE_TESTING_STREAM_SUITE_H_

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/service.h"
#include "service/stream.h"
#include "service/testing/test.pb.h"
#include "status/status_matchers.h"
#include "testing/sanitizers.h"
#include "testing/sync.h"

namespace micro_nats::service {

class StreamEnvironment {
 public:
  virtual ~StreamEnvironment() = default;
  // A new service named `name`, not started.
  virtual absl::StatusOr<std::unique_ptr<Service>> NewService(
      const std::string& name, ServerOptions server = {},
      ClientOptions client = {}) = 0;
};

struct StreamBackend {
  std::string name;
  std::function<std::unique_ptr<StreamEnvironment>()> make;
};

inline void PrintTo(const StreamBackend& backend, std::ostream* os) {
  *os << backend.name;
}

inline std::string StreamBackendName(
    const ::testing::TestParamInfo<StreamBackend>& info) {
  return info.param.name;
}

// The process's peak resident set so far (getrusage), in KiB.
inline int64_t PeakRssKiB() {
  struct rusage usage = {};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

// Linux: the resident set now and its peak since the last ResetRssPeak
// (/proc/self/status VmRSS, VmHWM), in KiB; -1 when unknown. getrusage's
// peak is the process's whole life, so a case after a bigger one shows
// nothing of its own there.
struct Rss {
  int64_t now = -1;
  int64_t peak = -1;
};
inline Rss ReadRss() {
  Rss rss;
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    int64_t* field = line.rfind("VmRSS:", 0) == 0   ? &rss.now
                     : line.rfind("VmHWM:", 0) == 0 ? &rss.peak
                                                    : nullptr;
    if (field != nullptr) *field = std::strtoll(line.c_str() + 6, nullptr, 10);
  }
  return rss;
}
// Restarts VmHWM from the resident set now (Linux 4.0+); false when not.
inline bool ResetRssPeak() {
  std::ofstream clear_refs("/proc/self/clear_refs");
  clear_refs << "5";
  clear_refs.flush();
  return clear_refs.good();
}

using StreamItem = ::micro_nats::service::testing::StreamItem;
using ItemServerStream = ServerStreamOf<StreamItem, StreamItem>;
using ItemClientStream = ClientStreamOf<StreamItem, StreamItem>;
using ItemStreamHandler =
    std::function<absl::Status(Context&, ItemServerStream&)>;

// Server::HandleStream<StreamItem, StreamItem>, without a comma to trip
// test macros.
inline absl::Status HandleItems(Server& server, absl::string_view endpoint,
                                ItemStreamHandler handler) {
  return server.HandleStream<StreamItem, StreamItem>(endpoint,
                                                     std::move(handler));
}

inline StreamItem Item(int64_t seq, const std::string& text = "") {
  StreamItem item;
  item.set_seq(seq);
  item.set_text(text);
  return item;
}

using ::micro_nats::testing::Eventually;
using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::IsOkAndHolds;
using ::micro_nats::testing::StatusIs;
using ::testing::HasSubstr;

class StreamTest : public ::testing::TestWithParam<StreamBackend> {
 protected:
  static constexpr char kService[] = "streamer";
  // Typed: server streaming (the first item says how many to send back),
  // client streaming (answers how many came, and whether in order),
  // bidirectional (echoes each; "fail" fails it, "end" ends it early).
  static constexpr char kCount[] = "Items.Count";
  static constexpr char kSum[] = "Items.Sum";
  static constexpr char kEcho[] = "Items.Echo";
  // The same raw: bodies are decimal numbers, "X-Seq" headers.
  static constexpr char kRawCount[] = "Raw.Count";
  static constexpr char kRawSum[] = "Raw.Sum";
  static constexpr char kRawEcho[] = "Raw.Echo";
  // A plain request/response endpoint beside them.
  static constexpr char kUnary[] = "Plain.Call";

  // What a stream's end must beat: far below the streams' own deadline
  // (kLong), so an end that only the deadline brought fails.
  static absl::Duration Prompt() {
    return ::micro_nats::testing::UnderSanitizers(absl::Seconds(5),
                                                  absl::Seconds(15));
  }
  static constexpr absl::Duration kLong = absl::Seconds(120);
  // Waits that only fail a broken test.
  static constexpr absl::Duration kWait = absl::Seconds(30);

  // How one handler ended: the status of the Recv or Send that failed,
  // and what its Context said then.
  struct HandlerEnd {
    std::string endpoint;
    absl::Status status;
    bool cancelled = false;
    absl::Time at;
  };

  void SetUp() override {
    env_ = GetParam().make();
    ASSERT_NE(env_, nullptr);
    auto caller = env_->NewService("stream-caller");
    ASSERT_THAT(caller, ::micro_nats::testing::IsOk());
    caller_ = std::move(caller).value();
  }

  void TearDown() override {
    caller_.reset();
    servers_.clear();
    env_.reset();
  }

  absl::Status End(absl::string_view endpoint, const Context& ctx,
                   absl::Status status) {
    ends_.Add({std::string(endpoint), status, ctx.Cancelled(), absl::Now()});
    return status;
  }

  // Starts a service `name` with every endpoint above and waits until the
  // caller's registry knows it.
  Service* StartStreamer(ServerOptions options = {},
                         const std::string& name = kService) {
    auto service = env_->NewService(name, std::move(options));
    EXPECT_THAT(service, ::micro_nats::testing::IsOk());
    if (!service.ok()) return nullptr;
    Server& server = (*service)->server();
    EXPECT_THAT(RegisterTyped(server), ::micro_nats::testing::IsOk());
    EXPECT_THAT(RegisterRaw(server), ::micro_nats::testing::IsOk());
    EXPECT_THAT(
        server.Handle(kUnary,
                      [](Context&, const Message& request, Message* response) {
                        response->body = request.body;
                        return absl::OkStatus();
                      }),
        ::micro_nats::testing::IsOk());
    EXPECT_THAT((*service)->Start(), ::micro_nats::testing::IsOk());
    servers_.push_back(std::move(service).value());
    if (!::micro_nats::testing::Eventually(
            [&] {
              auto lookup = caller_->registry().GetService(name);
              return lookup.ok() && !lookup->empty() &&
                     (*lookup)[0].nodes.size() == 1;
            },
            kWait, "the streamer registered")) {
      ADD_FAILURE() << name << " was not found";
      return nullptr;
    }
    return servers_.back().get();
  }

  absl::Status RegisterTyped(Server& server) {
    MN_RETURN_IF_ERROR(HandleItems(
        server, kCount,
        [this](Context& ctx, ItemServerStream& stream) -> absl::Status {
          absl::StatusOr<StreamItem> first = stream.Recv();
          if (!first.ok()) return End(kCount, ctx, first.status());
          StreamItem item;
          item.set_padding(std::string(first->size(), 'p'));
          for (int64_t i = 0; first->count() == 0 || i < first->count(); ++i) {
            item.set_seq(i);
            absl::Status sent = stream.Send(item);
            if (!sent.ok()) return End(kCount, ctx, sent);
            sent_.fetch_add(1);
          }
          half_closed_.Add(stream.Recv().status());
          if (first->text() == "fail-at-end") {
            return absl::PermissionDeniedError("no more for you");
          }
          return absl::OkStatus();
        }));
    MN_RETURN_IF_ERROR(HandleItems(
        server, kSum,
        [this](Context& ctx, ItemServerStream& stream) -> absl::Status {
          int64_t count = 0;
          std::string order = "in order";
          for (;;) {
            absl::StatusOr<StreamItem> item = stream.Recv();
            if (absl::IsOutOfRange(item.status())) break;
            if (!item.ok()) return End(kSum, ctx, item.status());
            if (item->seq() != count && order == "in order") {
              order = absl::StrCat("item ", count, " was ", item->seq());
            }
            ++count;
          }
          StreamItem total;
          total.set_count(count);
          total.set_text(order);
          return stream.Send(total);
        }));
    return HandleItems(
        server, kEcho,
        [this](Context& ctx, ItemServerStream& stream) -> absl::Status {
          for (;;) {
            absl::StatusOr<StreamItem> item = stream.Recv();
            if (absl::IsOutOfRange(item.status())) {
              half_closed_.Add(item.status());
              return absl::OkStatus();
            }
            if (!item.ok()) return End(kEcho, ctx, item.status());
            received_.Add(item->seq());
            if (item->text() == "fail") {
              return absl::InvalidArgumentError(
                  absl::StrCat("bad item ", item->seq()));
            }
            if (item->text() == "end") return absl::OkStatus();
            absl::Status sent = stream.Send(*item);
            if (!sent.ok()) return End(kEcho, ctx, sent);
          }
        });
  }

  absl::Status RegisterRaw(Server& server) {
    MN_RETURN_IF_ERROR(server.HandleStream(
        kRawCount, [this](Context& ctx, ServerStream& stream) -> absl::Status {
          absl::StatusOr<Message> first = stream.Recv();
          if (!first.ok()) return End(kRawCount, ctx, first.status());
          int count = 0;
          if (!absl::SimpleAtoi(first->body, &count)) {
            return absl::InvalidArgumentError("not a count");
          }
          for (int i = 0; i < count; ++i) {
            absl::Status sent =
                stream.Send({.headers = {{"X-Seq", absl::StrCat(i)}},
                             .body = absl::StrCat(i)});
            if (!sent.ok()) return End(kRawCount, ctx, sent);
          }
          half_closed_.Add(stream.Recv().status());
          return absl::OkStatus();
        }));
    MN_RETURN_IF_ERROR(server.HandleStream(
        kRawSum, [this](Context& ctx, ServerStream& stream) -> absl::Status {
          std::vector<std::string> bodies;
          for (;;) {
            absl::StatusOr<Message> message = stream.Recv();
            if (absl::IsOutOfRange(message.status())) break;
            if (!message.ok()) return End(kRawSum, ctx, message.status());
            bodies.push_back(message->body);
          }
          return stream.Send({.body = absl::StrJoin(bodies, ",")});
        }));
    return server.HandleStream(
        kRawEcho, [this](Context& ctx, ServerStream& stream) -> absl::Status {
          for (;;) {
            absl::StatusOr<Message> message = stream.Recv();
            if (absl::IsOutOfRange(message.status())) return absl::OkStatus();
            if (!message.ok()) return End(kRawEcho, ctx, message.status());
            Message echo = {.body = message->body};
            echo.headers["X-Seq"] = message->headers["X-Seq"];
            echo.headers["X-Trace"] = std::string(ctx.Get("Trace-Id"));
            absl::Status sent = stream.Send(std::move(echo));
            if (!sent.ok()) return End(kRawEcho, ctx, sent);
          }
        });
  }

  // The whole stream's deadline far away (kLong) unless the test says.
  static StreamOptions Options(StreamWindow window = {.messages = 0,
                                                      .bytes = 0}) {
    return {.call = {.timeout = kLong}, .window = window};
  }

  absl::StatusOr<ItemClientStream> Open(absl::string_view endpoint,
                                        StreamOptions options = Options()) {
    return caller_->client().Stream<StreamItem, StreamItem>(kService, endpoint,
                                                            std::move(options));
  }

  // Reads until the stream ends; returns how (OutOfRange: cleanly). Each
  // Recv waits at most kWait.
  static absl::Status ReadAll(ItemClientStream& stream,
                              std::vector<int64_t>* seqs) {
    for (;;) {
      absl::StatusOr<StreamItem> item = stream.Recv(absl::Now() + kWait);
      if (!item.ok()) return item.status();
      seqs->push_back(item->seq());
    }
  }

  // 0, 1, ... count-1, or where it first differs.
  static ::testing::AssertionResult InOrder(const std::vector<int64_t>& seqs,
                                            size_t count) {
    for (size_t i = 0; i < seqs.size(); ++i) {
      if (seqs[i] != static_cast<int64_t>(i)) {
        return ::testing::AssertionFailure()
               << "item " << i << " was " << seqs[i];
      }
    }
    if (seqs.size() != count) {
      return ::testing::AssertionFailure()
             << seqs.size() << " items, not " << count;
    }
    return ::testing::AssertionSuccess();
  }

  // Asks a kCount stream for `count` items of `size` bytes of padding,
  // and half-closes.
  static absl::Status Ask(ItemClientStream& stream, int count, int size = 0) {
    StreamItem request;
    request.set_count(count);
    request.set_size(size);
    MN_RETURN_IF_ERROR(stream.Send(request));
    return stream.CloseSend();
  }

  // Reads 0 ... count-1, then a clean end (OutOfRange).
  static ::testing::AssertionResult ReadsInOrder(ItemClientStream& stream,
                                                 size_t count) {
    std::vector<int64_t> seqs;
    if (absl::Status end = ReadAll(stream, &seqs); !absl::IsOutOfRange(end)) {
      return ::testing::AssertionFailure()
             << "ended with " << end << " after " << seqs.size();
    }
    return InOrder(seqs, count);
  }

  // The first error of a stream opened on `endpoint` and given one item
  // (opening, Send, CloseSend or the first Recv); OK when the item came
  // back (kEcho).
  absl::Status FirstError(absl::string_view endpoint,
                          StreamOptions options = Options()) {
    absl::StatusOr<ItemClientStream> stream =
        Open(endpoint, std::move(options));
    MN_RETURN_IF_ERROR(stream.status());
    MN_RETURN_IF_ERROR(stream->Send(Item(0), absl::Now() + kWait));
    MN_RETURN_IF_ERROR(stream->CloseSend());
    return stream->Recv(absl::Now() + kWait).status();
  }

  // Opens a server stream that sends without end and reads one item of
  // it, then waits until the handler sent `stall_at` (the client's
  // window): it is then held in Send, now or at its next.
  ::testing::AssertionResult Stall(ItemClientStream& stream, int stall_at) {
    StreamItem unbounded;
    unbounded.set_count(0);
    if (absl::Status s = stream.Send(unbounded); !s.ok()) {
      return ::testing::AssertionFailure() << "Send: " << s;
    }
    if (auto first = stream.Recv(absl::Now() + kWait); !first.ok()) {
      return ::testing::AssertionFailure() << "Recv: " << first.status();
    }
    return ::micro_nats::testing::Eventually(
        [&] { return sent_.load() >= stall_at; }, kWait,
        "the handler filled the window");
  }

  // The first handler end is `endpoint`'s, Cancelled with its Context
  // saying so, within Prompt() of `since`.
  void ExpectCancelledEnd(absl::string_view endpoint, absl::Time since) {
    ASSERT_TRUE(ends_.WaitForCount(1, kWait));
    const HandlerEnd end = ends_.Snapshot()[0];
    EXPECT_EQ(end.endpoint, endpoint);
    EXPECT_THAT(end.status, StatusIs(absl::StatusCode::kCancelled));
    EXPECT_TRUE(end.cancelled) << "the handler's Context";
    EXPECT_LT(end.at - since, Prompt());
  }

  // The ends of handlers on `endpoint` so far.
  std::vector<HandlerEnd> EndsOf(absl::string_view endpoint) const {
    std::vector<HandlerEnd> of;
    for (const HandlerEnd& end : ends_.Snapshot()) {
      if (end.endpoint == endpoint) of.push_back(end);
    }
    return of;
  }

  std::unique_ptr<StreamEnvironment> env_;
  std::unique_ptr<Service> caller_;
  std::vector<std::unique_ptr<Service>> servers_;
  // Handlers' state: members, so a handler still running at the end of
  // a test body finds them (services go first, in TearDown).
  ::micro_nats::testing::Collector<HandlerEnd> ends_;
  ::micro_nats::testing::Collector<absl::Status> half_closed_;
  ::micro_nats::testing::Collector<int64_t> received_;
  std::atomic<int64_t> sent_{0};
};

// --- The three kinds, typed and raw, in order ---

TEST_P(StreamTest, ServerStreamingTypedArrivesInOrder) {
  Service* server = StartStreamer();
  ASSERT_NE(server, nullptr);
  constexpr int kItems = 1000;
  MN_ASSERT_OK_AND_ASSIGN(ItemClientStream stream, Open(kCount));
  ASSERT_THAT(Ask(stream, kItems), IsOk());
  EXPECT_TRUE(ReadsInOrder(stream, kItems));
  // The handler's Recv after the one request: OutOfRange (half-closed).
  ASSERT_TRUE(half_closed_.WaitForCount(1, kWait));
  EXPECT_THAT(half_closed_.Snapshot()[0],
              StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_EQ(caller_->client().stats().streams, 1);
  EXPECT_EQ(server->server().stats().streams, 1);
}

TEST_P(StreamTest, ClientStreamingTypedArrivesInOrder) {
  ASSERT_NE(StartStreamer(), nullptr);
  constexpr int kItems = 1000;
  MN_ASSERT_OK_AND_ASSIGN(ItemClientStream stream, Open(kSum));
  for (int i = 0; i < kItems; ++i) {
    ASSERT_THAT(stream.Send(Item(i), absl::Now() + kWait), IsOk()) << i;
  }
  absl::StatusOr<StreamItem> total = stream.CloseAndRecv(absl::Now() + kWait);
  ASSERT_THAT(total, IsOk());
  EXPECT_EQ(total->count(), kItems);
  EXPECT_EQ(total->text(), "in order");
  EXPECT_THAT(stream.Recv(absl::Now() + kWait).status(),
              StatusIs(absl::StatusCode::kOutOfRange));
}

TEST_P(StreamTest, BidirectionalTypedArrivesInOrderBothWays) {
  ASSERT_NE(StartStreamer(), nullptr);
  constexpr int kItems = 1000;
  MN_ASSERT_OK_AND_ASSIGN(ItemClientStream stream, Open(kEcho));
  // Both at once: with windows each way, sending everything before
  // reading would stall both ends.
  std::vector<absl::Status> sends;
  std::thread writer([&] {
    for (int i = 0; i < kItems; ++i) {
      absl::Status sent = stream.Send(Item(i), absl::Now() + kWait);
      if (!sent.ok()) {
        sends.push_back(sent);
        break;
      }
    }
    sends.push_back(stream.CloseSend());
  });
  std::vector<int64_t> seqs;
  EXPECT_THAT(ReadAll(stream, &seqs), StatusIs(absl::StatusCode::kOutOfRange));
  writer.join();
  EXPECT_THAT(sends, ::testing::ElementsAre(IsOk()));
  EXPECT_TRUE(InOrder(seqs, kItems));
  EXPECT_TRUE(InOrder(received_.Snapshot(), kItems));
}

TEST_P(StreamTest, ServerStreamingRawArrivesInOrderWithHeaders) {
  ASSERT_NE(StartStreamer(), nullptr);
  constexpr int kItems = 500;
  MN_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<ClientStream> stream,
      caller_->client().StreamRaw(kService, kRawCount, Options()));
  ASSERT_THAT(stream->Send({.body = absl::StrCat(kItems)}), IsOk());
  ASSERT_THAT(stream->CloseSend(), IsOk());
  int i = 0;
  absl::StatusOr<Message> message;
  while ((message = stream->Recv(absl::Now() + kWait)).ok()) {
    ASSERT_EQ(message->body, absl::StrCat(i));
    ASSERT_EQ(message->headers["X-Seq"], absl::StrCat(i));
    ++i;
  }
  EXPECT_THAT(message.status(), StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_EQ(i, kItems);
  ASSERT_TRUE(half_closed_.WaitForCount(1, kWait));
  EXPECT_THAT(half_closed_.Snapshot()[0],
              StatusIs(absl::StatusCode::kOutOfRange));
}

TEST_P(StreamTest, ClientStreamingRawArrivesInOrder) {
  ASSERT_NE(StartStreamer(), nullptr);
  constexpr int kItems = 500;
  MN_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<ClientStream> stream,
      caller_->client().StreamRaw(kService, kRawSum, Options()));
  std::vector<std::string> bodies;
  for (int i = 0; i < kItems; ++i) {
    bodies.push_back(absl::StrCat(i));
    ASSERT_THAT(stream->Send({.body = bodies.back()}, absl::Now() + kWait),
                IsOk());
  }
  ASSERT_THAT(stream->CloseSend(), IsOk());
  EXPECT_THAT(stream->Recv(absl::Now() + kWait),
              IsOkAndHolds(::testing::Field(&Message::body,
                                            absl::StrJoin(bodies, ","))));
  EXPECT_THAT(stream->Recv(absl::Now() + kWait).status(),
              StatusIs(absl::StatusCode::kOutOfRange));
}

TEST_P(StreamTest, BidirectionalRawCarriesHeadersAndMetadata) {
  ASSERT_NE(StartStreamer(), nullptr);
  constexpr int kItems = 500;
  StreamOptions options = Options();
  options.call.metadata = {{"Trace-Id", "t-7"}};
  MN_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<ClientStream> stream,
      caller_->client().StreamRaw(kService, kRawEcho, std::move(options)));
  std::vector<absl::Status> sends;
  std::thread writer([&] {
    for (int i = 0; i < kItems; ++i) {
      absl::Status sent = stream->Send({.headers = {{"X-Seq", absl::StrCat(i)}},
                                        .body = absl::StrCat("body ", i)},
                                       absl::Now() + kWait);
      if (!sent.ok()) {
        sends.push_back(sent);
        break;
      }
    }
    sends.push_back(stream->CloseSend());
  });
  int i = 0;
  absl::StatusOr<Message> message;
  while ((message = stream->Recv(absl::Now() + kWait)).ok()) {
    EXPECT_EQ(message->body, absl::StrCat("body ", i));
    EXPECT_EQ(message->headers["X-Seq"], absl::StrCat(i));
    EXPECT_EQ(message->headers["X-Trace"], "t-7");
    ++i;
  }
  writer.join();
  EXPECT_THAT(message.status(), StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_EQ(i, kItems);
  EXPECT_THAT(sends, ::testing::ElementsAre(IsOk()));
}

// --- Half-close ---

TEST_P(StreamTest, HalfCloseEndsTheHandlersRecvAfterTheLastRequest) {
  ASSERT_NE(StartStreamer(), nullptr);
  MN_ASSERT_OK_AND_ASSIGN(ItemClientStream stream, Open(kEcho));
  for (int i = 0; i < 3; ++i) ASSERT_THAT(stream.Send(Item(i)), IsOk());
  ASSERT_THAT(stream.CloseSend(), IsOk());
  EXPECT_THAT(stream.CloseSend(), IsOk());  // idempotent
  EXPECT_THAT(stream.Send(Item(3)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  // The handler reads the three, then OutOfRange, and returns OK.
  std::vector<int64_t> seqs;
  EXPECT_THAT(ReadAll(stream, &seqs), StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_TRUE(InOrder(seqs, 3));
  EXPECT_THAT(received_.Snapshot(), ::testing::ElementsAre(0, 1, 2));
  ASSERT_TRUE(half_closed_.WaitForCount(1, kWait));
  EXPECT_THAT(half_closed_.Snapshot()[0],
              StatusIs(absl::StatusCode::kOutOfRange));
}

// --- Cancel each way ---

TEST_P(StreamTest, ClientCancelReachesAHandlerWaitingInRecv) {
  ASSERT_NE(StartStreamer(), nullptr);
  MN_ASSERT_OK_AND_ASSIGN(ItemClientStream stream, Open(kEcho));
  ASSERT_THAT(stream.Send(Item(0)), IsOk());
  ASSERT_THAT(stream.Recv(absl::Now() + kWait), IsOk());  // handler in Recv
  const absl::Time cancelled = absl::Now();
  stream.Cancel();
  ExpectCancelledEnd(kEcho, cancelled);
  EXPECT_THAT(stream.Recv(absl::Now() + kWait).status(),
              StatusIs(absl::StatusCode::kCancelled));
  EXPECT_THAT(stream.Send(Item(1)), StatusIs(absl::StatusCode::kCancelled));
  stream.Cancel();  // idempotent
}

TEST_P(StreamTest, ClientCancelReachesAHandlerWaitingInSend) {
  ASSERT_NE(StartStreamer(), nullptr);
  // A window of 4: the handler is held in Send once it filled it.
  MN_ASSERT_OK_AND_ASSIGN(ItemClientStream stream,
                          Open(kCount, Options({.messages = 4})));
  ASSERT_TRUE(Stall(stream, 4));
  const absl::Time cancelled = absl::Now();
  stream.Cancel();
  ExpectCancelledEnd(kCount, cancelled);
  EXPECT_THAT(stream.Recv(absl::Now() + kWait).status(),
              StatusIs(absl::StatusCode::kCancelled));
}

TEST_P(StreamTest, TheHandlerReturningEndsTheClientsRecvAndSend) {
  ASSERT_NE(StartStreamer(), nullptr);
  MN_ASSERT_OK_AND_ASSIGN(ItemClientStream stream, Open(kEcho));
  ASSERT_THAT(stream.Send(Item(0, "end")), IsOk());
  // Waits for the stream's end, not its deadline.
  const absl::Time start = absl::Now();
  EXPECT_THAT(stream.Recv(absl::Now() + kWait).status(),
              StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_LT(absl::Now() - start, Prompt());
  EXPECT_THAT(stream.Send(Item(1)), StatusIs(absl::StatusCode::kOutOfRange));
}

TEST_P(StreamTest, TheHandlerReturningWakesAClientHeldInSend) {
  // The server holds 4 unread; the handler returns after the first, so
  // the client's Sends fill the window and one waits, until the end
  // reaches it.
  ServerOptions options;
  options.stream_window = {.messages = 4};
  ASSERT_NE(StartStreamer(std::move(options)), nullptr);
  MN_ASSERT_OK_AND_ASSIGN(ItemClientStream stream, Open(kEcho));
  ASSERT_THAT(stream.Send(Item(0, "end")), IsOk());
  constexpr int kTries = 1000;
  absl::Status sent;
  int sends = 1;
  const absl::Time start = absl::Now();
  while (sends < kTries && (sent = stream.Send(Item(sends))).ok()) ++sends;
  EXPECT_THAT(sent, StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_LT(sends, kTries);
  EXPECT_LT(absl::Now() - start, Prompt());
}

TEST_P(StreamTest, SendsAfterTheHandlerReturnedLoseNoResponse) {
  // The handler sends 10 more than the default window's 1024 (all unread:
  // the client's window is larger) and returns OK. The client's Sends then
  // find the socket closed: they say the end and fail nothing; Recv reads
  // every response, then OutOfRange.
  constexpr int kItems = 1024 + 10;
  ASSERT_NE(StartStreamer(), nullptr);
  MN_ASSERT_OK_AND_ASSIGN(ItemClientStream stream,
                          Open(kCount, Options({.messages = 2048})));
  StreamItem request;
  request.set_count(kItems);
  ASSERT_THAT(stream.Send(request), IsOk());
  ASSERT_TRUE(Eventually([&] { return sent_.load() >= kItems; }, kWait,
                         "the handler sent every item"));
  // The handler's Recv takes this one, and it returns.
  ASSERT_THAT(stream.Send(Item(0)), IsOk());
  ASSERT_TRUE(half_closed_.WaitForCount(1, kWait));
  // Within the server's window (1024, two sent): each goes at once until
  // the socket's end is seen.
  absl::Status sent;
  for (int i = 1; i < 1000; ++i) {
    sent = stream.Send(Item(i), absl::Now() + kWait);
    if (!sent.ok()) break;
  }
  EXPECT_THAT(sent, StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_TRUE(ReadsInOrder(stream, kItems));
}

// --- Deadline ---

TEST_P(StreamTest, TheServerBoundsAStreamsLife) {
  // The client asks for kLong; the server allows 300 ms: its handler's
  // Recv says DeadlineExceeded then, and so does the client's end, long
  // before the client's own deadline.
  ServerOptions options;
  options.max_stream_duration = absl::Milliseconds(300);
  ASSERT_NE(StartStreamer(std::move(options)), nullptr);
  MN_ASSERT_OK_AND_ASSIGN(ItemClientStream stream, Open(kEcho));
  const absl::Time start = absl::Now();
  ASSERT_THAT(stream.Send(Item(0)), IsOk());
  ASSERT_THAT(stream.Recv(absl::Now() + kWait), IsOk());
  EXPECT_THAT(stream.Recv(absl::Now() + kWait).status(),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_LT(absl::Now() - start, Prompt());
  ASSERT_TRUE(ends_.WaitForCount(1, kWait));
  EXPECT_THAT(ends_.Snapshot()[0].status,
              StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST_P(StreamTest, AStreamsDeadlineEndsItWithDeadlineExceededOnBothSides) {
  ASSERT_NE(StartStreamer(), nullptr);
  // Long enough for the first echo under a sanitizer.
  const absl::Duration timeout = ::micro_nats::testing::UnderSanitizers(
      absl::Milliseconds(500), absl::Seconds(2));
  StreamOptions options = Options();
  options.call.timeout = timeout;
  const absl::Time opened = absl::Now();
  MN_ASSERT_OK_AND_ASSIGN(ItemClientStream stream, Open(kEcho, options));
  EXPECT_LE(stream.raw().deadline(), absl::Now() + timeout);
  EXPECT_GE(stream.raw().deadline(), opened + timeout);
  ASSERT_THAT(stream.Send(Item(0)), IsOk());
  ASSERT_THAT(stream.Recv(), IsOk());  // the handler waits in Recv
  EXPECT_THAT(stream.Recv().status(),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_LT(absl::Now() - opened, timeout + Prompt());
  ASSERT_TRUE(ends_.WaitForCount(1, kWait));
  const HandlerEnd end = ends_.Snapshot()[0];
  EXPECT_THAT(end.status, StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_TRUE(end.cancelled) << "the handler's Context";
  EXPECT_LT(end.at - opened, timeout + Prompt());
  EXPECT_THAT(stream.Send(Item(1)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST_P(StreamTest, ARecvDeadlineLeavesTheStreamOpen) {
  ASSERT_NE(StartStreamer(), nullptr);
  MN_ASSERT_OK_AND_ASSIGN(ItemClientStream stream, Open(kEcho));
  EXPECT_THAT(stream.Recv(absl::Now() + absl::Milliseconds(50)).status(),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  ASSERT_THAT(stream.Send(Item(7)), IsOk());
  EXPECT_THAT(stream.Recv(absl::Now() + kWait),
              IsOkAndHolds(::testing::Property(&StreamItem::seq, 7)));
}

// --- Handler errors ---

TEST_P(StreamTest, AnErrorAtTheEndComesAfterEveryMessage) {
  ASSERT_NE(StartStreamer(), nullptr);
  MN_ASSERT_OK_AND_ASSIGN(ItemClientStream stream, Open(kCount));
  StreamItem request = Item(0, "fail-at-end");
  request.set_count(5);
  ASSERT_THAT(stream.Send(request), IsOk());
  ASSERT_THAT(stream.CloseSend(), IsOk());
  std::vector<int64_t> seqs;
  EXPECT_THAT(ReadAll(stream, &seqs),
              StatusIs(absl::StatusCode::kPermissionDenied, "no more for you"));
  EXPECT_TRUE(InOrder(seqs, 5));
}

TEST_P(StreamTest, AnErrorMidStreamEndsIt) {
  ASSERT_NE(StartStreamer(), nullptr);
  MN_ASSERT_OK_AND_ASSIGN(ItemClientStream stream, Open(kEcho));
  for (int i = 0; i < 3; ++i) {
    ASSERT_THAT(stream.Send(Item(i)), IsOk());
    ASSERT_THAT(stream.Recv(absl::Now() + kWait),
                IsOkAndHolds(::testing::Property(&StreamItem::seq, i)));
  }
  ASSERT_THAT(stream.Send(Item(3, "fail")), IsOk());
  EXPECT_THAT(stream.Recv(absl::Now() + kWait).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "bad item 3"));
  // Ended: Send says how.
  EXPECT_THAT(stream.Send(Item(4)),
              StatusIs(absl::StatusCode::kInvalidArgument, "bad item 3"));
}

// --- Flow control ---

TEST_P(StreamTest, TenThousandItemsThroughAWindowOf16) {
  constexpr int kItems = 10000;
  constexpr int kPadding = 1024;
  constexpr size_t kWindow = 16;
  // What may be sent beyond the window: the Send under way.
  constexpr int64_t kSlack = 4;
  ServerOptions server_options;
  server_options.stream_window = {.messages = kWindow};
  ASSERT_NE(StartStreamer(std::move(server_options)), nullptr);
  const int64_t maxrss_before = PeakRssKiB();
  const bool peak_reset = ResetRssPeak();
  const Rss rss_before = ReadRss();
  MN_ASSERT_OK_AND_ASSIGN(ItemClientStream stream,
                          Open(kCount, Options({.messages = kWindow})));
  ASSERT_THAT(Ask(stream, kItems, kPadding), IsOk());
  // Nobody reads: the handler's Send waits once the window is full.
  ASSERT_TRUE(Eventually([&] { return sent_.load() >= 1; }, kWait,
                         "the handler sending"));
  int64_t unread_max = 0;
  const absl::Time watch_end = absl::Now() + absl::Milliseconds(300);
  while (absl::Now() < watch_end) {
    unread_max = std::max(unread_max, sent_.load());
    absl::SleepFor(absl::Milliseconds(5));  // a look's pace, not a sync
  }
  EXPECT_LE(unread_max, static_cast<int64_t>(kWindow) + kSlack)
      << "sent while nobody read";
  // Then everything, in order, the handler never far ahead.
  int64_t lag_max = 0;
  int64_t next = 0;
  absl::StatusOr<StreamItem> item;
  while ((item = stream.Recv(absl::Now() + kWait)).ok()) {
    ASSERT_EQ(item->seq(), next) << "out of order";
    ASSERT_EQ(item->padding().size(), static_cast<size_t>(kPadding));
    ++next;
    lag_max = std::max(lag_max, sent_.load() - next);
  }
  EXPECT_THAT(item.status(), StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_EQ(next, kItems);
  EXPECT_LE(lag_max, static_cast<int64_t>(kWindow) + kSlack);
  const int64_t maxrss_after = PeakRssKiB();
  const Rss rss_after = ReadRss();
  // Quoted by the note: bounded memory, reported, not asserted.
  std::printf(
      "[ stream ] %s: 10,000 x 1 KiB items, window 16: RSS %lld KiB at the "
      "start, peak during the case %s%lld KiB (+%lld KiB); getrusage "
      "ru_maxrss %lld -> %lld KiB; sent unread %lld; largest lag %lld\n",
      GetParam().name.c_str(), static_cast<long long>(rss_before.now),
      peak_reset ? "" : "(not reset: the process's) ",
      static_cast<long long>(rss_after.peak),
      static_cast<long long>(rss_after.peak - rss_before.now),
      static_cast<long long>(maxrss_before),
      static_cast<long long>(maxrss_after), static_cast<long long>(unread_max),
      static_cast<long long>(lag_max));
  RecordProperty("rss_kib_at_start", static_cast<int>(rss_before.now));
  RecordProperty("rss_kib_peak_during", static_cast<int>(rss_after.peak));
  RecordProperty("ru_maxrss_kib_after", static_cast<int>(maxrss_after));
}

TEST_P(StreamTest, AFastStreamCompletesBesideAStalledOne) {
  ASSERT_NE(StartStreamer(), nullptr);
  MN_ASSERT_OK_AND_ASSIGN(ItemClientStream slow,
                          Open(kCount, Options({.messages = 4})));
  ASSERT_TRUE(Stall(slow, 4));
  // Same client, same server, while the slow one is held.
  constexpr int kItems = 2000;
  MN_ASSERT_OK_AND_ASSIGN(ItemClientStream fast, Open(kCount));
  ASSERT_THAT(Ask(fast, kItems), IsOk());
  EXPECT_TRUE(ReadsInOrder(fast, kItems));
  EXPECT_TRUE(EndsOf(kCount).empty()) << "the slow stream is still open";
  slow.Cancel();
  ASSERT_TRUE(ends_.WaitForCount(1, kWait));
  EXPECT_THAT(EndsOf(kCount).at(0).status,
              StatusIs(absl::StatusCode::kCancelled));
}

TEST_P(StreamTest, CallsGoOnWhileAStreamIsStalled) {
  ASSERT_NE(StartStreamer(), nullptr);
  MN_ASSERT_OK_AND_ASSIGN(ItemClientStream slow,
                          Open(kCount, Options({.messages = 4})));
  ASSERT_TRUE(Stall(slow, 4));
  for (int i = 0; i < 20; ++i) {
    EXPECT_THAT(caller_->client().CallRaw(kService, kUnary,
                                          {.body = absl::StrCat("call ", i)}),
                IsOkAndHolds(::testing::Field(&Message::body,
                                              absl::StrCat("call ", i))));
  }
  EXPECT_TRUE(EndsOf(kCount).empty()) << "the stream is still open";
}

TEST_P(StreamTest, AStreamWaitingLongerThanTheIdleTimeoutIsNotReaped) {
  // The listener reaps sockets idle for 500 ms; a stream whose ends wait
  // on each other for many times that lives on. (300 ms flaked once on a
  // loaded box: the client's pings ride the process timer.)
  const absl::Duration idle = absl::Milliseconds(500);
  ServerOptions options;
  options.listen.idle_timeout = idle;
  ASSERT_NE(StartStreamer(std::move(options)), nullptr);
  // The handler waits in Recv, the client in Recv.
  MN_ASSERT_OK_AND_ASSIGN(ItemClientStream waiting, Open(kEcho));
  ASSERT_THAT(waiting.Send(Item(0)), IsOk());
  ASSERT_THAT(waiting.Recv(absl::Now() + kWait), IsOk());
  EXPECT_THAT(waiting.Recv(absl::Now() + 5 * idle).status(),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  ASSERT_THAT(waiting.Send(Item(1)), IsOk());
  EXPECT_THAT(waiting.Recv(absl::Now() + kWait),
              IsOkAndHolds(::testing::Property(&StreamItem::seq, 1)));
  // The handler held in Send (window full), the client in neither call:
  // the passing time is what is tested, not a synchronisation.
  constexpr int kItems = 100;
  MN_ASSERT_OK_AND_ASSIGN(ItemClientStream stalled,
                          Open(kCount, Options({.messages = 4})));
  ASSERT_THAT(Ask(stalled, kItems), IsOk());
  ASSERT_TRUE(Eventually([&] { return sent_.load() >= 4; }, kWait,
                         "the handler filled the window"));
  absl::SleepFor(5 * idle);
  EXPECT_TRUE(ReadsInOrder(stalled, kItems));
  EXPECT_TRUE(ends_.Snapshot().empty()) << ends_.Snapshot()[0].status;
}

// --- The server's refusals ---

TEST_P(StreamTest, AnUnknownStreamEndpointIsNotFoundNamingIt) {
  ASSERT_NE(StartStreamer(), nullptr);
  EXPECT_THAT(
      FirstError("Items.Missing"),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("Items.Missing")));
}

TEST_P(StreamTest, StreamingAPlainEndpointAndCallingAStreamAreRefusedClearly) {
  ASSERT_NE(StartStreamer(), nullptr);
  const absl::Time start = absl::Now();
  // As client.h and server.h say: no such stream, and not for Call.
  absl::Status streamed = FirstError(kUnary);
  EXPECT_THAT(streamed, StatusIs(absl::StatusCode::kUnimplemented));
  EXPECT_THAT(absl::AsciiStrToLower(streamed.message()), HasSubstr("stream"))
      << streamed;
  absl::Status called =
      caller_->client().CallRaw(kService, kEcho, {.body = "x"}).status();
  EXPECT_THAT(called, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(absl::AsciiStrToLower(called.message()), HasSubstr("stream"))
      << called;
  EXPECT_LT(absl::Now() - start, Prompt());  // refused, not timed out
}

TEST_P(StreamTest, StreamsBeyondMaxStreamsAreResourceExhausted) {
  ServerOptions options;
  options.max_streams = 1;
  ASSERT_NE(StartStreamer(std::move(options)), nullptr);
  MN_ASSERT_OK_AND_ASSIGN(ItemClientStream first, Open(kEcho));
  ASSERT_THAT(first.Send(Item(0)), IsOk());
  ASSERT_THAT(first.Recv(absl::Now() + kWait), IsOk());  // it is open
  StreamOptions no_retry = Options();
  no_retry.call.retries = 0;
  EXPECT_THAT(FirstError(kEcho, no_retry),
              StatusIs(absl::StatusCode::kResourceExhausted));
  first.Cancel();
  // Its place is free once its handler returned.
  absl::Status again;
  EXPECT_TRUE(Eventually(
      [&] {
        again = FirstError(kEcho, no_retry);
        return again.ok();
      },
      kWait, "a stream in the freed place"))
      << again;
}

// --- Stop ---

TEST_P(StreamTest, StopCancelsOpenStreamsAtItsDeadlineAndSaysHowMany) {
  Service* server = StartStreamer();
  ASSERT_NE(server, nullptr);
  MN_ASSERT_OK_AND_ASSIGN(ItemClientStream stream, Open(kEcho));
  ASSERT_THAT(stream.Send(Item(0)), IsOk());
  ASSERT_THAT(stream.Recv(absl::Now() + kWait), IsOk());  // handler in Recv
  const absl::Duration grace = absl::Milliseconds(300);
  const absl::Time start = absl::Now();
  absl::Status stopped = server->server().Stop(start + grace);
  EXPECT_THAT(stopped, StatusIs(absl::StatusCode::kDeadlineExceeded,
                                ::testing::ContainsRegex("\\b1\\b.*stream")));
  EXPECT_LT(absl::Now() - start, grace + Prompt());
  ExpectCancelledEnd(kEcho, start + grace);
  EXPECT_EQ(server->server().stats().streams_cancelled_at_stop, 1);
  // The client hears of it rather than waiting for its deadline.
  absl::Status ended = stream.Recv(absl::Now() + kWait).status();
  EXPECT_FALSE(ended.ok());
  EXPECT_FALSE(absl::IsDeadlineExceeded(ended)) << ended;
}

// --- Registry ---

TEST_P(StreamTest, StreamEndpointsAreMarkedInTheRegistry) {
  ASSERT_NE(StartStreamer(), nullptr);
  auto versions = caller_->registry().GetService(kService);
  ASSERT_THAT(versions, IsOk());
  ASSERT_EQ(versions->size(), 1u);
  std::map<std::string, Metadata> metadata;
  for (const registry::Endpoint& endpoint : (*versions)[0].endpoints) {
    metadata[endpoint.name] = endpoint.metadata;
  }
  for (const char* stream :
       {kCount, kSum, kEcho, kRawCount, kRawSum, kRawEcho}) {
    ASSERT_EQ(metadata.count(stream), 1u) << stream;
    EXPECT_EQ(metadata[stream]["stream"], "true") << stream;
  }
  ASSERT_EQ(metadata.count(kUnary), 1u);
  EXPECT_EQ(metadata[kUnary].count("stream"), 0u);
}

TEST_P(StreamTest, AStreamKeepsFlowingWhileCallsAreShed) {
  // Two handler threads, held by stalled calls; four more calls wait and
  // the next are shed (overloaded). A client stream's frames queue behind
  // them all the same: none is shed (it would end the stream), and once
  // the calls are released every item arrives, in order.
  constexpr int kThreads = 2;
  constexpr int kWaiting = 4;
  constexpr int kShed = 2;
  constexpr int kItems = 300;
  ::micro_nats::testing::Collector<int> stalled;
  ::micro_nats::testing::Collector<int> go;
  ServerOptions options;
  options.listen.handler_threads = kThreads;
  options.listen.max_waiting_messages = kWaiting;
  options.stream_window = {.messages = 2 * kItems, .bytes = 1 << 20};
  options.wrappers = {[&](Handler next) -> Handler {
    return [&, next](Context& ctx, const Message& request, Message* response) {
      if (request.body == "stall") {
        stalled.Add(1);
        go.WaitForCount(1, kWait);
      }
      return next(ctx, request, response);
    };
  }};
  Service* server = StartStreamer(std::move(options));
  ASSERT_NE(server, nullptr);
  MN_ASSERT_OK_AND_ASSIGN(ItemClientStream stream, Open(kSum));
  ::micro_nats::testing::Collector<absl::Status> answers;
  std::vector<std::thread> callers;
  auto call = [&] {
    callers.emplace_back([&] {
      answers.Add(
          caller_->client()
              .CallRaw(kService, kUnary, {.body = "stall"}, {.timeout = kWait})
              .status());
    });
  };
  for (int i = 0; i < kThreads; ++i) call();
  const bool all_stalled = stalled.WaitForCount(kThreads, kWait);
  // With every thread held, the next kWaiting wait and the rest are shed.
  for (int i = 0; all_stalled && i < kWaiting + kShed; ++i) call();
  const bool shed = answers.WaitForCount(kShed, kWait);
  for (int i = 0; all_stalled && shed && i < kItems; ++i) {
    EXPECT_THAT(stream.Send(Item(i), absl::Now() + kWait), IsOk()) << i;
  }
  go.Add(1);
  for (std::thread& caller : callers) caller.join();
  ASSERT_TRUE(all_stalled);
  ASSERT_TRUE(shed);
  absl::StatusOr<StreamItem> total = stream.CloseAndRecv(absl::Now() + kWait);
  ASSERT_THAT(total, IsOk());
  EXPECT_EQ(total->count(), kItems);
  EXPECT_EQ(total->text(), "in order");
  // Only the calls beyond the cap were shed, never a frame.
  EXPECT_EQ(server->server().stats().overloaded, kShed);
  int exhausted = 0;
  for (const absl::Status& answer : answers.Snapshot()) {
    if (absl::IsResourceExhausted(answer)) {
      ++exhausted;
    } else {
      EXPECT_THAT(answer, IsOk());
    }
  }
  EXPECT_EQ(exhausted, kShed);
}

}  // namespace micro_nats::service

#endif  // MICRO_NATS_SERVICE_TESTING_STREAM_SUITE_H_
