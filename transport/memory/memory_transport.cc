// Copyright 2026 The micro-nats Authors.

#include "transport/memory/memory_transport.h"

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "concurrency/wait.h"
#include "status/status_macros.h"
#include "subject/subject.h"
#include "transport/internal/socket_core.h"

namespace micro_nats::transport {
namespace {

using transport_internal::InboundQueue;
using transport_internal::ListenerCore;
using transport_internal::QueueSocket;

std::atomic<uint64_t> next_id{0};

std::string NewAddress(absl::string_view kind) {
  return absl::StrCat("memory.", kind, ".", ++next_id);
}

absl::Status PeerClosed() {
  return absl::OutOfRangeError("the peer closed the socket");
}

// A listener's state, shared by its sockets and the address table.
struct ListenerState {
  ListenerState(std::string address, const ListenOptions& options)
      : address(std::move(address)),
        max_pending(options.max_pending),
        close_timeout(options.close_timeout),
        core(ListenerCore::Create(options, [this](const std::string& key) {
          if (auto client = Client(key)) client->Finish(PeerClosed());
        })) {}

  std::shared_ptr<InboundQueue> Client(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = clients.find(key);
    return it == clients.end() ? nullptr : it->second.lock();
  }

  const std::string address;
  const PendingLimits max_pending;  // of each server socket
  const absl::Duration close_timeout;
  std::mutex mu;
  // Each socket's client-side queue, to tell the client when the server
  // side ends.
  std::map<std::string, std::weak_ptr<InboundQueue>> clients;  // mu
  std::shared_ptr<ListenerCore>
      core;  // last: its threads use the members above
};

// The process-wide address table.
class AddressTable {
 public:
  static AddressTable& Get() {
    static auto* table = new AddressTable;
    return *table;
  }

  absl::Status Insert(const std::shared_ptr<ListenerState>& state) {
    std::lock_guard<std::mutex> lock(mu_);
    auto& slot = listeners_[state->address];
    if (auto existing = slot.lock(); existing && !existing->core->closed()) {
      return absl::AlreadyExistsError(absl::StrCat(
          "a memory listener is already on '", state->address, "'"));
    }
    slot = state;
    return absl::OkStatus();
  }

  void Erase(const ListenerState* state) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = listeners_.find(state->address);
    if (it != listeners_.end() && it->second.lock().get() == state) {
      listeners_.erase(it);
    }
  }

  std::shared_ptr<ListenerState> Find(absl::string_view address) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = listeners_.find(std::string(address));
    return it == listeners_.end() ? nullptr : it->second.lock();
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::weak_ptr<ListenerState>> listeners_;
};

class MemoryListener : public Listener {
 public:
  explicit MemoryListener(std::shared_ptr<ListenerState> state)
      : state_(std::move(state)) {}
  ~MemoryListener() override { Close().IgnoreError(); }

  std::string Address() const override { return state_->address; }
  absl::Status Accept(AcceptHandler handler) override {
    return state_->core->Accept(std::move(handler));
  }
  absl::Status AcceptMessages(MessageHandler handler) override {
    return state_->core->AcceptMessages(std::move(handler));
  }
  absl::Status Shutdown(absl::Time deadline) override {
    AddressTable::Get().Erase(state_.get());
    return state_->core->Close(deadline);
  }
  absl::Status Close() override {
    return Shutdown(concurrency::DeadlineIn(state_->close_timeout));
  }
  size_t OpenSockets() const override { return state_->core->OpenSockets(); }
  size_t WaitingMessages() const override {
    return state_->core->WaitingMessages();
  }

 private:
  std::shared_ptr<ListenerState> state_;
};

// Sends by pushing into the peer's queue, checked as NATS checks it and
// delivered as NATS delivers it (blank headers absent, values trimmed).
// When that overflows the peer's backlog, the sender's socket ends as if
// the peer closed it, as on NATS.
class PushTo {
 public:
  PushTo(std::weak_ptr<InboundQueue> peer,
         std::function<void()> on_peer_overflow)
      : peer_(std::move(peer)),
        on_peer_overflow_(std::move(on_peer_overflow)) {}

  // A copy, only of what the caller keeps.
  absl::Status operator()(const Message& message) const {
    MN_RETURN_IF_ERROR(ValidateMessage(message, kMemoryMaxMessageBytes));
    return Deliver(HeadersChangeOnTheWire(message.headers)
                       ? Message{WireHeaders(message.headers), message.body}
                       : message);
  }

