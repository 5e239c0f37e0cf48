// Copyright 2026 The micro-nats Authors.
//
// stream_bench: server-streaming throughput (messages/s and bytes/s) of a
// micro-nats stream, next to what a C++ program could use instead, on one
// machine, in one run:
//
//   raw     nats.c sending the chunks to the caller's inbox with flow
//           control: the sender never runs more than W chunks past the
//           reader's last ack, and the reader (a thread reading a
//           synchronous subscription, as Recv reads) acks every W/2, as a
//           micro-nats stream returns credit. W is the window a micro-nats
//           stream gives its reader at that size (ClientOptions'
//           stream_window: 1024 messages or 1 MiB). The floor.
//   grpc    a gRPC C++ server-streaming call over loopback TCP (Debian's
//           gRPC; its flow control is HTTP/2's): what a C++ user would
//           pick instead.
//   service a micro-nats stream on the NATS stack: Client::Stream to an
//           endpoint of Server::HandleStream, typed protobuf, client and
//           server services on separate connections.
//
// Every stream is one request for `count` chunks of `bytes` each (the
// encoded StreamChunk, stream_bench.proto; raw sends bodies as long), read
// to the end; a round opens streams one after another for its length, and
// its rate is chunks received over the round (opening included: a stream
// of 2,000 chunks, 200 at 64 KiB, makes it small).
//
// BM_StreamPaired/STACK_vs_BASE/bytes:N pairs two of them (paired.h): set
// up side by side on one nats-server, alternating rounds; rate_vs_BASE is
// the median of the per-round ratios of chunks/s with its quartiles;
// base_per_s and stack_per_s each side's chunks/s, base_bytes_per_s and
// stack_bytes_per_s its bytes/s. Key figures: stream_rate_vs_raw_SIZE and
// stream_rate_vs_grpc_SIZE.
//
//   bazel run -c opt //bench:stream_bench -- --paired_rounds=20

#include <grpcpp/grpcpp.h>
#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/grpc_loopback.h"
#include "bench/nats_bench.h"
#include "bench/paired.h"
#include "bench/service_pair.h"
#include "bench/stream_bench.grpc.pb.h"
#include "bench/stream_bench.pb.h"
#include "benchmark/benchmark.h"
#include "concurrency/wait.h"
#include "service/stream.h"
#include "status/status_macros.h"

namespace micro_nats {
namespace {

using bench::StreamChunk;
using bench::StreamRequest;

// How long a stream, or set-up, may take before it counts as failed: a
// smoke run may be under a sanitizer on a busy machine.
absl::Duration WaitLimit() {
  return bench::SmokeRun() ? absl::Minutes(2) : absl::Seconds(30);
}

// Chunks per stream: enough that opening a stream is a small part of it.
int64_t ChunksPerStream(int64_t bytes) {
  const int64_t chunks = bytes >= (64 << 10) ? 200 : 2000;
  return bench::SmokeRun() ? std::min<int64_t>(chunks, 20) : chunks;
}

// Sizes and counts a server side accepts from a request (bench input is
// still input).
constexpr int64_t kMaxChunkBytes = 1 << 20;
constexpr int64_t kMaxChunks = 1 << 20;

// A chunk whose protobuf encoding is `bytes` long: a tag byte and the
// varint of the body's length (1 to 3 bytes here) precede the body.
StreamChunk ChunkOf(int64_t bytes) {
  StreamChunk chunk;
  for (int64_t prefix = 2; prefix <= 4 && prefix <= bytes; ++prefix) {
    chunk.set_body(std::string(bytes - prefix, 'x'));
    if (static_cast<int64_t>(chunk.ByteSizeLong()) == bytes) break;
  }
  return chunk;
}

// The window, in chunks of `bytes`, that a micro-nats stream's reader has
// by default: the raw floor's.
int64_t WindowOf(int64_t bytes) {
  const service::StreamWindow window = service::ClientOptions().stream_window;
  return std::max<int64_t>(
      1, std::min(static_cast<int64_t>(window.messages),
                  static_cast<int64_t>(window.bytes) / bytes));
}

// --- raw: nats.c with an ack every window ---

class RawStream {
 public:
  static absl::StatusOr<std::unique_ptr<RawStream>> Start(int64_t bytes) {
    auto fixture = std::unique_ptr<RawStream>(new RawStream(bytes));
    static std::atomic<int> fixtures{0};
    const std::string prefix =
        absl::StrCat("bench.stream.raw.", fixtures.fetch_add(1));
    fixture->open_subject_ = prefix + ".open";
    fixture->ack_subject_ = prefix + ".ack";
    fixture->inbox_subject_ = prefix + ".inbox";
    // Both send at once: nats.c's buffered publishes wait up to ~1 ms for
    // its flusher, which would hold a window's last chunks, and the ack
    // for them, while the sender waits.
    fixture->server_ = bench::RawConnect(/*send_asap=*/true);
    fixture->client_ = bench::RawConnect(/*send_asap=*/true);
    if (fixture->server_ == nullptr || fixture->client_ == nullptr ||
        natsConnection_Subscribe(&fixture->opens_, fixture->server_,
                                 fixture->open_subject_.c_str(), OnOpen,
                                 fixture.get()) != NATS_OK ||
        natsConnection_Subscribe(&fixture->acks_, fixture->server_,
                                 fixture->ack_subject_.c_str(), OnAck,
                                 fixture.get()) != NATS_OK ||
        natsConnection_SubscribeSync(&fixture->inbox_, fixture->client_,
                                     fixture->inbox_subject_.c_str()) !=
            NATS_OK ||
        natsConnection_Flush(fixture->server_) != NATS_OK ||
        natsConnection_Flush(fixture->client_) != NATS_OK) {
      return absl::UnavailableError("raw nats.c set-up failed");
    }
    return fixture;
  }

