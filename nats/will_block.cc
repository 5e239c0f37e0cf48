// Copyright 2026 The micro-nats Authors.

#include "nats/will_block.h"

namespace micro_nats::nats {
namespace {

thread_local BlockingObserver* observer = nullptr;

}  // namespace

void WillBlock() {
  if (BlockingObserver* current = observer) current->OnWillBlock();
}

BlockingObserver* SetBlockingObserver(BlockingObserver* next) {
  BlockingObserver* previous = observer;
  observer = next;
  return previous;
}

}  // namespace micro_nats::nats
