// Copyright 2026 The micro-nats Authors.

#include "service/memory/scatter_wire.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "message/message.h"
#include "status/status_macros.h"

namespace micro_nats::service {
namespace {

// One listener: its sink, and a count of calls into it so that ending it
// waits for them.
struct Listener {
  explicit Listener(ScatterWire::RequestSink sink) : sink(std::move(sink)) {}

  // Calls the sink unless closed.
  void Deliver(Message request, ScatterWire::Reply reply) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (closed) return;
      ++running;
    }
    sink(std::move(request), std::move(reply));
    std::lock_guard<std::mutex> lock(mu);
    if (--running == 0 && closed) idle.notify_all();
  }

  // No call runs or starts once it returns (sinks do not block).
  void Close() {
    std::unique_lock<std::mutex> lock(mu);
    closed = true;
    idle.wait(lock, [&] { return running == 0; });
  }

  const ScatterWire::RequestSink sink;
  std::mutex mu;
  std::condition_variable idle;
  bool closed = false;  // guarded by mu
  int running = 0;      // guarded by mu
};

// A caller's gather, while it waits.
struct Asker {
  explicit Asker(ScatterWire::AnswerSink sink) : sink(std::move(sink)) {}
  const ScatterWire::AnswerSink sink;
  std::atomic<bool> open{true};
};

class MemoryPending : public ScatterWire::Pending {
 public:
  explicit MemoryPending(std::shared_ptr<Asker> asker)
      : asker_(std::move(asker)) {}
  ~MemoryPending() override { asker_->open = false; }

 private:
  const std::shared_ptr<Asker> asker_;
};

class MemoryScatterWire
    : public ScatterWire,
      public std::enable_shared_from_this<MemoryScatterWire> {
 public:
  class MemoryListening : public Listening {
   public:
    MemoryListening(std::weak_ptr<MemoryScatterWire> wire, std::string service,
                    uint64_t id, std::shared_ptr<Listener> listener)
        : wire_(std::move(wire)),
          service_(std::move(service)),
          id_(id),
          listener_(std::move(listener)) {}
    ~MemoryListening() override {
      if (std::shared_ptr<MemoryScatterWire> wire = wire_.lock()) {
        wire->Remove(service_, id_);
      }
      listener_->Close();
    }

   private:
    const std::weak_ptr<MemoryScatterWire> wire_;
    const std::string service_;
    const uint64_t id_;
    const std::shared_ptr<Listener> listener_;
  };

  absl::StatusOr<std::unique_ptr<Pending>> Send(absl::string_view service,
                                                const Message& request,
                                                AnswerSink on_answer,
                                                LostSink) override {
    MN_RETURN_IF_ERROR(ScatterSubject(kDefaultScatterPrefix, service).status());
    MN_RETURN_IF_ERROR(ValidateHeaders(request.headers));
    std::vector<std::shared_ptr<Listener>> listeners;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = listeners_.find(service);
      if (it != listeners_.end()) {
        for (const auto& [id, listener] : it->second) {
          listeners.push_back(listener);
        }
      }
    }
    auto asker = std::make_shared<Asker>(std::move(on_answer));
    auto pending = std::make_unique<MemoryPending>(asker);
    for (const std::shared_ptr<Listener>& listener : listeners) {
      listener->Deliver(
          Message{.headers = WireHeaders(request.headers),
                  .body = request.body},
          [asker](const Message& answer) -> absl::Status {
            MN_RETURN_IF_ERROR(ValidateHeaders(answer.headers));
            if (!asker->open) {
              return absl::UnavailableError("the scatter's caller is gone");
            }
            asker->sink(WireHeaders(answer.headers), answer.body);
            return absl::OkStatus();
          });
    }
    return pending;
  }

  // Sinks run on the scattering thread: a handler run there would hold
  // the gather past its deadline.
  bool SinksMayRunHandlers() const override { return false; }

  absl::StatusOr<std::unique_ptr<Listening>> Listen(
      absl::string_view service, RequestSink on_request) override {
    MN_RETURN_IF_ERROR(ScatterSubject(kDefaultScatterPrefix, service).status());
    auto listener = std::make_shared<Listener>(std::move(on_request));
    std::lock_guard<std::mutex> lock(mu_);
    const uint64_t id = ++next_id_;
    listeners_[std::string(service)][id] = listener;
    return std::make_unique<MemoryListening>(
        weak_from_this(), std::string(service), id, std::move(listener));
  }

 private:
  void Remove(const std::string& service, uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = listeners_.find(service);
    if (it == listeners_.end()) return;
    it->second.erase(id);
    if (it->second.empty()) listeners_.erase(it);
  }

  std::mutex mu_;
  uint64_t next_id_ = 0;  // guarded by mu_
  std::map<std::string, std::map<uint64_t, std::shared_ptr<Listener>>,
           std::less<>>
      listeners_;  // guarded by mu_
};

}  // namespace

std::shared_ptr<ScatterWire> NewMemoryScatterWire() {
  return std::make_shared<MemoryScatterWire>();
}

}  // namespace micro_nats::service
