"""schema.py - results/schema.json (tcplab.result/1) and validation against it."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA_ID = "tcplab.result/1"


def load(root: Path) -> jsonschema.Draft202012Validator:
    """A validator for results/schema.json; the schema itself is checked first."""
    schema = json.loads((root / "results" / "schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def errors(validator: jsonschema.Draft202012Validator, doc: Any) -> list[str]:
    """Every violation, as 'path.to.field: message' (empty when the document is valid)."""
    found = []
    for e in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(p) for p in e.absolute_path) or "(top)"
        found.append(f"{where}: {e.message}")
    return found
