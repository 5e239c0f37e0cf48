// Copyright 2026 The micro-nats Authors.

#include "service/selector.h"

#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/retry.h"

namespace micro_nats::service {
namespace {

using registry::Node;
using registry::Service;

std::vector<Service> ThreeNodesTwoVersions() {
  return {{.name = "s",
           .version = "1.0.0",
           .metadata = {{"region", "eu"}},
           .nodes = {{.id = "b"}, {.id = "a", .metadata = {{"region", "us"}}}}},
          {.name = "s", .version = "2.0.0", .nodes = {{.id = "c"}}}};
}

std::vector<std::string> Ids(const std::vector<Node>& nodes) {
  std::vector<std::string> ids;
  for (const Node& node : nodes) ids.push_back(node.id);
  return ids;
}

// A user's selector that only implements Select.
class LastSelector : public Selector {
 public:
  Node Select(absl::string_view, const std::vector<Node>& nodes) override {
    return nodes.back();
  }
};

TEST(SelectorTest, SelectIndexPicksWhatSelectPicksWithoutCopiesForBuiltIns) {
  const std::vector<Service> versions = ThreeNodesTwoVersions();
  const std::vector<const Node*> nodes = CandidateNodes(versions, {}, {});
  ASSERT_EQ(nodes.size(), 3u);
  EXPECT_EQ(nodes[0]->id, "a");
  EXPECT_EQ(&*nodes[2], &versions[1].nodes[0]);  // pointers into versions
  LastSelector last;
  EXPECT_EQ(last.SelectIndex("s", nodes), 2u);
  // Round robin's turns are shared by Select and SelectIndex.
  std::shared_ptr<Selector> round_robin = NewRoundRobinSelector();
  EXPECT_EQ(round_robin->SelectIndex("s", nodes), 0u);
  EXPECT_EQ(round_robin->Select("s", Candidates(versions, {}, {})).id, "b");
  EXPECT_EQ(round_robin->SelectIndex("s", nodes), 2u);
  EXPECT_EQ(round_robin->SelectIndex("other", nodes), 0u);
  std::shared_ptr<Selector> random = NewRandomSelector();
  for (int i = 0; i < 20; ++i) EXPECT_LT(random->SelectIndex("s", nodes), 3u);
}

TEST(SelectorTest, CandidatesAreFilteredExcludedAndOrdered) {
  EXPECT_THAT(Ids(Candidates(ThreeNodesTwoVersions(), {}, {})),
              ::testing::ElementsAre("a", "b", "c"));
  EXPECT_THAT(
      Ids(Candidates(ThreeNodesTwoVersions(), {FilterVersion("1.0.0")}, {})),
      ::testing::ElementsAre("a", "b"));
  EXPECT_THAT(Ids(Candidates(ThreeNodesTwoVersions(), {}, {"a", "c"})),
              ::testing::ElementsAre("b"));
  // A node's metadata wins over its version's.
  EXPECT_THAT(Ids(Candidates(ThreeNodesTwoVersions(),
                             {FilterMetadata("region", "eu")}, {})),
              ::testing::ElementsAre("b"));
  EXPECT_THAT(Ids(Candidates(ThreeNodesTwoVersions(),
                             {FilterMetadata("region", "us")}, {})),
              ::testing::ElementsAre("a"));
}

TEST(SelectorTest, RoundRobinRotatesPerServiceAcrossCalls) {
  auto selector = NewRoundRobinSelector();
  const std::vector<Node> nodes = Candidates(ThreeNodesTwoVersions(), {}, {});
  std::vector<std::string> picked;
  for (int i = 0; i < 6; ++i) picked.push_back(selector->Select("s", nodes).id);
  EXPECT_THAT(picked, ::testing::ElementsAre("a", "b", "c", "a", "b", "c"));
  // Another service has its own turn.
  EXPECT_EQ(selector->Select("other", nodes).id, "a");
  EXPECT_EQ(selector->Select("s", nodes).id, "a");
}

TEST(SelectorTest, RandomReachesEveryNode) {
  auto selector = NewRandomSelector();
  const std::vector<Node> nodes = Candidates(ThreeNodesTwoVersions(), {}, {});
  std::map<std::string, int> seen;
  for (int i = 0; i < 300; ++i) ++seen[selector->Select("s", nodes).id];
  EXPECT_EQ(seen.size(), 3u);
}

// The latency-aware selector on a fake clock, told scripted attempts.
class LatencyAwareTest : public ::testing::Test {
 protected:
  std::shared_ptr<Selector> Make(LatencyAwareOptions options = {}) {
    options.now = [this] { return now_; };
    return NewLatencyAwareSelector(std::move(options));
  }
  // One attempt on `id` taking `latency`.
  void Attempt(Selector& selector, absl::string_view id, absl::Duration latency,
               bool node_failed = false,
               absl::Status status = absl::OkStatus()) {
    const Node node{.id = std::string(id)};
    selector.Started("s", node);
    selector.Finished("s", node,
                      {.latency = latency,
                       .status = std::move(status),
                       .node_failed = node_failed});
  }
  // Picks `count` times among `ids`, each pick answered after the latency
  // `latency_of` gives; how often each node was picked.
  std::map<std::string, int> Picks(
      Selector& selector, const std::vector<std::string>& ids, int count,
      const std::function<absl::Duration(const std::string&)>& latency_of) {
    std::vector<Node> nodes;
    for (const std::string& id : ids) nodes.push_back({.id = id});
    std::vector<const Node*> pointers;
    for (const Node& node : nodes) pointers.push_back(&node);
    std::map<std::string, int> picked;
    for (int i = 0; i < count; ++i) {
      const size_t index = selector.SelectIndex("s", pointers);
      EXPECT_LT(index, nodes.size());
      const std::string& id = nodes[index].id;
      ++picked[id];
      Attempt(selector, id, latency_of(id));
    }
    return picked;
  }
  absl::Time now_ = absl::FromUnixSeconds(1'000'000);
};

absl::Duration Millis(double ms) { return absl::Microseconds(ms * 1000); }

TEST_F(LatencyAwareTest, PrefersTheFastNode) {
  auto selector = Make();
  auto latency = [](const std::string& id) {
    return id == "a" ? Millis(1) : Millis(3);
  };
  std::map<std::string, int> picked =
      Picks(*selector, {"a", "b", "c"}, 3000, latency);
  // a wins every draw it is in (2 of 3); round robin would give it 1000.
  EXPECT_GT(picked["a"], 1800);
  EXPECT_GT(picked["b"], 200);  // b and c still share the rest
  EXPECT_GT(picked["c"], 200);
}

TEST_F(LatencyAwareTest, AnAbandonedAttemptDoesNotMakeASlowNodeLookFast) {
  auto selector = Make();
  for (int i = 0; i < 20; ++i) {
    Attempt(*selector, "a", Millis(3));  // slower, not an outlier (5x)
    Attempt(*selector, "b", Millis(1));
  }
  // Hedge losers on a, abandoned after 0.5 ms: lower bounds, not samples.
  const Node a{.id = "a"};
  for (int i = 0; i < 200; ++i) {
    selector->Started("s", a);
    selector->Finished("s", a, {.latency = Millis(0.5), .cancelled = true});
  }
  const Node b{.id = "b"};
  const std::vector<const Node*> nodes = {&a, &b};
  int picked_b = 0;
  for (int i = 0; i < 100; ++i) {
    if (selector->SelectIndex("s", nodes) == 1) ++picked_b;
  }
  EXPECT_EQ(picked_b, 100);  // two nodes: both drawn, the faster wins
}

TEST_F(LatencyAwareTest, SpreadsOverEqualNodes) {
  auto selector = Make();
  std::map<std::string, int> picked =
      Picks(*selector, {"a", "b", "c"}, 3000,
            [](const std::string&) { return Millis(1); });
  for (const std::string id : {"a", "b", "c"}) {
    EXPECT_GT(picked[id], 800) << id;
    EXPECT_LT(picked[id], 1200) << id;
  }
}

TEST_F(LatencyAwareTest, InFlightWeighs) {
  auto selector = Make();
  for (int i = 0; i < 5; ++i) {
    Attempt(*selector, "a", Millis(1));
    Attempt(*selector, "b", Millis(2));
  }
  const Node a{.id = "a"}, b{.id = "b"};
  const std::vector<const Node*> nodes = {&a, &b};
  EXPECT_EQ(selector->SelectIndex("s", nodes), 0u);  // a is faster
  // Two attempts on a in flight: 1 ms x 3 > 2 ms x 1.
  selector->Started("s", a);
  selector->Started("s", a);
  EXPECT_EQ(selector->SelectIndex("s", nodes), 1u);
  selector->Finished("s", a, {.latency = Millis(1)});
  selector->Finished("s", a, {.latency = Millis(1)});
  EXPECT_EQ(selector->SelectIndex("s", nodes), 0u);
}

TEST_F(LatencyAwareTest, UnknownNodesGetTheMedianSoTheyAreTried) {
  auto selector = Make();
  for (int i = 0; i < 10; ++i) {
    Attempt(*selector, "a", Millis(1));
    Attempt(*selector, "b", Millis(2));
    Attempt(*selector, "c", Millis(3));
  }
  const Node b{.id = "b"}, d{.id = "d"};
  // d is scored as the median (2 ms): it ties with b, so both are picked.
  std::map<std::string, int> picked;
  for (int i = 0; i < 200; ++i) {
    ++picked[selector->SelectIndex("s", {&b, &d}) == 0 ? "b" : "d"];
  }
  EXPECT_GT(picked["b"], 50);
  EXPECT_GT(picked["d"], 50);
}

TEST_F(LatencyAwareTest, EjectsASlowNodeAndTakesItBackAfterEjectionTime) {
  LatencyAwareOptions options;
  options.ejection_time = absl::Seconds(10);
  auto selector = Make(options);
  for (int i = 0; i < 10; ++i) {
    Attempt(*selector, "a", Millis(1));
    Attempt(*selector, "b", Millis(1));
  }
  for (int i = 0; i < 10; ++i) Attempt(*selector, "c", Millis(10));
  const Node b{.id = "b"}, c{.id = "c"};
  // Ejected: even alone with b, c is not picked, though b is busy.
  for (int i = 0; i < 5; ++i) selector->Started("s", b);
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(selector->SelectIndex("s", {&b, &c}), 0u);
  now_ += absl::Seconds(9);
  EXPECT_EQ(selector->SelectIndex("s", {&b, &c}), 0u);
  now_ += absl::Seconds(1);
  // Back, scored as its peers' median, and b is busy.
  EXPECT_EQ(selector->SelectIndex("s", {&b, &c}), 1u);
}

TEST_F(LatencyAwareTest, ASlowNodeNotEjectedIsProbedAndSeenToRecover) {
  LatencyAwareOptions options;
  options.max_ejected_share = 0;  // no ejection: only probes bring c back
  auto selector = Make(options);
  for (int i = 0; i < 10; ++i) {
    Attempt(*selector, "a", Millis(1));
    Attempt(*selector, "c", Millis(10));
  }
  const Node a{.id = "a"}, c{.id = "c"};
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(selector->SelectIndex("s", {&a, &c}), 0u);
  now_ += absl::Seconds(1);
  Attempt(*selector, "a", Millis(1));  // a is heard from; c is not
  EXPECT_EQ(selector->SelectIndex("s", {&a, &c}), 1u);  // c's probe
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(selector->SelectIndex("s", {&a, &c}), 0u);  // one probe only
  }
  // The probe answers fast: c's stale average is replaced, and c is as
  // good as a again.
  Attempt(*selector, "c", Millis(1));
  std::set<size_t> picked;
  for (int i = 0; i < 50; ++i)
    picked.insert(selector->SelectIndex("s", {&a, &c}));
  EXPECT_EQ(picked.size(), 2u);
}

TEST_F(LatencyAwareTest, AnEjectionRepeatedLastsLonger) {
  LatencyAwareOptions options;
  options.ejection_time = absl::Seconds(10);
  options.probe_after = absl::Hours(1);
  auto selector = Make(options);
  auto slow_c = [&] {
    for (int i = 0; i < 10; ++i) {
      Attempt(*selector, "a", Millis(1));
      Attempt(*selector, "b", Millis(1));
      Attempt(*selector, "c", Millis(10));
    }
  };
  const Node a{.id = "a"}, c{.id = "c"};
  for (int i = 0; i < 3; ++i) selector->Started("s", a);  // a busy
  slow_c();
  EXPECT_EQ(selector->SelectIndex("s", {&a, &c}), 0u);
  now_ += absl::Seconds(10);
  EXPECT_EQ(selector->SelectIndex("s", {&a, &c}), 1u);  // back
  slow_c();                                             // ejected again
  now_ += absl::Seconds(10);
  EXPECT_EQ(selector->SelectIndex("s", {&a, &c}), 0u);  // 20 s this time
  now_ += absl::Seconds(10);
  EXPECT_EQ(selector->SelectIndex("s", {&a, &c}), 1u);
}

TEST_F(LatencyAwareTest, NeverEjectsMoreThanTheShareNorAll) {
  LatencyAwareOptions options;
  options.max_ejected_share = 0.2;  // 1 of 5
  auto selector = Make(options);
  for (int i = 0; i < 10; ++i) {
    for (const char* id : {"a", "b", "c"}) Attempt(*selector, id, Millis(1));
    Attempt(*selector, "d", Millis(10));
    Attempt(*selector, "e", Millis(10));
  }
  const Node d{.id = "d"}, e{.id = "e"};
  // d was ejected first; e, as slow, stays eligible.
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(selector->SelectIndex("s", {&d, &e}), 1u);
  }

