// Copyright 2026 The micro-nats Authors.

#include "registry/nats/internal/census.h"

#include "gtest/gtest.h"

namespace micro_nats::registry::registry_internal {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1000);

Event Created(const std::string& service, std::vector<std::string> ids) {
  Event event{EventType::kCreate, {.name = service}};
  for (auto& id : ids) event.service.nodes.push_back({.id = id});
  return event;
}

CensusHint HintOf(std::vector<std::string> ids) {
  NodeSet set;
  for (const auto& id : ids) set.Add(id);
  return set.hint();
}

TEST(CensusTest, NoHintDuringWarmup) {
  Census census(absl::Seconds(35), absl::Seconds(90), kStart);
  census.Apply(Created("greeter", {"a"}), kStart);
  EXPECT_FALSE(census.Hint("greeter", kStart + absl::Seconds(34)));
  EXPECT_EQ(census.Hint("greeter", kStart + absl::Seconds(35)), HintOf({"a"}));
}

TEST(CensusTest, FollowsCreateAndDelete) {
  Census census(absl::ZeroDuration(), absl::Seconds(90), kStart);
  census.Apply(Created("greeter", {"a", "b"}), kStart);
  census.Apply(Created("greeter", {"c"}), kStart);
  census.Apply(Created("other", {"x"}), kStart);
  EXPECT_EQ(census.Hint("greeter", kStart), HintOf({"c", "a", "b"}));
  census.Apply(
      {EventType::kDelete, {.name = "greeter", .nodes = {{.id = "b"}}}},
      kStart);
  EXPECT_EQ(census.Hint("greeter", kStart), HintOf({"a", "c"}));
  EXPECT_FALSE(census.Hint("nobody", kStart));
}

TEST(CensusTest, NodesNotHeardOfForTheirTtlAreLeftOut) {
  Census census(absl::ZeroDuration(), absl::Seconds(90), kStart);
  census.Apply(Created("greeter", {"dead", "alive"}), kStart);
  census.Apply(
      {EventType::kUpdate, {.name = "greeter", .nodes = {{.id = "alive"}}}},
      kStart + absl::Seconds(60));
  EXPECT_EQ(census.Hint("greeter", kStart + absl::Seconds(100)),
            HintOf({"alive"}));
}

TEST(CensusTest, RestartSilencesHintsForAWarmup) {
  Census census(absl::Seconds(35), absl::Seconds(90), kStart);
  census.Apply(Created("greeter", {"a"}), kStart);
  ASSERT_TRUE(census.Hint("greeter", kStart + absl::Seconds(40)));
  census.Restart(kStart + absl::Seconds(40));  // a reconnect
  EXPECT_FALSE(census.Hint("greeter", kStart + absl::Seconds(50)));
  EXPECT_TRUE(census.Hint("greeter", kStart + absl::Seconds(76)));
}

// A flood forgets what was heard and starts again: no hint rather than a
// wrong one, and hints again after a warmup (not off for the process's
// life).
TEST(CensusTest, AFloodRestartsTheCensusRatherThanFalsifyingIt) {
  Census census(absl::Seconds(35), absl::Seconds(90), kStart,
                /*max_nodes=*/3);
  const absl::Time warm = kStart + absl::Seconds(35);
  census.Apply(Created("greeter", {"a", "b", "c"}), warm);
  ASSERT_EQ(census.Hint("greeter", warm), HintOf({"a", "b", "c"}));
  census.Apply(Created("flood", {"x"}), warm);
  EXPECT_EQ(census.overflows(), 1u);
  EXPECT_FALSE(census.Hint("greeter", warm));
  EXPECT_FALSE(census.Hint("flood", warm));
  EXPECT_TRUE(census.Known("greeter", warm).empty());
  // The registrars re-register; once a warmup passed, hints are back.
  const absl::Time later = warm + absl::Seconds(30);
  census.Apply(Created("greeter", {"a", "b", "c"}), later);
  EXPECT_FALSE(census.Hint("greeter", later));
  EXPECT_EQ(census.Hint("greeter", warm + absl::Seconds(36)),
            HintOf({"a", "b", "c"}));
}

TEST(CensusTest, KnownListsWhatWasHeardEvenBeforeTheWarmup) {
  Census census(absl::Seconds(35), absl::Seconds(90), kStart);
  census.Apply(Created("greeter", {"b", "a"}), kStart);
  EXPECT_FALSE(census.Hint("greeter", kStart));
  EXPECT_EQ(census.Known("greeter", kStart),
            (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(census.Known("greeter", kStart + absl::Seconds(91)).empty());
}

TEST(CensusTest, ExpiredNodesMakeRoomBeforeTheCapBites) {
  Census census(absl::ZeroDuration(), absl::Seconds(90), kStart,
                /*max_nodes=*/2);
  census.Apply(Created("old", {"a", "b"}), kStart);
  const absl::Time later = kStart + absl::Seconds(100);
  census.Apply(Created("new", {"c"}), later);
  EXPECT_EQ(census.Hint("new", later), HintOf({"c"}));
  EXPECT_FALSE(census.Hint("old", later));
}

TEST(NodeSetTest, OrderAndRepeatsDoNotMatter) {
  NodeSet one;
  one.Add("a");
  one.Add("b");
  one.Add("a");
  NodeSet two;
  two.Add("b");
  two.Add("a");
  EXPECT_EQ(one.hint(), two.hint());
  EXPECT_EQ(one.hint().count, 2);
  NodeSet other;
  other.Add("a");
  other.Add("c");
  EXPECT_NE(one.hint(), other.hint());
}

TEST(HintTest, FormatsAndParses) {
  const CensusHint hint = HintOf({"a", "b", "c"});
  auto parsed = ParseHint(FormatHint(hint, "r1"));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->hint, hint);
  EXPECT_EQ(parsed->sender, "r1");
  EXPECT_EQ(ParseHint("3 ab")->sender, "");
  EXPECT_FALSE(ParseHint(""));
  EXPECT_FALSE(ParseHint("3"));
  EXPECT_FALSE(ParseHint("0 ab"));
  EXPECT_FALSE(ParseHint("-1 ab"));
  EXPECT_FALSE(ParseHint("3 xyz"));
  EXPECT_FALSE(ParseHint("3 ab r1 extra"));
}

}  // namespace
}  // namespace micro_nats::registry::registry_internal
