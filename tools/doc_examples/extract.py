#!/usr/bin/env python3
# Copyright 2026 The micro-nats Authors.
"""Writes the C++ examples of README.md and of headers as one .cc to compile.

  extract.py --out examples.cc README.md service/service.h ...

Every ```c++ block of a Markdown file, and the first example of each
header's top comment (its first run of `//   ` lines that is not a list,
above the include guard), becomes the body of a function that is compiled
and never run: an example that no longer compiles against the code fails
the build, at its line in the document (#line). Examples are fragments, so:

  - `#include` lines go to the top of the file;
  - a line `...`, `{ ... }` and a statement ending in ` ...` are left
    out (commented);
  - what an example uses without declaring (a `server`, a `request`) is a
    parameter of its function, and its names come from the header's
    namespace (or the usings below): ENVIRONMENTS, one entry per source.

A source without an entry is an error, so a header is compiled only when it
is given one; a Markdown file without a C++ block is an error too.
"""

import argparse
import os
import re
import sys

# Per source: `includes` (headers its examples need beyond the header
# itself), `usings` (namespace-scope declarations for its examples, and
# inline stubs of what they call but no header has),
# `params` (what its examples use without declaring) and, for headers,
# `namespace` (where its examples' unqualified names are looked up; None
# takes the header's first `namespace`).
ENVIRONMENTS = {
    "README.md": {
        "includes": ["examples/greeter/greeter.micro.h"],
        "usings": ["using ::greeter::HelloReply;",
                   "using ::greeter::HelloRequest;",
                   "using ::micro_nats::service::Context;"],
        "params": ["std::unique_ptr<::micro_nats::service::Service>& caller",
                   "std::unique_ptr<::micro_nats::service::Service>& service",
                   "const ::greeter::HelloRequest& request",
                   "const ::greeter::RepeatRequest& repeat_request"],
    },
    "message/message.h": {"params": ["const Message& message"]},
    "subject/subject.h": {"params": ["absl::string_view address"]},
    "srv/protocol.h": {"params": ["const InfoResponse& info"]},
    "text/shown.h": {"includes": ["absl/strings/str_cat.h"],
                     "params": ["absl::string_view subject"]},
    "text/utf8.h": {"params": ["absl::string_view text", "size_t& i"]},
    "service/nats/nats_service.h": {},
    "nats/connection.h": {},
    "registry/registry.h": {"params": ["std::unique_ptr<Registry>& registry"]},
    "registry/cache/cache.h": {
        "params": ["std::shared_ptr<Registry> nats_registry"]},
    "service/client.h": {
        "includes": ["examples/greeter/greeter.pb.h"],
        "usings": ["using ::greeter::HelloReply;",
                   "using ::greeter::HelloRequest;"],
        "params": ["Client& client", "const HelloRequest& request"]},
    "service/service.h": {
        "includes": ["examples/greeter/greeter.pb.h"],
        "usings": ["using ::greeter::HelloReply;",
                   "using ::greeter::HelloRequest;",
                   "inline absl::Status Hello(Context&, const HelloRequest&, "
                   "HelloReply*) { return absl::OkStatus(); }"],
        "params": ["const HelloRequest& request"]},
    "service/server.h": {
        "includes": ["examples/greeter/greeter.pb.h"],
        "usings": ["using ::greeter::HelloReply;",
                   "using ::greeter::HelloRequest;",
                   "using OrderCreated = ::greeter::HelloRequest;",
                   "inline absl::Status OnOrder(Context&, "
                   "const OrderCreated&) { return absl::OkStatus(); }"],
        "params": ["std::shared_ptr<registry::Registry> registry",
                   "std::shared_ptr<transport::Transport> transport",
                   "std::shared_ptr<broker::Broker> broker"]},
    "service/codec.h": {"params": ["const ::greeter::HelloReply& reply"]},
    "broker/broker.h": {
        "includes": ["broker/nats/nats_broker.h"],
        "usings": ["inline void Handle(absl::string_view, absl::string_view) "
                   "{}"],
        "params": ["std::shared_ptr<nats::Connection> connection"]},
}

FENCE = re.compile(r"^(\s*)```\s*(c\+\+|cpp|cc)\s*$")
NAMESPACE = re.compile(r"^namespace ([\w:]+) \{")