  // Only ejected candidates (d is the only one): one of them, never none.
  EXPECT_EQ(selector->SelectIndex("s", {&d}), 0u);
  EXPECT_LT(selector->SelectIndex("s", {&d, &d}), 2u);
}

TEST_F(LatencyAwareTest, NodeFailuresEjectHandlerErrorsDoNot) {
  auto selector = Make();
  for (int i = 0; i < 10; ++i) {
    Attempt(*selector, "a", Millis(1));
    Attempt(*selector, "b", Millis(1));
    // c's handler fails every call: its answers are samples like others.
    Attempt(*selector, "c", Millis(1), /*node_failed=*/false,
            absl::InternalError("handler"));
  }
  const Node b{.id = "b"}, c{.id = "c"};
  std::set<size_t> picked;
  for (int i = 0; i < 50; ++i)
    picked.insert(selector->SelectIndex("s", {&b, &c}));
  EXPECT_EQ(picked.size(), 2u);
  // c now fails as a node, quickly (no responders): ejected, and its quick
  // failures did not make it look fast meanwhile.
  for (int i = 0; i < 10; ++i) {
    Attempt(*selector, "c", absl::Microseconds(10), /*node_failed=*/true);
  }
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(selector->SelectIndex("s", {&b, &c}), 0u);
}

