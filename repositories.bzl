"""External repositories for micro-nats, all local: Debian packages and stand-ins.

A consuming monorepo loads this file and calls `micro_nats_dependencies()` from
its WORKSPACE. Each repository is defined only when the consumer has not
defined one of the same name already, so a monorepo that builds Abseil,
GoogleTest, protobuf, Google Benchmark or nats.c from source keeps its own and
our BUILD files use it unchanged (they only name the upstream labels).

The system libraries are presented under their upstream names and labels:

    @com_google_absl//absl/status:statusor
    @com_google_googletest//:gtest, :gtest_main, :gmock, :gmock_main
    @com_google_protobuf//:protobuf, :protoc, :cc_toolchain, :<wkt>_proto
    @com_github_google_benchmark//:benchmark, :benchmark_main
    @nats_c//:nats
    @com_github_nlohmann_json//:json
    @com_github_jupp0r_prometheus_cpp//core, //pull
    @civetweb//:civetweb                                (C and C++ API)
    @com_github_grpc_grpc//:grpc++, :grpc_cpp_plugin   (benchmarks only)
"""

load("//third_party:system_libraries.bzl", "system_absl", "system_library")
load("//third_party:standins.bzl", "remote_coverage_tools_standin", "rules_cc_standin")

def _maybe(rule, name, **kwargs):
    if not native.existing_rule(name):
        rule(name = name, **kwargs)

def micro_nats_dependencies():
    """Defines every external repository micro-nats needs, offline."""

    # Debian's bazel-rules-cc is too new for Bazel 4.2.3: a stand-in that
    # re-exports the native rules keeps `load("@rules_cc//cc:defs.bzl", ...)`.
    _maybe(rules_cc_standin, "rules_cc")

    # Bazel 4.2.3 needs rules_java even for C++-only builds.
    _maybe(
        native.local_repository,
        "rules_java",
        path = "/usr/share/bazel/rules/java",
    )

    # `bazel test` asks for these; the real ones would be downloaded.
    _maybe(remote_coverage_tools_standin, "remote_coverage_tools")

    _maybe(system_absl, "com_google_absl")
    _maybe(
        system_library,
        "com_google_googletest",
        build_file = Label("//third_party:googletest.BUILD"),
        required = ["/usr/include/gtest/gtest.h", "/usr/include/gmock/gmock.h"],
        packages = "libgtest-dev libgmock-dev",
    )
    _maybe(
        system_library,
        "com_google_protobuf",
        build_file = Label("//third_party:protobuf.BUILD"),
        required = ["/usr/include/google/protobuf/message.h", "/usr/bin/protoc"],
        packages = "libprotobuf-dev protobuf-compiler",
        symlinks = {
            "/usr/include/google/protobuf/" + f + ".proto": "google/protobuf/" + f + ".proto"
            for f in [
                "any",
                "duration",
                "empty",
                "struct",
                "timestamp",
                "wrappers",
                "field_mask",
            ]
        },
    )
    _maybe(
        system_library,
        "com_github_google_benchmark",
        build_file = Label("//third_party:benchmark.BUILD"),
        required = ["/usr/include/benchmark/benchmark.h"],
        packages = "libbenchmark-dev",
    )
    _maybe(
        system_library,
        "nats_c",
        build_file = Label("//third_party:nats_c.BUILD"),
        required = ["/usr/include/nats/nats.h"],
        packages = "libnats-dev",
    )

    # JSON whose 64-bit integers must be JSON numbers (the NATS Service API):
    # protobuf's JSON mapping writes int64 as a string. Header-only.
    _maybe(
        system_library,
        "com_github_nlohmann_json",
        build_file = Label("//third_party:nlohmann_json.BUILD"),
        required = ["/usr/include/nlohmann/json.hpp"],
        packages = "nlohmann-json3-dev",
    )

    # Metrics (//metrics): prometheus-cpp 1.0.1's core (registry, metric
    # types, text format) and its pull library; the HTTP endpoint is
    # civetweb's, which prometheus-cpp's pull library is built on.
    _maybe(
        system_library,
        "com_github_jupp0r_prometheus_cpp",
        build_file = Label("//third_party:prometheus_cpp.BUILD"),
        package_build_files = {
            Label("//third_party:prometheus_cpp_core.BUILD"): "core",
            Label("//third_party:prometheus_cpp_pull.BUILD"): "pull",
        },
        required = [
            "/usr/include/prometheus/registry.h",
            "/usr/include/prometheus/text_serializer.h",
            "/usr/include/prometheus/exposer.h",
        ],
        packages = "prometheus-cpp-dev",
    )
    _maybe(
        system_library,
        "civetweb",
        build_file = Label("//third_party:civetweb.BUILD"),
        required = ["/usr/include/CivetServer.h", "/usr/include/civetweb.h"],
        packages = "libcivetweb-dev",
    )

    # gRPC C++: only the benchmarks' baseline (what a C++ user would pick
    # instead). Fetched only when a benchmark is built, so a consumer that
    # never builds ours does not need it.
    _maybe(
        system_library,
        "com_github_grpc_grpc",
        build_file = Label("//third_party:grpc.BUILD"),
        required = ["/usr/include/grpcpp/grpcpp.h", "/usr/bin/grpc_cpp_plugin"],
        packages = "libgrpc++-dev protobuf-compiler-grpc",
        symlinks = {"/usr/bin/grpc_cpp_plugin": "grpc_cpp_plugin"},
    )