def markdown_examples(path, lines):
    """[(first line number, [lines])] of the C++ fenced blocks."""
    examples = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent = len(m.group(1))
        start = i + 1
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            i += 1
        if i == len(lines):
            raise ValueError(f"{path}:{start}: a ``` block that never ends")
        examples.append((start + 1, [l[indent:] for l in lines[start:i]]))
        i += 1
    if not examples:
        raise ValueError(f"{path}: no ```c++ block")
    return examples


def header_example(path, lines):
    """[(first line number, [lines])]: the first `//   ` run of the top
    comment that is not a list (`//   - `)."""
    for i, line in enumerate(lines):
        if not line.startswith("//"):
            break
        # The first run of indented lines that is not a list.
        if (line.startswith("//   ") and line[5:6] != " " and
                not line.startswith("//   - ") and
                not lines[i - 1].startswith("//   ")):
            end = i
            while end < len(lines) and lines[end].startswith("//   "):
                end += 1
            return [(i + 1, [l[5:] for l in lines[i:end]])]
    raise ValueError(f"{path}: no example in its top comment")


def header_namespace(path, lines):
    for line in lines:
        m = NAMESPACE.match(line)
        if m:
            return m.group(1)
    raise ValueError(f"{path}: no namespace")


def body(lines):
    """(includes, statements) of an example."""
    includes, statements = [], []
    for line in lines:
        if line.startswith("#include"):
            includes.append(line.strip())
            statements.append("")  # keeps the lines where #line says
        elif line.strip() == "...":
            statements.append(line.replace("...", "// ..."))
        elif line.rstrip().endswith(" ..."):  # if (found.stale) ...
            statements.append(line.rstrip()[:-3] + "{ /* ... */ }")
        else:
            statements.append(line.replace("{ ... }", "{ /* ... */ }"))
    return includes, statements


def function(source, first_line, statements, params):
    name = re.sub(r"\W", "_", source) + f"_{first_line}"
    params = ",\n    ".join(f"[[maybe_unused]] {p}" for p in params)
    return "\n".join(
        [f"// {source}:{first_line}",
         f"absl::Status Example_{name}({params}) {{",
         f'#line {first_line} "{source}"'] +
        ["  " + s if s.strip() else "" for s in statements] +
        ["  return absl::OkStatus();", "}", ""])


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("sources", nargs="+")
    args = parser.parse_args(argv)

    includes = ['#include <memory>', '#include "absl/status/status.h"',
                '#include "absl/strings/string_view.h"',
                '#include "status/status_macros.h"']
    sections = []
    try:
        for path in args.sources:
            source = os.path.normpath(path)
            env = ENVIRONMENTS.get(source)
            if env is None:
                raise ValueError(f"{source}: no entry in ENVIRONMENTS "
                                 "(tools/doc_examples/extract.py)")
            with open(path, encoding="utf-8") as f:
                lines = f.read().split("\n")
            if source.endswith(".md"):
                examples = markdown_examples(source, lines)
                namespace = "micro_nats_doc_examples"
            else:
                examples = header_example(source, lines)
                namespace = env.get("namespace") or header_namespace(
                    source, lines)
                includes.append(f'#include "{source}"')
            includes += [f'#include "{h}"' for h in env.get("includes", [])]
            functions = []
            for first_line, example in examples:
                example_includes, statements = body(example)
                includes += example_includes
                functions.append(function(source, first_line, statements,
                                          env.get("params", [])))
            sections.append("\n".join(
                [f"namespace {namespace} {{", ""] + env.get("usings", []) +
                [""] + functions + [f"}}  // namespace {namespace}", ""]))
    except (OSError, ValueError) as e:
        print(f"extract: {e}", file=sys.stderr)
        return 1

    seen = []
    for include in includes:
        if include not in seen:
            seen.append(include)
    text = "\n".join(
        ["// Generated by tools/doc_examples/extract.py: the examples of "
         "the",
         "// documents and headers, compiled and never run. Do not edit.",
         ""] + seen + [""] + sections +
        ["// Compiling is the test: the examples would need a nats-server.",
         "int main() { return 0; }", ""])
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