  // One stream: asks for the chunks, reads them all, acking every window.
  absl::StatusOr<int64_t> ReadStream() {
    const Frame open{.stream = ++stream_, .count = count_};
    if (natsConnection_PublishRequest(client_, open_subject_.c_str(),
                                      inbox_subject_.c_str(), &open,
                                      sizeof(open)) != NATS_OK) {
      return absl::UnavailableError("nats.c publish failed");
    }
    const int64_t wait_ms = absl::ToInt64Milliseconds(WaitLimit());
    for (int64_t read = 1; read <= count_; ++read) {
      natsMsg* msg = nullptr;
      const natsStatus s = natsSubscription_NextMsg(&msg, inbox_, wait_ms);
      if (s != NATS_OK) {
        return absl::UnavailableError(absl::StrCat(
            "raw stream: chunk ", read, ": ", natsStatus_GetText(s)));
      }
      const bool whole = natsMsg_GetDataLength(msg) == bytes_;
      natsMsg_Destroy(msg);
      if (!whole) return absl::DataLossError("a chunk of the wrong size");
      if (read % ack_every_ == 0 && read < count_) {
        const Frame ack{.stream = stream_, .count = read};
        natsConnection_Publish(client_, ack_subject_.c_str(), &ack,
                               sizeof(ack));
      }
    }
    return count_;
  }

  ~RawStream() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closing_ = true;
      cv_.notify_all();
    }
    natsSubscription_Unsubscribe(opens_);
    natsSubscription_Unsubscribe(acks_);
    {
      // A stream still being sent (one that failed) stops at closing_.
      std::unique_lock<std::mutex> lock(mu_);
      concurrency::WaitFor(cv_, lock, absl::Seconds(5),
                           [&] { return serving_ == 0; });
    }
    natsSubscription_Destroy(opens_);
    natsSubscription_Destroy(acks_);
    natsSubscription_Destroy(inbox_);
    natsConnection_Destroy(client_);
    natsConnection_Destroy(server_);
  }

 private:
  // An open (stream, chunks wanted) or an ack (stream, chunks read).
  struct Frame {
    int64_t stream;
    int64_t count;
  };

  explicit RawStream(int64_t bytes)
      : bytes_(static_cast<int>(bytes)),
        count_(ChunksPerStream(bytes)),
        window_(WindowOf(bytes)),
        ack_every_(std::max<int64_t>(1, window_ / 2)),
        body_(bytes, 'x') {}

  static bool Parse(natsMsg* msg, Frame* frame) {
    if (natsMsg_GetDataLength(msg) != sizeof(Frame)) return false;
    std::memcpy(frame, natsMsg_GetData(msg), sizeof(Frame));
    return true;
  }

