"""micro_cc_library: typed micro-nats clients and handlers from .proto files.

    load("@micro_nats//service:defs.bzl", "micro_cc_library")

    proto_library(name = "greeter_proto", srcs = ["greeter.proto"])

    micro_cc_library(
        name = "greeter_micro",
        srcs = [":greeter_proto"],
    )

gives
  - `:greeter_micro`, a cc_library with `greeter.micro.h` (per service: a
    names struct, `GreeterClient`, `GreeterHandler`,
    `RegisterGreeterHandler`; `stream` rpcs of each kind get stream
    methods, see service/codegen/generator.h) on top of the protobuf
    messages (its own cc_proto_library of the same proto_library);
  - `:greeter_micro_mock`, testonly, with `greeter.micro_mock.h`
    (`MockGreeterClient`).

As cc_grpc_library does for gRPC. The proto_library must be in the same
package as the rule (the generated files sit beside protoc's .pb.h).
"""

load("@rules_cc//cc:defs.bzl", "cc_library", "cc_proto_library")
load("//bazel:copts.bzl", "MICRO_NATS_COPTS")

def _import_path(src, proto_info):
    root = proto_info.proto_source_root
    if root and root != "." and src.path.startswith(root + "/"):
        return src.path[len(root) + 1:]
    return src.short_path

def _micro_cpp_gen_impl(ctx):
    proto_info = ctx.attr.proto[ProtoInfo]
    headers = []
    sources = []
    mocks = []
    for src in proto_info.direct_sources:
        if src.owner.package != ctx.label.package or src.owner.workspace_root != ctx.label.workspace_root:
            fail("micro_cc_library: %s is in another package than %s; put the rule beside its proto_library" % (src.owner, ctx.label))
        # The path within the package ("testdata/x.proto" -> "testdata/x").
        base = src.owner.name[:-len(".proto")]
        headers.append(ctx.actions.declare_file(base + ".micro.h"))
        sources.append(ctx.actions.declare_file(base + ".micro.cc"))
        mocks.append(ctx.actions.declare_file(base + ".micro_mock.h"))
    out_root = ctx.bin_dir.path
    if ctx.label.workspace_root:
        out_root += "/" + ctx.label.workspace_root
    args = ctx.actions.args()
    args.add("--plugin=protoc-gen-micro_cpp=" + ctx.executable._plugin.path)
    args.add("--micro_cpp_out=" + out_root)
    # From the .proto sources, not descriptor sets: those lack the
    # comments the generated code carries over.
    args.add("-I.")
    args.add_all(proto_info.transitive_proto_path, format_each = "-I%s")
    for src in proto_info.direct_sources:
        args.add(_import_path(src, proto_info))
    ctx.actions.run(
        executable = ctx.executable._protoc,
        arguments = [args],
        inputs = proto_info.transitive_sources,
        tools = [ctx.executable._plugin],
        outputs = headers + sources + mocks,
        mnemonic = "MicroCppGen",
        progress_message = "Generating micro-nats stubs for %s" % ctx.label,
    )
    return [
        DefaultInfo(files = depset(headers + sources + mocks)),
        OutputGroupInfo(
            headers = depset(headers),
            sources = depset(sources),
            mocks = depset(mocks),
        ),
    ]

micro_cpp_gen = rule(
    implementation = _micro_cpp_gen_impl,
    attrs = {
        "proto": attr.label(mandatory = True, providers = [ProtoInfo]),
        "_protoc": attr.label(
            default = Label("@com_google_protobuf//:protoc"),
            executable = True,
            cfg = "exec",
        ),
        "_plugin": attr.label(
            default = Label("//service/codegen:protoc-gen-micro-cpp"),
            executable = True,
            cfg = "exec",
        ),
    },
    doc = "Runs protoc-gen-micro-cpp over one proto_library.",
)

def micro_cc_library(name, srcs, deps = [], copts = None, visibility = None, testonly = False, **kwargs):
    """Typed micro-nats stubs for the services of one proto_library.

    Args:
      name: the cc_library; `<name>_mock` is the gmock client library.
      srcs: one proto_library, e.g. [":greeter_proto"].
      deps: more deps for the cc_library.
      copts: compiler options (default: micro-nats's own warnings).
      visibility: of both libraries.
      testonly: for the library and what it is made of.
      **kwargs: passed to both libraries (tags, ...).
    """
    if len(srcs) != 1:
        fail("micro_cc_library takes one proto_library in srcs, got %s" % srcs)
    micro_cpp_gen(
        name = name + "_gen",
        proto = srcs[0],
        testonly = testonly,
        visibility = ["//visibility:private"],
    )
    for group in ["headers", "sources", "mocks"]:
        native.filegroup(
            name = "%s_%s" % (name, group),
            srcs = [":" + name + "_gen"],
            output_group = group,
            testonly = testonly,
            visibility = ["//visibility:private"],
        )
    cc_proto_library(
        name = name + "_cc_proto",
        deps = srcs,
        testonly = testonly,
        visibility = visibility,
    )
    cc_library(
        name = name,
        srcs = [":" + name + "_sources"],
        hdrs = [":" + name + "_headers"],
        copts = MICRO_NATS_COPTS if copts == None else copts,
        deps = deps + [
            ":" + name + "_cc_proto",
            Label("//service"),
            Label("@com_google_absl//absl/status"),
            Label("@com_google_absl//absl/status:statusor"),
        ],
        testonly = testonly,
        visibility = visibility,
        **kwargs
    )
    cc_library(
        name = name + "_mock",
        testonly = True,
        hdrs = [":" + name + "_mocks"],
        deps = [
            ":" + name,
            Label("@com_google_googletest//:gtest"),
        ],
        visibility = visibility,
        **kwargs
    )
