"""Write schemas/*.json from plugins/module_utils/replset_schema.py (the source of truth).

    .venv/bin/python tests/tools/write_schemas.py
tests/unit/test_schemas.py fails when the two differ.
"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, ".venv", "collections"))

from ansible_collections.quorum.mongodb.plugins.module_utils.replset_schema import SCHEMAS  # noqa: E402


def render(schema):
    return json.dumps(schema, indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    for name, schema in SCHEMAS.items():
        with open(os.path.join(ROOT, "schemas", name), "w") as handle:
            handle.write(render(schema))
        print("wrote schemas/%s" % name)
