// Copyright 2026 The micro-nats Authors.
//
// alloc_count.h: how many times this process has allocated with operator
// new, for the benchmarks' allocations-per-call counters (paired.h). Link
// //bench:alloc_count (bench binaries only): it replaces the global
// operator new and delete with malloc and free plus one relaxed atomic
// increment, so every C++ allocation of every thread is counted (nats.c's
// own mallocs are not: it is C).
//
//   const int64_t before = bench::AllocationCount();
//   ...
//   const int64_t allocations = bench::AllocationCount() - before;

#ifndef MICRO_NATS_BENCH_ALLOC_COUNT_H_
#define MICRO_NATS_BENCH_ALLOC_COUNT_H_

#include <cstdint>

namespace micro_nats::bench {

// Allocations by operator new (all forms) since the process started.
int64_t AllocationCount();

}  // namespace micro_nats::bench

#endif  // MICRO_NATS_BENCH_ALLOC_COUNT_H_