TEST_F(LatencyAwareTest, StateIsBounded) {
  LatencyAwareOptions options;
  options.max_nodes = 2;
  options.max_services = 1;
  options.forget_after = absl::Minutes(1);
  auto selector = Make(options);
  for (int i = 0; i < 10; ++i) {
    Attempt(*selector, "a", Millis(1));
    Attempt(*selector, "b", Millis(1));
    Attempt(*selector, "c", Millis(100));  // not tracked: scored as peers
  }
  const Node a{.id = "a"}, c{.id = "c"};
  std::set<size_t> picked;
  for (int i = 0; i < 50; ++i)
    picked.insert(selector->SelectIndex("s", {&a, &c}));
  EXPECT_EQ(picked.size(), 2u);
  // Another service is beyond the cap: picked at random, no state.
  selector->Started("t", a);
  selector->Finished("t", a, {.latency = Millis(1)});
  EXPECT_LT(selector->SelectIndex("t", {&a, &c}), 2u);
  // A minute later the untouched nodes are forgotten: room for c.
  now_ += absl::Minutes(1);
  for (int i = 0; i < 10; ++i) {
    Attempt(*selector, "c", Millis(100));
    Attempt(*selector, "a", Millis(1));
  }
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(selector->SelectIndex("s", {&a, &c}), 0u);
}

