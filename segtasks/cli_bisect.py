"""`segbench bisect --run N --case KEY`: which change explains a paired regression found
on an earlier night (segtasks.paired_night.bisection); resumes a bisection that began."""

from __future__ import annotations

import argparse
import math
from typing import Any

from segtasks.errors import UsageError
from segtasks.plan.params import DEFAULTS


def cmd_bisect(args: argparse.Namespace) -> int:
    from segtasks.paired_night.bisection import bisect_stored
    from segtasks.report.bisection import bisection_line

    if not math.isfinite(args.budget_s) or args.budget_s < 0:
        raise UsageError(f"--budget-s must be a number of seconds of at least 0, not "
                         f"{args.budget_s:g}")
    found = bisect_stored(args.run, args.case, db_url=args.url, budget_s=args.budget_s)
    print(f"run {args.run}, {args.case}: {bisection_line(found)}")
    for step in found.steps:
        moved = ", ".join(c for i in step.moved for c in found.group(i).changes)
        change = "" if step.change is None else f" {step.change:+.1%}"
        print(f"  step {step.step}: {moved or 'nothing moved'} -> {step.verdict}{change}"
              f" ({step.pairs} pairs, {step.seconds or 0:.0f} s)"
              + (f": {step.reason}" if step.reason else ""))
    return 0


def add_bisect_command(sub: Any, url_help: str) -> None:
    p = sub.add_parser(
        "bisect", help="find which package (or commit) change explains a paired regression",
        description="Builds intermediate environments between the control's lock and the "
                    "treatment's (uv), measures each in pairs against the control with the "
                    "night's paired rule, and names the change that explains the effect, or "
                    "says why it cannot (docs/bisection.md). Steps are stored as they end: "
                    "run it again to resume.")
    p.add_argument("--run", type=int, required=True, metavar="N",
                   help="the run whose paired verdict to explain")
    p.add_argument("--case", required=True, metavar="KEY", help="the case key, e.g. cpu-bs1-fp32")
    p.add_argument("--budget-s", type=float, default=DEFAULTS["bisect_budget_s"],
                   metavar="SECONDS",
                   help="machine time it may take (default: %(default)g)")
    p.add_argument("--url", help=url_help)
    p.set_defaults(func=cmd_bisect)
