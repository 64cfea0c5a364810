"""docs/parameters.md, rendered from the parameter declarations (`segbench docs` writes it).

Nothing here is written by hand but the page's header (the headings are the sections of
segtasks.plan.sections): each row is a declaration's name, flags, schema, default and
description, so the page cannot drift from what Airflow's form, the CLI and the validation
use (tests/test_parameter_declarations.py fails when the file is stale).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from segtasks.errors import SegbenchError
from segtasks.plan.case import CASE_KEY_PATTERN
from segtasks.plan.cli_flags import default_text
from segtasks.plan.declare import Parameter
from segtasks.plan.sections import SECTIONS, members

HEADER = """# Run parameters

<!-- Generated from the declarations in segtasks/plan/ by `segbench docs`: do not edit. -->

Every parameter is a key of the DAG's run conf (Airflow's trigger form shows each one) and a
flag of `segbench run` (dashes for underscores; lists comma-separated; objects as JSON);
`segbench run --conf @FILE` takes a whole run conf. A conf is checked as a whole before
anything is measured, and every number must be finite (NaN and infinity are refused).

Airflow's trigger form has the groups below: the grid open at the top, each other group
folded under its heading. Every field starts at its default and none is required; a field
emptied in the form arrives as null, which the plan task refuses, naming the parameter.
The quick check preset is in [running.md](running.md#a-quick-check).
"""


def _figure(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _bound(schema: Mapping[str, Any], inclusive: str, exclusive: str,
           brackets: tuple[str, str]) -> tuple[str, str] | None:
    if inclusive in schema:
        return brackets[0], _figure(schema[inclusive])
    if exclusive in schema:
        return brackets[1], _figure(schema[exclusive])
    return None


def _number(kind: str, schema: Mapping[str, Any]) -> str:
    low = _bound(schema, "minimum", "exclusiveMinimum", ("[", "("))
    high = _bound(schema, "maximum", "exclusiveMaximum", ("]", ")"))
    if low is None or high is None:  # declare.py makes sure this never happens
        return kind
    return f"{kind} in {low[0]}{low[1]}, {high[1]}{high[0]}"


def _object(schema: Mapping[str, Any]) -> str:
    """Braces around key: value, keys that share a value joined by a slash."""
    properties = schema.get("properties") or {}
    if properties:
        values = {describe(sub) for sub in properties.values()}
        if len(values) == 1:
            return "{" + "/".join(properties) + ": " + values.pop() + "}"
        return "{" + ", ".join(f"{key}: {describe(sub)}"
                               for key, sub in properties.items()) + "}"
    if isinstance(schema.get("additionalProperties"), Mapping):
        named = schema.get("propertyNames", {}).get("pattern")
        keys = "case key" if named == CASE_KEY_PATTERN else "key"
        return "{" + keys + ": " + describe(schema["additionalProperties"]) + "}"
    return "object"


def describe(schema: Mapping[str, Any]) -> str:
    """A schema in words: type, allowed values, bounds."""
    kind = schema["type"]
    nullable = isinstance(kind, list) and "null" in kind
    if isinstance(kind, list):
        kind = next(k for k in kind if k != "null")
    if "enum" in schema:
        text = "/".join(str(v) for v in schema["enum"])
    elif kind == "array":
        rules = [rule for rule, on in (("no repeats", schema.get("uniqueItems")),
                                       ("at least one", schema.get("minItems"))) if on]
        text = f"list of {describe(schema['items'])}"
        text += f" ({', '.join(rules)})" if rules else ""
    elif kind in ("integer", "number"):
        text = _number(kind, schema)
    elif kind == "object":
        text = _object(schema)
    else:
        text = kind
    return f"{text}, or null" if nullable else text


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _row(p: Parameter) -> str:
    if p.value_type == "boolean" and not p.axis:
        flags = f"`{p.flags[0]}`, `--no-{p.flags[0][2:]}`"
    else:
        flags = ", ".join(f"`{flag} {p.metavar}`" for flag in p.flags)
    return "| " + " | ".join(_cell(part) for part in (
        f"`{p.name}`", flags, describe(p.schema), f"`{default_text(p.default)}`",
        p.description)) + " |"


def render() -> str:
    """The whole page, as docs/parameters.md holds it."""
    parts = [HEADER]  # members() raises for a parameter in no section
    for section in SECTIONS:
        parts.append(f"## {section.heading}\n\n{section.about}\n\n"
                     "| Parameter | CLI flag | Value | Default | Description |\n"
                     "|---|---|---|---|---|\n" + "\n".join(map(_row, members(section)))
                     + "\n")
    return "\n".join(parts)


class DocsNotWritten(SegbenchError, OSError):
    """docs/parameters.md could not be written where it was asked for."""


def write(path: Path) -> Path:
    """Render the page into `path`; the path written."""
    try:
        path.write_text(render(), encoding="utf-8")
    except OSError as exc:
        raise DocsNotWritten(f"cannot write {path}: {exc.strerror or exc}") from None
    return path
