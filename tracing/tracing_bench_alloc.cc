// Copyright 2026 The micro-nats Authors.
//
// The tracing bench's operator new, counting this thread's allocations
// (tracing_bench.cc only).

#include <cstdint>
#include <cstdlib>
#include <new>

namespace {
// Per thread: the measured thread's, not the exporter's writer's.
thread_local int64_t allocations = 0;
}  // namespace

int64_t TracingBenchAllocations() { return allocations; }

void* operator new(std::size_t size) {
  ++allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
