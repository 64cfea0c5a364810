"""Airflow's trigger form, made from the parameter declarations: one `Param` each.

What Airflow 3.3's form does with a `Param`, and what follows for ours:

- A field whose schema type does not admit null is *required* (a red star, and the form
  will not submit while it is empty). Every run parameter has a default, so each type here
  admits null and no field is required. The declared schema (segtasks.plan.validate) still
  refuses null, so an emptied field fails the plan task with one line naming it.
- A parameter without a `section` is in the form's open default area; a named section is
  folded (segtasks.plan.sections): the grid is open, the rest is one click away.
- An array with `examples` is a multi-select of them. The form holds each picked value as
  a string (JavaScript's String(value)), and a stored default that is not one is shown
  picked but offered again. So where the values are not strings (batch sizes, memory
  formats) the form gets them spelled as strings (default and examples), each item may also
  be one of those spellings, and `typed` turns them back before validation: the run conf
  the DAG stores holds the declared types. Airflow's multi-select takes no value outside
  its list; the run conf JSON below the form (Advanced Options) takes any the schema allows.
- A field shows `description` as plain text, or `description_md` (Markdown) when
  `description` is None: the first field of the form carries the quick check preset.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any

from segtasks.plan.declare import Parameter
from segtasks.plan.params import BY_NAME
from segtasks.plan.sections import in_order, section_of

# A short night to try a change or a new machine: one CPU case at batch size 1, a few
# images, one end-to-end pass, a short timing loop that stops at a +-10% interval, no
# confirming processes and no pairs; a regression does not fail it (so short a protocol is
# noisy). docs/running.md shows it; a test checks that it plans one case and that the docs
# show this very conf.
QUICK_CHECK: dict[str, Any] = {
    "devices": ["cpu"], "batch_sizes": [1], "n_images": 4, "end_to_end_passes": 1,
    "warmup_batches": 1, "min_seconds": 0.5, "max_seconds": 10, "ci_target": 0.1,
    "confirm_repeats": 0, "control": "none", "fail_on_regression": False,
}

# The form does not wrap a code block: one long line widens the field's text and squeezes
# its title into a column a letter wide. The conf is written in lines no longer than this.
NOTE_LINE_CHARS = 44


def short_lines(conf: Mapping[str, Any], width: int = NOTE_LINE_CHARS) -> str:
    """`conf` as JSON, its keys packed into lines of at most `width` characters."""
    lines, line = [], "{"
    for key, value in conf.items():
        item = f"{json.dumps(key)}: {json.dumps(value)}"
        if line not in ("{", " ") and len(line) + len(item) + 2 > width:
            lines.append(line + ",")
            line = " "
        line += ("" if line in ("{", " ") else ", ") + item
    return "\n".join([*lines, line + "}"])


QUICK_CHECK_NOTE = (
    "**Quick check** (one CPU case at batch size 1, a short protocol, no confirmations or "
    "pairs): open *Advanced Options* at the bottom, replace the *Configuration JSON* with "
    "the conf below and trigger; parameters it leaves out take their defaults.\n\n"
    "```json\n" + short_lines(QUICK_CHECK) + "\n```"
)


def _spelling(value: Any) -> str:
    """A value as Airflow's multi-select holds it (JavaScript's String(value))."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    raise TypeError(f"no form spelling for {value!r}: only integers and booleans are spelled")


def spelled(p: Parameter) -> bool:
    """Whether the form shows the parameter as a multi-select of values it spells as
    strings (an array with examples whose items are not strings)."""
    return (p.schema["type"] == "array" and "examples" in p.schema
            and p.schema["items"]["type"] != "string")


def _spelled_items(items: Mapping[str, Any], examples: list[Any]) -> dict[str, Any]:
    """The items' schema, admitting also the spelling of each example (the bounds of a
    number do not apply to a string, nor a string's pattern to a number)."""
    kinds = items["type"] if isinstance(items["type"], list) else [items["type"]]
    words = "|".join(re.escape(_spelling(v)) for v in examples)
    return {**copy.deepcopy(dict(items)), "type": [*kinds, "string"], "pattern": f"^({words})$"}


def _admitting_null(kind: str | list[str]) -> list[str]:
    kinds = [kind] if isinstance(kind, str) else list(kind)
    return kinds if "null" in kinds else [*kinds, "null"]


# the form's fields, in order: the open grid first (Airflow renders the sections in the
# order their first field comes)
FORM_ORDER: tuple[Parameter, ...] = tuple(in_order())


def param_arguments(p: Parameter) -> dict[str, Any]:
    """Keyword arguments for Airflow's `Param` of one run parameter."""
    schema = copy.deepcopy(dict(p.schema))
    default = copy.deepcopy(p.default)
    schema["type"] = _admitting_null(schema["type"])
    if spelled(p):
        default = [_spelling(v) for v in default]
        schema["items"] = _spelled_items(p.schema["items"], p.schema["examples"])
        schema["examples"] = [_spelling(v) for v in p.schema["examples"]]
    section = section_of(p)
    arguments = {"default": default, "title": p.title, "description": p.description,
                 **schema}
    if not section.open_in_form:
        arguments["section"] = section.heading
    if p is FORM_ORDER[0]:
        arguments["description"] = None
        arguments["description_md"] = f"{p.description}\n\n{QUICK_CHECK_NOTE}"
    return arguments


def typed(conf: Mapping[str, Any]) -> dict[str, Any]:
    """A run conf with the form's spellings turned back into the values they spell
    ("8" -> 8, "true" -> True); any other value is left for the validation to judge."""
    out = dict(conf)
    for name, value in conf.items():
        p = BY_NAME.get(name)
        if p is not None and spelled(p) and isinstance(value, list):
            values = {_spelling(v): v for v in p.schema["examples"]}
            out[name] = [values.get(item, item) if isinstance(item, str) else item
                         for item in value]
    return out


# name -> the keyword arguments of its `Param`, in the form's order
SCHEMAS: dict[str, dict[str, Any]] = {p.name: param_arguments(p) for p in FORM_ORDER}