  static void OnOpen(natsConnection* nc, natsSubscription*, natsMsg* msg,
                     void* self) {
    static_cast<RawStream*>(self)->Serve(nc, msg);
    natsMsg_Destroy(msg);
  }

  static void OnAck(natsConnection*, natsSubscription*, natsMsg* msg,
                    void* self) {
    Frame ack;
    if (Parse(msg, &ack)) static_cast<RawStream*>(self)->Acked(ack);
    natsMsg_Destroy(msg);
  }

  void Acked(const Frame& ack) {
    std::lock_guard<std::mutex> lock(mu_);
    if (ack.stream == serving_stream_ && ack.count > acked_) {
      acked_ = ack.count;
      cv_.notify_all();
    }
  }

  // Sends the chunks asked for, never more than a window past the last
  // ack; looks at the acks only when the window looks full.
  void Serve(natsConnection* nc, natsMsg* msg) {
    Frame open;
    const char* reply = natsMsg_GetReply(msg);
    if (!Parse(msg, &open) || reply == nullptr || open.count < 0 ||
        open.count > kMaxChunks) {
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closing_) return;
      serving_stream_ = open.stream;
      acked_ = 0;
      ++serving_;
    }
    int64_t acked = 0;
    for (int64_t sent = 0; sent < open.count; ++sent) {
      if (sent - acked >= window_) {
        std::unique_lock<std::mutex> lock(mu_);
        if (!concurrency::WaitFor(
                cv_, lock, WaitLimit(),
                [&] { return closing_ || sent - acked_ < window_; }) ||
            closing_) {
          break;
        }
        acked = acked_;
      }
      natsConnection_Publish(nc, reply, body_.data(), bytes_);
    }
    std::lock_guard<std::mutex> lock(mu_);
    --serving_;
    cv_.notify_all();
  }

  const int bytes_;
  const int64_t count_;
  const int64_t window_;
  // The reader acks every half window, as a micro-nats stream's reader
  // returns credit (service/internal/stream_core.h): acked only per whole
  // window, the sender would stall a round trip each window, which the
  // stream does not.
  const int64_t ack_every_;
  const std::string body_;
  std::string open_subject_, ack_subject_, inbox_subject_;
  natsConnection* server_ = nullptr;
  natsConnection* client_ = nullptr;
  natsSubscription* opens_ = nullptr;
  natsSubscription* acks_ = nullptr;
  natsSubscription* inbox_ = nullptr;
  int64_t stream_ = 0;  // the reader's last stream

  std::mutex mu_;
  std::condition_variable cv_;
  int64_t serving_stream_ = 0;  // guarded by mu_
  int64_t acked_ = 0;           // guarded by mu_
  int serving_ = 0;             // guarded by mu_
  bool closing_ = false;        // guarded by mu_
};

// --- grpc: a server-streaming call over loopback ---

class ChunkService final : public bench::StreamBench::Service {
  grpc::Status Chunks(grpc::ServerContext*, const StreamRequest* request,
                      grpc::ServerWriter<StreamChunk>* writer) override {
    if (request->count() < 0 || request->count() > kMaxChunks ||
        request->bytes() < 2 || request->bytes() > kMaxChunkBytes) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad request");
    }
    const StreamChunk chunk = ChunkOf(request->bytes());
    for (int64_t i = 0; i < request->count(); ++i) {
      if (!writer->Write(chunk)) {
        return grpc::Status(grpc::StatusCode::CANCELLED, "the reader left");
      }
    }
    return grpc::Status::OK;
  }
};

class GrpcStream {
 public:
  static absl::StatusOr<std::unique_ptr<GrpcStream>> Start(int64_t bytes) {
    auto fixture = std::unique_ptr<GrpcStream>(new GrpcStream(bytes));
    auto grpc = bench::GrpcLoopback::Start(&fixture->service_);
    if (!grpc.ok()) return grpc.status();
    fixture->grpc_.emplace(std::move(grpc).value());
    fixture->stub_ = bench::StreamBench::NewStub(fixture->grpc_->channel());
    return fixture;
  }

