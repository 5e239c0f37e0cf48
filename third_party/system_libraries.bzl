"""Repository rules presenting Debian's system libraries under upstream labels.

Headers live in /usr/include (the compiler's own search path), so the targets
carry no headers, only the link flags. Abseil's per-component flags come from
its pkg-config files, so each label links exactly what upstream's would.
"""

def _check_required(ctx, required, packages):
    missing = [f for f in required if not ctx.path(f).exists]
    if missing:
        fail(("%s: missing %s. Install the Debian packages with:\n" +
              "  sudo apt-get install -y %s") % (ctx.name, ", ".join(missing), packages))

def _system_library_impl(ctx):
    _check_required(ctx, ctx.attr.required, ctx.attr.packages)
    ctx.file("WORKSPACE", 'workspace(name = "%s")\n' % ctx.name)
    ctx.template("BUILD", ctx.attr.build_file)
    for src, dst in ctx.attr.symlinks.items():
        ctx.symlink(src, dst)
    for build_file, package in ctx.attr.package_build_files.items():
        ctx.template(package + "/BUILD", build_file)

system_library = repository_rule(
    implementation = _system_library_impl,
    attrs = {
        "build_file": attr.label(mandatory = True, allow_single_file = True),
        "required": attr.string_list(doc = "Files the Debian packages must provide."),
        "packages": attr.string(doc = "Debian packages to install when files are missing."),
        "symlinks": attr.string_dict(doc = "System file -> path inside the repository."),
        "package_build_files": attr.label_keyed_string_dict(
            allow_files = True,
            doc = "BUILD file -> package inside the repository, for upstream " +
                  "labels outside the root package (@repo//core).",
        ),
    },
    local = True,
)

# Upstream Abseil label -> pkg-config modules that provide it. Header-only
# components map to an empty list.
_ABSL_TARGETS = {
    "absl/algorithm:algorithm": [],
    "absl/algorithm:container": [],
    "absl/base:base": ["absl_base"],
    "absl/base:core_headers": [],
    "absl/cleanup:cleanup": [],
    "absl/container:btree": ["absl_btree"],
    "absl/container:fixed_array": [],
    "absl/container:flat_hash_map": ["absl_flat_hash_map"],
    "absl/container:flat_hash_set": ["absl_flat_hash_set"],
    "absl/container:inlined_vector": [],
    "absl/container:node_hash_map": ["absl_node_hash_map"],
    "absl/container:node_hash_set": ["absl_node_hash_set"],
    "absl/debugging:failure_signal_handler": ["absl_failure_signal_handler"],
    "absl/debugging:symbolize": ["absl_symbolize"],
    "absl/flags:flag": ["absl_flags"],
    "absl/flags:parse": ["absl_flags_parse"],
    "absl/flags:usage": ["absl_flags_usage"],
    "absl/functional:any_invocable": [],
    "absl/functional:bind_front": [],
    "absl/functional:function_ref": [],
    "absl/hash:hash": ["absl_hash"],
    "absl/memory:memory": [],
    "absl/meta:type_traits": [],
    "absl/numeric:int128": ["absl_int128"],
    "absl/random:random": ["absl_random_random"],
    "absl/random:distributions": ["absl_random_distributions"],
    "absl/status:status": ["absl_status"],
    "absl/status:statusor": ["absl_statusor"],
    "absl/strings:strings": ["absl_strings"],
    "absl/strings:str_format": ["absl_str_format"],
    "absl/strings:cord": ["absl_cord"],
    "absl/synchronization:synchronization": ["absl_synchronization"],
    "absl/time:time": ["absl_time"],
    "absl/types:optional": ["absl_optional"],
    "absl/types:span": [],
    "absl/types:variant": ["absl_variant"],
    "absl/utility:utility": [],
}

def _pkg_config_libs(ctx, modules):
    if not modules:
        return []
    result = ctx.execute(["pkg-config", "--libs"] + modules)
    if result.return_code != 0:
        fail(("com_google_absl: pkg-config --libs %s failed: %s\n" +
              "Install with: sudo apt-get install -y libabsl-dev pkg-config") %
             (" ".join(modules), result.stderr))
    return result.stdout.strip().split(" ")

def _system_absl_impl(ctx):
    _check_required(ctx, ["/usr/include/absl/base/config.h"], "libabsl-dev pkg-config")
    if ctx.which("pkg-config") == None:
        fail("com_google_absl: pkg-config not found. Install with: " +
             "sudo apt-get install -y pkg-config")
    ctx.file("WORKSPACE", 'workspace(name = "com_google_absl")\n')
    ctx.file("BUILD", "")
    packages = {}
    for label, modules in _ABSL_TARGETS.items():
        package, name = label.split(":")
        packages.setdefault(package, [])
        packages[package].append(
            "cc_library(\n    name = %r,\n    linkopts = %r,\n)\n" %
            (name, _pkg_config_libs(ctx, modules)),
        )
    for package, rules in packages.items():
        ctx.file(
            package + "/BUILD",
            "# Debian's Abseil (libabsl-dev), under upstream labels.\n" +
            'package(default_visibility = ["//visibility:public"])\n\n' +
            "\n".join(rules),
        )

system_absl = repository_rule(
    implementation = _system_absl_impl,
    environ = ["PKG_CONFIG_PATH"],
    local = True,
)
