"""The `segbench run` flags, one per run parameter, made from the declarations.

A flag left out is left out of the conf too, so that defaults come from one place
(segtasks.plan.validate) whether a night starts from Airflow or from the command line.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from segtasks.plan.params import PARAMETERS

_WORDS = {"on": True, "true": True, "1": True, "off": False, "false": False, "0": False}


def _boolean(text: str) -> bool:
    try:
        return _WORDS[text.strip().lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(f"expected on/off, got {text!r}") from None


def _number(kind: str) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return int(text) if kind == "integer" else float(text)
        except ValueError:
            what = "an integer" if kind == "integer" else "a number"
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    return parse


def _scalar(kind: str) -> Callable[[str], Any]:
    if kind in ("integer", "number"):
        return _number(kind)
    if kind == "boolean":
        return _boolean
    return str


def _comma_list(item: Callable[[str], Any]) -> Callable[[str], list[Any]]:
    def parse(text: str) -> list[Any]:
        return [item(part.strip()) for part in text.split(",") if part.strip()]
    return parse


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r} ({exc})") \
            from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}")
    return value


def add_parameter_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per run parameter, plus --conf for a whole run conf (JSON or @file)."""
    parser.add_argument("--conf", type=_conf_argument, default={},
                        help="a run conf as JSON, or @FILE; flags override its keys")
    for p in PARAMETERS:
        kind = p.schema["type"]
        if isinstance(kind, list):  # an optional value: ["number", "null"]
            kind = next(k for k in kind if k != "null")
        options: dict[str, Any] = {"dest": f"param__{p.name}", "default": argparse.SUPPRESS,
                                   # argparse formats help with %: a literal one is %%
                                   "help": f"{p.description} (default: "
                                           f"{json.dumps(p.default)})".replace("%", "%%")}
        if kind == "array":
            item_kind = p.schema["items"]["type"]
            options["type"] = _comma_list(_scalar(item_kind))
            choices = p.schema["items"].get("enum")
            options["metavar"] = ",".join(choices) if choices else item_kind.upper() + ",..."
        elif kind == "boolean":
            options["action"] = argparse.BooleanOptionalAction
        elif kind == "object":
            options["type"], options["metavar"] = _json_object, "JSON"
        else:
            options["type"] = _scalar(kind)
        parser.add_argument(*p.flags, **options)


def _conf_argument(text: str) -> dict[str, Any]:
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text()
        except OSError as exc:
            raise argparse.ArgumentTypeError(f"cannot read {text[1:]}: {exc.strerror}") \
                from None
    return _json_object(text)


def conf_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The run conf the user gave: --conf, then every flag they set."""
    conf = dict(args.conf)
    for key, value in vars(args).items():
        if key.startswith("param__"):
            conf[key[len("param__"):]] = value
    return conf