  absl::StatusOr<int64_t> ReadStream() {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + WaitLimit()));
    std::unique_ptr<grpc::ClientReader<StreamChunk>> reader =
        stub_->Chunks(&context, request_);
    int64_t read = 0;
    bool whole = true;
    while (reader->Read(&chunk_)) {
      ++read;
      whole = whole && chunk_.ByteSizeLong() == bytes_;
    }
    const grpc::Status status = reader->Finish();
    if (!status.ok()) {
      return absl::UnavailableError(
          absl::StrCat("gRPC stream: ", status.error_message()));
    }
    if (!whole || read != request_.count()) {
      return absl::DataLossError(absl::StrCat(
          "gRPC stream: ", read, " chunks of ", request_.count(), " whole"));
    }
    return read;
  }

 private:
  explicit GrpcStream(int64_t bytes) : bytes_(static_cast<size_t>(bytes)) {
    request_.set_count(ChunksPerStream(bytes));
    request_.set_bytes(bytes);
  }

  const size_t bytes_;
  StreamRequest request_;
  StreamChunk chunk_;  // read into, reused
  ChunkService service_;
  std::optional<bench::GrpcLoopback> grpc_;  // after service_, before stub_
  std::unique_ptr<bench::StreamBench::Stub> stub_;
};

// --- service: a micro-nats stream on the NATS stack ---

class ServiceStream {
 public:
  static constexpr const char* kEndpoint = "Chunks.Read";

  static absl::StatusOr<std::unique_ptr<ServiceStream>> Start(int64_t bytes) {
    auto fixture = std::unique_ptr<ServiceStream>(new ServiceStream(bytes));
    // A name of its own per fixture: the last benchmark's service may
    // still be deregistering.
    static std::atomic<int> fixtures{0};
    fixture->name_ = absl::StrCat("bench-stream-", fixtures.fetch_add(1));
    auto pair = bench::ServicePair::Start(
        fixture->name_, "bench-stream-caller", [](service::Server& server) {
          return server.HandleStream<StreamRequest, StreamChunk>(kEndpoint,
                                                                 Serve);
        });
    if (!pair.ok()) return pair.status();
    fixture->services_.emplace(std::move(pair).value());
    // The first stream also opens the caller's way in.
    absl::StatusOr<int64_t> first = bench::UntilFound(
        absl::Now() + WaitLimit(), [&] { return fixture->ReadStream(); });
    if (!first.ok()) return first.status();
    return fixture;
  }

  absl::StatusOr<int64_t> ReadStream() {
    auto stream =
        services_->caller->client().Stream<StreamRequest, StreamChunk>(
            name_, kEndpoint, {.call = {.timeout = WaitLimit()}});
    if (!stream.ok()) return stream.status();
    MN_RETURN_IF_ERROR(stream->Send(request_));
    MN_RETURN_IF_ERROR(stream->CloseSend());
    int64_t read = 0;
    bool whole = true;
    for (;;) {
      absl::StatusOr<StreamChunk> chunk = stream->Recv();
      if (absl::IsOutOfRange(chunk.status())) break;  // ended cleanly
      if (!chunk.ok()) return chunk.status();
      ++read;
      whole = whole && chunk->ByteSizeLong() == bytes_;
    }
    if (!whole || read != request_.count()) {
      return absl::DataLossError(absl::StrCat("stream: ", read, " chunks of ",
                                              request_.count(), " whole"));
    }
    return read;
  }

 private:
  explicit ServiceStream(int64_t bytes) : bytes_(static_cast<size_t>(bytes)) {
    request_.set_count(ChunksPerStream(bytes));
    request_.set_bytes(bytes);
  }

  // The handler: the chunks asked for, each Send waiting for the window.
  static absl::Status Serve(
      service::Context&,
      service::ServerStreamOf<StreamRequest, StreamChunk>& stream) {
    MN_ASSIGN_OR_RETURN(const StreamRequest request, stream.Recv());
    if (request.count() < 0 || request.count() > kMaxChunks ||
        request.bytes() < 2 || request.bytes() > kMaxChunkBytes) {
      return absl::InvalidArgumentError("bad request");
    }
    const StreamChunk chunk = ChunkOf(request.bytes());
    for (int64_t i = 0; i < request.count(); ++i) {
      MN_RETURN_IF_ERROR(stream.Send(chunk));
    }
    return absl::OkStatus();
  }

