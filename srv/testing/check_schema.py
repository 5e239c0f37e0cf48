#!/usr/bin/python3
"""Validates NATS Service API answers against the ADR-32 v1 JSON schemas.

Usage: check_schema.py SCHEMA_DIR KIND FILE [KIND FILE ...]
KIND is ping, info or stats. Prints one line per invalid answer and exits 1
when there is one, 2 when the tool itself cannot run.
"""
import json
import os
import sys

try:
    import jsonschema
except ImportError:
    print("check_schema: python3-jsonschema is not installed", file=sys.stderr)
    sys.exit(2)


def main(argv):
    if len(argv) < 4 or len(argv) % 2:
        print(__doc__, file=sys.stderr)
        return 2
    schema_dir = argv[1]
    store = {}
    for name in os.listdir(schema_dir):
        if name.endswith(".json"):
            with open(os.path.join(schema_dir, name)) as f:
                schema = json.load(f)
            store[schema["$id"]] = schema
    base = "https://nats.io/schemas/micro/v1/"
    failures = 0
    for kind, path in zip(argv[2::2], argv[3::2]):
        schema = store[base + kind + "_response.json"]
        resolver = jsonschema.RefResolver(base, schema, store=store)
        validator = jsonschema.Draft7Validator(
            schema, resolver=resolver,
            format_checker=jsonschema.draft7_format_checker)
        with open(path) as f:
            answer = json.load(f)
        for error in validator.iter_errors(answer):
            failures += 1
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            print("%s (%s): %s: %s" % (path, kind, where, error.message))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
