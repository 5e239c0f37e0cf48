// Copyright 2026 The micro-nats Authors.

#include "registry/kv/internal/replica.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace micro_nats::registry::kv_internal {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1000);

ReplicaEntry EntryOf(const std::string& name, const std::string& version,
                     const std::string& id, uint64_t revision,
                     absl::Time expires = absl::InfiniteFuture()) {
  return {.service = {.name = name,
                      .version = version,
                      .nodes = {{.id = id, .address = "_INBOX." + id}}},
          .revision = revision,
          .expires = expires};
}

std::string KeyOf(const ReplicaEntry& e) {
  return e.service.name + "." + e.service.version + "." + e.service.nodes[0].id;
}

std::vector<Event> PutEntry(Replica& r, const ReplicaEntry& e) {
  bool refused = false;
  return r.Put(KeyOf(e), e, kNow, &refused);
}

TEST(ReplicaTest, CreateThenUpdateThenRenewalWithoutEvent) {
  Replica replica(10);
  auto first = PutEntry(replica, EntryOf("s", "1", "a", 1));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].type, EventType::kCreate);
  auto second = PutEntry(replica, EntryOf("s", "1", "b", 2));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].type, EventType::kUpdate);
  EXPECT_TRUE(PutEntry(replica, EntryOf("s", "1", "b", 3)).empty());
  auto found = replica.Get("s", kNow);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].nodes.size(), 2u);
  auto removed = replica.Remove("s.1.a");
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].type, EventType::kDelete);
  EXPECT_EQ(removed[0].service.nodes[0].id, "a");
}

TEST(ReplicaTest, ExpiredEntriesAreHiddenThenRemovedWithDeletes) {
  Replica replica(10);
  PutEntry(replica, EntryOf("s", "1", "a", 1, kNow + absl::Seconds(1)));
  PutEntry(replica, EntryOf("s", "2", "b", 2));
  EXPECT_EQ(replica.Get("s", kNow + absl::Seconds(2)).size(), 1u);
  auto expired = replica.Expire(kNow + absl::Seconds(2));
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].type, EventType::kDelete);
  EXPECT_EQ(replica.size(), 1u);
  // A value that expired before it arrived is not taken.
  EXPECT_TRUE(PutEntry(replica, EntryOf("s", "3", "c", 3, kNow)).empty());
  EXPECT_EQ(replica.size(), 1u);
}

TEST(ReplicaTest, CapRefusesNewKeys) {
  Replica replica(1);
  PutEntry(replica, EntryOf("s", "1", "a", 1));
  bool refused = false;
  auto events = replica.Put("s.1.b", EntryOf("s", "1", "b", 2), kNow, &refused);
  EXPECT_TRUE(refused);
  EXPECT_TRUE(events.empty());
  EXPECT_EQ(replica.size(), 1u);
}

TEST(ReplicaTest, ByteBudgetRefusesWhatWouldPassIt) {
  Replica replica(10, /*max_bytes=*/100);
  auto sized = [](ReplicaEntry e, size_t bytes) {
    e.bytes = bytes;
    return e;
  };
  bool refused = false;
  replica.Put("s.1.a", sized(EntryOf("s", "1", "a", 1), 60), kNow, &refused);
  EXPECT_FALSE(refused);
  // A new key past the budget is left out.
  EXPECT_TRUE(
      replica.Put("s.1.b", sized(EntryOf("s", "1", "b", 2), 50), kNow, &refused)
          .empty());
  EXPECT_TRUE(refused);
  EXPECT_EQ(replica.size(), 1u);
  EXPECT_EQ(replica.bytes(), 60u);
  replica.Put("s.1.b", sized(EntryOf("s", "1", "b", 3), 40), kNow, &refused);
  EXPECT_FALSE(refused);
  EXPECT_EQ(replica.bytes(), 100u);
  // A key whose new value does not fit loses its old one.
  auto events = replica.Put("s.1.a", sized(EntryOf("s", "1", "a", 4), 61), kNow,
                            &refused);
  EXPECT_TRUE(refused);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, EventType::kDelete);
  EXPECT_EQ(replica.bytes(), 40u);
  EXPECT_TRUE(replica.Remove("s.1.b").size() == 1);
  EXPECT_EQ(replica.bytes(), 0u);
  // Replacing counts only the fresh values, whatever their order.
  replica.Put("s.1.a", sized(EntryOf("s", "1", "a", 5), 10), kNow, &refused);
  replica.Put("s.1.b", sized(EntryOf("s", "1", "b", 6), 90), kNow, &refused);
  Replica fresh(10, 100);
  fresh.Put("s.1.a", sized(EntryOf("s", "1", "a", 7), 90), kNow, &refused);
  fresh.Put("s.1.b", sized(EntryOf("s", "1", "b", 8), 10), kNow, &refused);
  replica.ReplaceWith(std::move(fresh), kNow);
  EXPECT_EQ(replica.size(), 2u);
  EXPECT_EQ(replica.bytes(), 100u);
}

TEST(ReplicaTest, ReplaceWithGivesTheDifference) {
  Replica replica(10);
  PutEntry(replica, EntryOf("s", "1", "a", 1));
  PutEntry(replica, EntryOf("s", "1", "b", 2));
  Replica fresh(10);
  PutEntry(fresh, EntryOf("s", "1", "b", 2));
  PutEntry(fresh, EntryOf("t", "1", "c", 3));
  auto events = replica.ReplaceWith(std::move(fresh), kNow);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, EventType::kDelete);
  EXPECT_EQ(events[0].service.nodes[0].id, "a");
  EXPECT_EQ(events[1].type, EventType::kCreate);
  EXPECT_EQ(events[1].service.name, "t");
  EXPECT_EQ(replica.List(kNow).size(), 2u);
}

}  // namespace
}  // namespace micro_nats::registry::kv_internal
