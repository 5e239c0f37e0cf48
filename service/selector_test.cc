// Copyright 2026 The micro-nats Authors.

#include "service/selector.h"

#include <map>

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
