"""The `segbench run` flags, one per run parameter, made from the declarations.

A flag left out is left out of the conf too, so that defaults come from one place
(segtasks.plan.validate) whether a night starts from Airflow or from the command line.
A number is parsed as written (Python reads "nan" and "inf" as floats, and JSON as Python
reads it holds NaN and Infinity); `conf_from_args` then refuses any that is not finite, on
one line that names the parameter.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from segtasks.plan.params import PARAMETERS
from segtasks.plan.validate import refuse_non_finite

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


def _json_object(text: str, source: str | None = None) -> dict[str, Any]:
    """A JSON object given on the command line, or read from the file `source`."""
    what = source or repr(text)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {what} ({exc})") \
            from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {what}")
    return value


def add_parameter_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per run parameter, plus --conf for a whole run conf (JSON or @file)."""
    parser.add_argument("--conf", type=_conf_argument, default={}, metavar="JSON|@FILE",
                        help="a run conf as JSON, or @FILE; flags override its keys")
    for p in PARAMETERS:
        kind = p.schema["type"]
        if isinstance(kind, list):  # an optional value: ["number", "null"]
            kind = next(k for k in kind if k != "null")
        options: dict[str, Any] = {"dest": f"param__{p.name}", "default": argparse.SUPPRESS,
                                   # argparse formats help with %: a literal one is %%
                                   "help": f"{p.description} (default: "
                                           f"{default_text(p.default)})".replace("%", "%%")}
        if kind == "boolean":
            options["action"] = argparse.BooleanOptionalAction
        else:
            options["metavar"] = p.metavar
            options["type"] = {"array": _comma_list(_scalar(p.value_type)),
                               "object": _json_object}.get(kind) or _scalar(kind)
        parser.add_argument(*p.flags, **options)


def default_text(default: Any) -> str:
    """A default as the help and the docs show it: as JSON has it."""
    return json.dumps(default)


def _conf_argument(text: str) -> dict[str, Any]:
    if not text.startswith("@"):
        return _json_object(text)
    path = text[1:]
    try:
        return _json_object(Path(path).read_text(encoding="utf-8"), source=path)
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot read {path}: {exc.strerror or exc}") \
            from None
    except UnicodeDecodeError as exc:  # a ValueError: argparse would name only the function
        raise argparse.ArgumentTypeError(
            f"cannot read {path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at "
            f"offset {exc.start}); a run conf is a JSON file") from None


def conf_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The run conf the user gave: --conf, then every flag they set.

    Raises ParamError, naming the parameter, for a NaN or an infinity anywhere in it."""
    conf = dict(args.conf)
    for key, value in vars(args).items():
        if key.startswith("param__"):
            conf[key[len("param__"):]] = value
    refuse_non_finite(conf)
    return conf

