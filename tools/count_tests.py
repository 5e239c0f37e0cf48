#!/usr/bin/env python3
"""Counts gtest cases in Bazel's test XML and prints "N passed, N failed".

Usage: count_tests.py TESTLOGS_DIR BAZEL_EXIT_CODE [EXTRA_FAILURES]

A test target that failed without a failing case in its XML (a crash, a
timeout, a build error) counts as one failed case, so the line never says
"0 failed" for a red run. Exits non-zero when anything failed.
"""
import os
import re
import sys
import xml.etree.ElementTree as ET


def main():
    root_dir, bazel_rc = sys.argv[1], int(sys.argv[2])
    extra_failures = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    passed = failed = 0
    for dirpath, _, filenames in os.walk(root_dir, followlinks=True):
        if "test.xml" not in filenames:
            continue
        # run_I_of_N / shard_I_of_N hold per-attempt XML (--runs_per_test,
        # sharding); Bazel keeps old ones. Where the target has its own
        # test.xml, that is this run's result and they are stale.
        if re.fullmatch(r"(run|shard)_\d+_of_\d+", os.path.basename(dirpath)) \
                and os.path.exists(os.path.join(dirpath, "..", "test.xml")):
            continue
        try:
            tree = ET.parse(os.path.join(dirpath, "test.xml"))
        except ET.ParseError:
            failed += 1
            continue
        cases = list(tree.iter("testcase"))
        target_failed = False
        for case in cases:
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
                target_failed = True
            elif case.find("skipped") is None and case.get("result") != "skipped":
                passed += 1
        suites = list(tree.iter("testsuite"))
        suite_errors = sum(int(s.get("errors", "0") or 0) for s in suites[:1])
        if not cases or (suite_errors and not target_failed):
            failed += 1
    if bazel_rc != 0 and failed == 0:
        failed = 1  # bazel failed before any case could say so
    failed += extra_failures
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
