"""micro_nats_fuzzer: one libFuzzer harness, built two ways.

Normally (g++, and under --config=asan/tsan) the harness is linked with
replay_main.cc: a cc_test that runs LLVMFuzzerTestOneInput once on every
file of its committed corpus, fuzz/corpus/<name>/, so the suite keeps
every input that ever found a defect. With --config=fuzz (clang-14,
tools/fuzz.sh) the same target links libFuzzer's own main instead
(-fsanitize=fuzzer) and is a coverage-guided fuzzer; as a test it then
replays the corpus once (-runs=0).
"""

load("@rules_cc//cc:defs.bzl", "cc_test")
load("//bazel:copts.bzl", "MICRO_NATS_TEST_COPTS")

def micro_nats_fuzzer(name, deps, size = "small", tags = []):
    """A harness `<name>_fuzzer.cc` and its corpus `corpus/<name>/`."""
    cc_test(
        name = name + "_fuzzer",
        size = size,
        srcs = [name + "_fuzzer.cc"],
        copts = MICRO_NATS_TEST_COPTS,
        args = ["-runs=0", "fuzz/corpus/" + name],
        data = native.glob(["corpus/%s/**" % name]),
        linkopts = select({
            "//fuzz:libfuzzer": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
        tags = tags + ["fuzz"],
        deps = deps + select({
            "//fuzz:libfuzzer": [],
            "//conditions:default": ["//fuzz:replay_main"],
        }),
    )
