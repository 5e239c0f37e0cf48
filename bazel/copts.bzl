"""Compiler flags for micro-nats, defined once for every target.

The C++ standard (C++20) is set in .bazelrc for the whole build, so that our
code and the consumer's agree; these are the warnings we hold our code to.
"""

MICRO_NATS_COPTS = [
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-unused-parameter",
    "-Wno-missing-field-initializers",
]

MICRO_NATS_TEST_COPTS = MICRO_NATS_COPTS + [
    "-Wno-sign-compare",
]
