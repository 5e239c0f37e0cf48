// Copyright 2026 The micro-nats Authors.
//
// will_block.h: telling the thread's message server that it is about to
// wait.
//
// A transport listener runs a request's handler on the thread that took the
// request off the wire, so no hand-off is paid when the handler does not
// block. While it runs, nobody takes the listener's next message. A wait in
// our code for another message of the process (a nested call's answer)
// calls WillBlock() first, and the listener hands the taking to another
// thread before the wait begins; a handler that waits elsewhere is noticed
// after a short while instead.

#ifndef MICRO_NATS_NATS_WILL_BLOCK_H_
#define MICRO_NATS_NATS_WILL_BLOCK_H_

namespace micro_nats::nats {

// Told when code on its thread is about to wait. Must not block.
class BlockingObserver {
 public:
  virtual void OnWillBlock() = 0;

 protected:
  ~BlockingObserver() = default;
};

// Tells this thread's observer, if any, that the caller is about to wait.
// Cheap when there is none (a thread-local read).
void WillBlock();

// Sets this thread's observer (null: none); returns the one before.
BlockingObserver* SetBlockingObserver(BlockingObserver* observer);

}  // namespace micro_nats::nats

#endif  // MICRO_NATS_NATS_WILL_BLOCK_H_