TEST_F(LatencyAwareTest, SelectCopiesPickTheSame) {
  auto selector = Make();
  const std::vector<Node> nodes = Candidates(ThreeNodesTwoVersions(), {}, {});
  for (int i = 0; i < 20; ++i) {
    const std::string id = selector->Select("s", nodes).id;
    EXPECT_TRUE(id == "a" || id == "b" || id == "c") << id;
  }
}

TEST(LatencyAwareThreadsTest, CallersOnManyThreadsShareOneSelector) {
  // The real clock; under TSan this checks the selector's locking.
  auto selector = NewLatencyAwareSelector(
      {.min_samples = 5, .ejection_time = absl::Milliseconds(1)});
  const std::vector<Node> nodes = {{.id = "a"}, {.id = "b"}, {.id = "c"}};
  const std::vector<const Node*> pointers = {&nodes[0], &nodes[1], &nodes[2]};
  std::vector<std::thread> threads;
  std::vector<std::map<std::string, int>> picked(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const size_t index = selector->SelectIndex(t % 2 ? "s" : "t", pointers);
        ASSERT_LT(index, pointers.size());
        const Node& node = *pointers[index];
        ++picked[t][node.id];
        selector->Started("s", node);
        // c is slow and fails now and then: ejected and back, repeatedly.
        const bool c = node.id == "c";
        selector->Finished("s", node,
                           {.latency = c ? Millis(10) : Millis(1),
                            .node_failed = c && i % 3 == 0});
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const auto& counts : picked) {
    EXPECT_GT(counts.count("a") + counts.count("b"), 0u);
  }
}