  // The caller's message itself: no copy.
  absl::Status Take(Message&& message) const {
    MN_RETURN_IF_ERROR(ValidateMessage(message, kMemoryMaxMessageBytes));
    if (HeadersChangeOnTheWire(message.headers)) {
      message.headers = WireHeaders(message.headers);
    }
    return Deliver(std::move(message));
  }

  // Both ends of a memory socket send through the same two functions.
  static std::unique_ptr<QueueSocket> Socket(
      std::shared_ptr<InboundQueue> inbound, const PushTo& push,
      std::function<void()> on_close, std::string local, std::string remote) {
    auto socket = std::make_unique<QueueSocket>(
        std::move(inbound), push, std::move(on_close), std::move(local),
        std::move(remote));
    socket->SetTake(
        [push](Message&& message) { return push.Take(std::move(message)); });
    return socket;
  }

 private:
  absl::Status Deliver(Message message) const {
    auto queue = peer_.lock();
    if (queue == nullptr) return absl::OkStatus();
    if (queue->Push(std::move(message))) on_peer_overflow_();
    return absl::OkStatus();
  }

  std::weak_ptr<InboundQueue> peer_;
  std::function<void()> on_peer_overflow_;
};

class MemoryTransport : public Transport {
 public:
  absl::StatusOr<std::unique_ptr<Listener>> Listen(
      absl::string_view address, ListenOptions options) override {
    std::string chosen =
        address.empty() ? NewAddress("listener") : std::string(address);
    MN_RETURN_IF_ERROR(
        ValidateSubject(chosen, SubjectKind::kConcrete, "transport address"));
    auto state = std::make_shared<ListenerState>(std::move(chosen), options);
    MN_RETURN_IF_ERROR(AddressTable::Get().Insert(state));
    return std::make_unique<MemoryListener>(std::move(state));
  }

  absl::StatusOr<std::unique_ptr<Socket>> Dial(absl::string_view address,
                                               DialOptions options) override {
    MN_RETURN_IF_ERROR(
        ValidateSubject(address, SubjectKind::kConcrete, "transport address"));
    std::shared_ptr<ListenerState> listener = AddressTable::Get().Find(address);
    if (listener == nullptr || listener->core->closed()) {
      return absl::UnavailableError(
          absl::StrCat("no listener at '", address, "'"));
    }
    const std::string key = NewAddress("client");
    auto client_in = std::make_shared<InboundQueue>(options.max_pending);
    auto server_in = std::make_shared<InboundQueue>(listener->max_pending);
    {
      std::lock_guard<std::mutex> lock(listener->mu);
      listener->clients[key] = client_in;
    }
    std::weak_ptr<ListenerState> weak_listener = listener;
    // What the server side sees when the client closes, or when the client
    // socket overflowed and so ended: the server side is freed now, not at
    // its idle timeout.
    auto client_ended = [weak_listener, key,
                         weak_server = std::weak_ptr(server_in)] {
      if (auto server = weak_server.lock()) server->Finish(PeerClosed());
      if (auto l = weak_listener.lock()) l->core->Remove(key);
    };
    // The server socket's backlog overflowed: it ends once its handler has
    // read it and closes it; the client hears now.
    auto server_overflowed = [weak_client = std::weak_ptr(client_in)] {
      if (auto client = weak_client.lock()) client->Finish(PeerClosed());
    };
    std::unique_ptr<Socket> server_socket = PushTo::Socket(
        server_in, PushTo(client_in, client_ended),
        [weak_listener, key, weak_client = std::weak_ptr(client_in)] {
          if (auto client = weak_client.lock()) client->Finish(PeerClosed());
          if (auto l = weak_listener.lock()) {
            l->core->Remove(key);
            std::lock_guard<std::mutex> lock(l->mu);
            l->clients.erase(key);
          }
        },
        listener->address, key);
    absl::Status added = listener->core->Add(key, server_in, &server_socket);
    if (!added.ok()) {
      {
        std::lock_guard<std::mutex> lock(listener->mu);
        listener->clients.erase(key);
      }
      if (absl::IsResourceExhausted(added)) return added;
      return absl::UnavailableError(
          absl::StrCat("the listener at '", address, "' closed"));
    }
    return PushTo::Socket(client_in, PushTo(server_in, server_overflowed),
                          client_ended, key, std::string(address));
  }
};

}  // namespace

std::unique_ptr<Transport> NewMemoryTransport() {
  return std::make_unique<MemoryTransport>();
}

}  // namespace micro_nats::transport