  const size_t bytes_;
  StreamRequest request_;
  std::string name_;
  std::optional<bench::ServicePair> services_;
};

// --- Paired rounds ---

// Streams read one after another for `duration` (one at least): chunks
// per second.
template <typename Fixture>
absl::StatusOr<bench::Round> StreamRound(Fixture& fixture,
                                         absl::Duration duration) {
  const absl::Time start = absl::Now();
  int64_t read = 0;
  absl::Time now = start;
  do {
    absl::StatusOr<int64_t> chunks = fixture.ReadStream();
    if (!chunks.ok()) return chunks.status();
    read += *chunks;
    now = absl::Now();
  } while (now < start + duration);
  bench::Round round;
  round.ops = read;
  round.per_s = static_cast<double>(read) / absl::ToDoubleSeconds(now - start);
  return round;
}

// Two stacks side by side at range(0)-byte chunks, alternating rounds;
// `keys` names the key figures it gives.
template <typename Base, typename Stack>
void BM_StreamPaired(benchmark::State& state, const char* baseline,
                     std::vector<std::pair<std::string, std::string>> keys) {
  const int64_t bytes = state.range(0);
  auto base = Base::Start(bytes);
  if (!base.ok()) {
    state.SkipWithError(base.status().ToString().c_str());
    return;
  }
  auto stack = Stack::Start(bytes);
  if (!stack.ok()) {
    state.SkipWithError(stack.status().ToString().c_str());
    return;
  }
  const absl::Duration round = bench::RoundTime(absl::Milliseconds(100));
  auto result = bench::RunPaired(
      state, [&] { return StreamRound(**base, round); },
      [&] { return StreamRound(**stack, round); },
      {.baseline = baseline,
       .figures = bench::kRate,
       .keys = std::move(keys),
       .label =
           absl::StrCat("server stream, ", ChunksPerStream(bytes),
                        " chunks a stream, raw window ", WindowOf(bytes))});
  if (!result.ok()) return;  // reported by RunPaired
  const double size = static_cast<double>(bytes);
  state.counters["base_bytes_per_s"] = result->base_per_s.median * size;
  state.counters["stack_bytes_per_s"] = result->stack_per_s.median * size;
}

// The key figure names of a size: 16B, 1KiB, 64KiB.
std::string SizeName(int64_t bytes) {
  return bytes >= 1024 ? absl::StrCat(bytes / 1024, "KiB")
                       : absl::StrCat(bytes, "B");
}

// One paired comparison per size; with `key_prefix`, each gives the key
// figure KEY_PREFIX_SIZE (e.g. stream_rate_vs_raw_1KiB).
template <typename Base, typename Stack>
void RegisterPaired(const std::string& name, const char* baseline,
                    const char* key_prefix) {
  for (const int64_t bytes : {int64_t{16}, int64_t{1024}, int64_t{64 << 10}}) {
    std::vector<std::pair<std::string, std::string>> keys;
    if (key_prefix != nullptr) {
      keys.push_back({absl::StrCat(key_prefix, SizeName(bytes)),
                      absl::StrCat("rate_vs_", baseline)});
    }
    benchmark::RegisterBenchmark(("BM_StreamPaired/" + name).c_str(),
                                 [baseline, keys](benchmark::State& state) {
                                   BM_StreamPaired<Base, Stack>(state, baseline,
                                                                keys);
                                 })
        ->ArgName("bytes")
        ->Arg(bytes)
        ->Apply(bench::AsPaired);
  }
}

const bool registered = [] {
  benchmark::AddCustomContext("grpc", grpc::Version());
  RegisterPaired<RawStream, ServiceStream>("service_vs_raw", "raw",
                                           "stream_rate_vs_raw_");
  RegisterPaired<GrpcStream, ServiceStream>("service_vs_grpc", "grpc",
                                            "stream_rate_vs_grpc_");
  // What gRPC's stream costs against the floor.
  RegisterPaired<RawStream, GrpcStream>("grpc_vs_raw", "raw", nullptr);
  return true;
}();

}  // namespace
}  // namespace micro_nats