TEST(RetryTest, OnlyUnavailableIsRetried) {
  EXPECT_TRUE(IsRetryable(absl::UnavailableError("no responders")));
  for (const absl::Status& status :
       {absl::DeadlineExceededError(""), absl::ResourceExhaustedError(""),
        absl::InvalidArgumentError(""), absl::NotFoundError(""),
        absl::InternalError(""), absl::OkStatus()}) {
    EXPECT_FALSE(IsRetryable(status)) << status;
  }
}

TEST(RetryTest, BackoffDoublesWithJitterWithinBounds) {
  absl::BitGen gen;
  const absl::Duration base = absl::Milliseconds(10);
  EXPECT_EQ(Backoff(0, base, gen), absl::ZeroDuration());
  EXPECT_EQ(Backoff(1, absl::ZeroDuration(), gen), absl::ZeroDuration());
  for (int retry = 1; retry <= 4; ++retry) {
    const absl::Duration step = base * (1 << (retry - 1));
    absl::Duration low = absl::InfiniteDuration(), high = absl::ZeroDuration();
    for (int i = 0; i < 200; ++i) {
      absl::Duration wait = Backoff(retry, base, gen);
      EXPECT_GE(wait, step / 2);
      EXPECT_LE(wait, step);
      low = std::min(low, wait);
      high = std::max(high, wait);
    }
    EXPECT_LT(low, high);  // jittered, not fixed
  }
  EXPECT_GT(Backoff(100, base, gen), absl::ZeroDuration());  // no overflow
}

}  // namespace
}  // namespace micro_nats::service
