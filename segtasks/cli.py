"""The `segbench` command: the DAG's work without Airflow, plus data, weights and DB chores."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date
from pathlib import Path

from segtasks import nightly, paths, store
from segtasks.cli_bisect import add_bisect_command
from segtasks.cli_env import add_env_commands
from segtasks.errors import SegbenchError
from segtasks.plan.cli_flags import add_parameter_flags, conf_from_args


def cmd_data(args: argparse.Namespace) -> int:
    from segtasks.domain.model_spec import is_default
    from segtasks.measure.data import DataError, make_synthetic

    spec = _model_of(args.model)
    named = spec is not None and not is_default(spec)
    # the default model's set as always (512x512, resized to its 256x256); a named model's
    # images at its own input size, unless --size says otherwise
    size = args.size if args.size is not None else (spec.input_size if named else 512)
    channels, classes = (spec.in_channels, spec.classes) if named else (1, 1)
    dest = Path(args.dest or paths.inputs_dir())
    blocked = paths.not_a_folder(dest, is_folder=True)
    if blocked:
        raise DataError(f"cannot write the inputs to {dest}: {blocked}")
    if not args.force and dest.is_dir() and any(dest.glob("*.png")):
        print(f"inputs already present in {dest} (use --force to rewrite)")
        return 0
    written = make_synthetic(dest, count=args.count, size=size, seed=args.seed,
                             channels=channels, classes=classes)
    height, width = (size, size) if isinstance(size, int) else size
    kind = "" if not named else (f", {'RGB' if channels == 3 else 'grayscale'}, "
                                 f"{classes} class{'es' if classes != 1 else ''}")
    print(f"wrote {len(written)} images ({height}x{width}{kind}) and their masks to {dest}")
    return 0


def cmd_weights(args: argparse.Namespace) -> int:
    from segtasks.measure.model import make_weights

    spec = _model_of(args.model)
    default = (paths.home() / spec.weights if spec is not None and spec.weights
               else paths.weights_path())
    dest = _weights_file(Path(args.dest or default))
    if dest.exists() and not args.force:
        print(f"weights already present at {dest} ({_origin_text(dest)}; use --force to "
              "rewrite)")
        return 0
    make_weights(dest, seed=args.seed, spec=spec)
    what = spec.describe() if spec is not None else "the default model"
    print(f"wrote seeded (untrained) weights of {what} to {dest}")
    return 0


def _model_of(text: str | None):  # type: ignore[no-untyped-def]
    """The spec of a --model JSON, checked as the plan checks a run conf's `model`."""
    import json

    from segtasks.domain.model_spec import ModelSpecError
    from segtasks.errors import UsageError
    from segtasks.plan.model_check import checked_spec

    if text is None:
        return None
    try:
        return checked_spec(json.loads(text))
    except json.JSONDecodeError as exc:
        raise UsageError(f"--model: expected a JSON object ({exc})") from None
    except ModelSpecError as exc:
        raise UsageError(f"--model: {exc}") from None


def _weights_file(dest: Path) -> Path:
    """`dest`, unless it is a folder or lies under a file: then a one-line WeightsError."""
    from segtasks.measure.model import WeightsError

    if dest.is_dir():
        raise WeightsError(f"{dest} is a folder: give the weights file's path, e.g. "
                           f"{dest / 'weights_001.pt'}")
    blocked = paths.not_a_folder(dest)
    if blocked:
        raise WeightsError(f"cannot write the weights to {dest}: {blocked}")
    return dest


def _origin_text(weights: Path) -> str:
    from segtasks.measure import provenance
    from segtasks.measure.model import file_sha256

    record = provenance.read_record(weights) or {}
    made = provenance.origin(weights, file_sha256(weights))
    if made == provenance.TRAINED:
        return (f"trained demo weights: {record.get('steps')} steps, held-out IoU "
                f"{record.get('held_out_iou', float('nan')):.4f}")
    if made == provenance.SEEDED:
        return "seeded random weights, untrained"
    return "weights of unrecorded origin"


def cmd_train_demo(args: argparse.Namespace) -> int:
    from segtasks.measure import provenance
    from segtasks.measure.model import file_sha256, weights_of
    from segtasks.measure.train import train_demo
    from segtasks.measure.train_progress import TrainingProgress
    from segtasks.measure.train_settings import TrainSettings

    spec = _model_of(args.model)
    # before minutes of training: the spec's weights file, else the default one
    dest = _weights_file(Path(args.dest or weights_of(spec, paths.weights_path())))
    if dest.exists() and not args.force:
        made = provenance.origin(dest, file_sha256(dest))
        if made == provenance.TRAINED:
            trained_for = _trained_model(dest)
            if _structure(trained_for) == _structure(spec):
                print(f"reusing {dest} ({_origin_text(dest)}; --force trains again)")
                return 0
            # another model's trained weights (e.g. the default's, for a spec without its
            # own "weights" file): never reused for this one, nor trained over unasked
            other = "the default model" if trained_for is None else trained_for.describe()
            print(f"keeping {dest}: trained weights of another model ({other}), not trained "
                  "over (--force trains anyway, --dest writes elsewhere)")
            return 0
        if made == provenance.UNRECORDED:
            # someone's own weights (weights/README.md): `make run` measures them as they are
            print(f"keeping {dest}: weights of unrecorded origin (yours?), not trained over "
                  "(--force trains anyway, --dest writes elsewhere)")
            return 0
    settings = TrainSettings(seed=args.seed, max_steps=args.max_steps,
                             max_seconds=args.max_seconds, target_iou=args.target_iou,
                             holdout=args.holdout, eval_every=args.eval_every,
                             threads=args.threads)
    inputs = Path(args.inputs or paths.inputs_dir())
    what = "the demo model" if spec is None else spec.describe()
    print(f"training {what} on {inputs} (CPU; stops at held-out IoU >= "
          f"{settings.target_iou}, {settings.max_steps} steps or {settings.max_seconds:g} s)",
          flush=True)
    # a line at least every 15 s, and a bar on a terminal: a first training takes minutes
    with TrainingProgress(settings.max_steps) as progress:
        record = train_demo(inputs, dest, settings, progress=progress, spec=spec)
    print(f"wrote {dest} and {provenance.record_path(dest).name}: {record['steps']} steps "
          f"({record['stopped_because']}), held-out IoU {record['held_out_iou']:.4f} "
          f"({record['held_out_iou_full_size']:.4f} at full size) on "
          f"{record['held_out_images']} images, {record['duration_s']:g} s")
    if record["held_out_iou"] < settings.target_iou:
        print(f"segbench: warning: the held-out IoU stayed below {settings.target_iou}",
              file=sys.stderr)
    if spec is not None and spec.weights_sha256 not in (None, record["sha256"]):
        # a night would end each case `error` on the mismatch: say it now
        print(f"segbench: warning: the model spec pins weights_sha256 "
              f"{spec.weights_sha256}; the trained file's is {record['sha256']}: update "
              "the spec", file=sys.stderr)
    return 0


def _structure(spec):  # type: ignore[no-untyped-def]
    """A spec's structure (None: the default model), to tell whose weights a file holds."""
    from segtasks.domain.model_spec import is_default

    return None if spec is None or is_default(spec) else spec.structure()


def _trained_model(weights: Path):  # type: ignore[no-untyped-def]
    """The spec of the model trained weights were made for (None: the default, as every
    record written before a spec could be given)."""
    from segtasks.domain.model_spec import stored_spec
    from segtasks.measure import provenance

    record = provenance.read_record(weights) or {}
    return stored_spec(record.get("model"))


def cmd_db(args: argparse.Namespace) -> int:
    if args.action == "upgrade":
        print(f"results database at {store.upgrade(args.url)} is at revision "
              f"{store.database.head_revision()}")
    elif args.action == "grant-reader":
        from segtasks.store.access import grant_reader

        print(grant_reader(store.connect(args.url), args.role, args.password))
    else:
        url = store.resolve_url(args.url)
        current, head = store.database.current_revision(url), store.database.head_revision()
        state = "up to date" if current == head else f"code needs {head}: run `segbench db upgrade`"
        print(f"results database: {store.masked(url)} (schema revision {current}, {state})")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from segtasks.cli_run import run_night

    return run_night(conf_from_args(args), args.url)


def cmd_docs(args: argparse.Namespace) -> int:
    from segtasks.plan.docs import write

    if args.output == "-":
        from segtasks.plan.docs import render

        print(render(), end="")
    else:
        print(f"wrote {write(Path(args.output or paths.home() / 'docs' / 'parameters.md'))}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from segtasks.store.export import export

    output = Path(args.output or paths.var_dir() / "exports"
                  / f"results-since-{args.since}.{args.format}")
    count = export(store.connect(args.url), args.since, args.format, output)
    print(f"wrote {count} results to {output}")
    return 0


def _reason(text: str) -> str:
    """A curation's reason: what a reader of the history later has to go on, so not blank."""
    if not text.strip():
        raise argparse.ArgumentTypeError("a reason is required (it is stored with the mark "
                                         "and shown in the history), not a blank one")
    return text.strip()


def _who(args: argparse.Namespace) -> str:
    import getpass

    return args.by or getpass.getuser()


def cmd_runs(args: argparse.Namespace) -> int:
    from segtasks.store import repository

    engine = store.connect(args.url)
    if args.action == "reap":
        closed = nightly.reap(engine)
        for gone in closed:
            print(f"run {gone.run_pk} ({gone.run_id}) closed: {gone.reason}")
        if not closed:
            print("no abandoned run: every `running` run has a recent heartbeat")
        return 0
    run = repository.find_run(engine, args.run)
    excluded = args.action == "exclude"
    repository.set_excluded(engine, run.id, excluded, args.reason if excluded else None,
                            by=_who(args))
    state = f"excluded from baselines ({args.reason})" if excluded else "used in baselines again"
    print(f"run {run.id} ({run.run_id}) is {state}")
    return 0


def cmd_baseline(args: argparse.Namespace) -> int:
    from segtasks.store import repository

    engine = store.connect(args.url)
    if args.action == "accept":
        level = repository.accept_level(
            engine, case_key=args.case, hardware_key=args.hardware,
            from_run=repository.find_run(engine, args.from_run), reason=args.reason,
            by=_who(args))
        print(f"baseline level {level.id}: {level.case_key} on {level.hardware_key} starts at "
              f"run {level.from_run_pk}; earlier nights no longer count as its baseline")
    elif args.action == "undo":
        level = repository.undo_level(engine, args.level, by=_who(args))
        print(f"baseline level {level.id} of {level.case_key} undone: earlier nights count "
              "again")
    else:
        levels = repository.baseline_levels(engine, case_key=args.case,
                                            include_undone=args.all)
        if not levels:
            print("no accepted baseline levels")
        for level in levels:
            undone = (f"; undone by {level.undone_by} {level.undone_at:%Y-%m-%d %H:%M}"
                      if level.undone_at else "")
            print(f"{level.id}: {level.case_key} on {level.hardware_key} from run "
                  f"{level.from_run_pk} ({level.from_run.run_id}), by {level.accepted_by} "
                  f"{level.accepted_at:%Y-%m-%d %H:%M}: {level.reason}{undone}")
    return 0


def cmd_golden(args: argparse.Namespace) -> int:
    from segtasks.store import golden, repository

    engine = store.connect(args.url)
    if args.action == "accept":
        done = golden.accept(engine, from_run=repository.find_run(engine, args.from_run),
                             device_kind=args.device_kind, reason=args.reason, by=_who(args))
        replaced = (f"; golden outputs {done.replaced.id} (run {done.replaced.run_pk}) "
                    "retired" if done.replaced else "")
        print(f"golden outputs {done.golden.id} on {done.golden.device_kind}: now those of run "
              f"{done.golden.run_pk}{replaced}")
    elif args.action == "undo":
        done = golden.undo(engine, args.golden, by=_who(args))
        print(f"golden outputs {args.golden} taken back: {done.golden.id} (run "
              f"{done.golden.run_pk}) are the golden ones again on {done.golden.device_kind}")
    else:
        rows = golden.listing(engine, include_all=args.all)
        if not rows:
            print("no golden outputs yet (the first checked night makes them)")
        for row in rows:
            who = f", accepted by {row.accepted_by}" if row.accepted_by else ""
            print(f"{row.id}: {row.state} on {row.device_kind}, weights "
                  f"{row.weights_sha256[:12]}, data {row.dataset_fingerprint}, run "
                  f"{row.run_pk} ({row.created_at:%Y-%m-%d %H:%M}){who}: "
                  f"{row.reason or '-'}; {golden.summary_text(row)}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from segtasks.report import files
    from segtasks.report.markdown import render

    report = nightly.stored_report(args.run, db_url=args.url)
    if args.format == "html":
        folder = Path(args.output) if args.output else files.default_folder(report.run_pk,
                                                                              report.database)
        try:
            print(f"wrote {files.write(report, folder)}")
        except OSError as exc:
            raise files.ReportNotWritten(f"cannot write the report to {folder}: "
                                         f"{paths.write_error(exc, folder, is_folder=True)}"
                                         ) from None
        return 0
    text = render(report, args.format)
    if args.output:
        try:
            Path(args.output).write_text(text)
        except OSError as exc:
            raise files.ReportNotWritten(
                f"cannot write {args.output}: {paths.write_error(exc, Path(args.output))}"
            ) from None
        print(f"wrote {args.output}")
    else:
        print(text)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from segtasks.ui.serve import serve

    serve(args.url, host=args.host, port=args.port, allow_edits=args.allow_edits,
          user=args.user)
    return 0


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}"
                                         ) from None


def _train_defaults():  # type: ignore[no-untyped-def]
    from segtasks.measure.train_settings import TrainSettings

    return TrainSettings()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="segbench", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    sub = parser.add_subparsers(dest="command", required=True)
    url_help = "results database URL (default: $SEGBENCH_DB_URL, else var/segbench.db)"

    p = sub.add_parser("data", help="write the deterministic synthetic input set")
    p.add_argument("--dest", help="folder (default: inputs/)")
    p.add_argument("--count", type=int, default=64)
    p.add_argument("--size", type=int,
                   help="side of the square images (default: 512; with --model, its "
                        "input_size)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", metavar="JSON",
                   help="a run conf's model spec: images of its input channels (RGB for 3) "
                        "and a mask per class (masks/class_<k>/)")
    p.add_argument("--force", action="store_true", help="rewrite even if images are present")
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("weights", help="write seeded weights to weights/weights_001.pt")
    p.add_argument("--dest", help="file (default: weights/weights_001.pt)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", metavar="JSON",
                   help="a run conf's model spec: seeded weights for it (default file: its "
                        "\"weights\")")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=cmd_weights)

    defaults = _train_defaults()
    p = sub.add_parser("train-demo", help="train the demo model on the synthetic set (CPU)",
                       description="Trains UNet++ (or the --model spec's model, with a "
                                   "sigmoid BCE + dice loss per class) on inputs/ with its "
                                   "masks (segbench data [--model]), holding the last images "
                                   "out, and writes the weights (to the spec's \"weights\" "
                                   "file) with a record of how they were made "
                                   "(weights_001.json). Reuses trained weights already there.")
    p.add_argument("--inputs", help="images with a masks/ folder (default: inputs/)")
    p.add_argument("--dest", help="file (default: weights/weights_001.pt)")
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--max-steps", type=int, default=defaults.max_steps)
    p.add_argument("--max-seconds", type=float, default=defaults.max_seconds)
    p.add_argument("--target-iou", type=float, default=defaults.target_iou)
    p.add_argument("--holdout", type=int, default=defaults.holdout,
                   help="images held out for the IoU (the last ones by name)")
    p.add_argument("--eval-every", type=int, default=defaults.eval_every,
                   help="steps between held-out evaluations")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's own)")
    p.add_argument("--model", metavar="JSON",
                   help="a run conf's model spec: train it (default file: its \"weights\")")
    p.add_argument("--force", action="store_true", help="train again, overwriting the file")
    p.set_defaults(func=cmd_train_demo)

    p = sub.add_parser("db", help="the results database: schema and access")
    db = p.add_subparsers(dest="action", required=True)
    for action, text in (("upgrade", "create or migrate the schema in place (Alembic)"),
                         ("current", "show where the results go and the schema revision")):
        q = db.add_parser(action, help=text)
        q.add_argument("--url", help=url_help)
        q.set_defaults(func=cmd_db)
    q = db.add_parser("grant-reader", help="create a read-only PostgreSQL role for analysts")
    q.add_argument("role")
    q.add_argument("--password", help="login password (default: none, e.g. for peer/cert auth)")
    q.add_argument("--url", help=url_help)
    q.set_defaults(func=cmd_db)

    p = sub.add_parser("export", help="write v_results rows since a date to CSV or Parquet")
    p.add_argument("--since", required=True, type=_day, help="YYYY-MM-DD")
    p.add_argument("--format", choices=["csv", "parquet"], default="csv")
    p.add_argument("--output", help="file (default: var/exports/results-since-DATE.FORMAT)")
    p.add_argument("--url", help=url_help)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("run", help="run a grid without Airflow, compare, print the report",
                       description="Every flag is a run parameter of the DAG (same name, "
                                   "dashes for underscores); lists are comma-separated.")
    add_parameter_flags(p)
    p.add_argument("--url", help=url_help)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("docs", help="write docs/parameters.md from the parameter declarations")
    p.add_argument("--output", help="file, or - for stdout (default: docs/parameters.md)")
    p.set_defaults(func=cmd_docs)

    p = sub.add_parser("runs", help="keep a run out of (or put it back into) baselines; "
                                    "close abandoned runs")
    runs = p.add_subparsers(dest="action", required=True)
    by_help = "who does it, stored with it (default: the login name)"
    q = runs.add_parser("exclude", help="e.g. a night the machine was known to be busy")
    q.add_argument("run", help="run id (number) or Airflow run id")
    q.add_argument("--reason", required=True, type=_reason, help="stored with the mark")
    q.add_argument("--by", help=by_help)
    q.add_argument("--url", help=url_help)
    q.set_defaults(func=cmd_runs)
    q = runs.add_parser("include", help="undo an exclusion")
    q.add_argument("run", help="run id (number) or Airflow run id")
    q.add_argument("--by", help=by_help)
    q.add_argument("--url", help=url_help)
    q.set_defaults(func=cmd_runs, reason=None)
    q = runs.add_parser("reap", help="close as `abandoned` the runs whose process is gone",
                        description="A run still `running` with no heartbeat for longer than "
                                    "its budget (its process was killed, its host lost) is "
                                    "closed as `abandoned`, with the reason in its notes. "
                                    "Every night does this when it opens.")
    q.add_argument("--url", help=url_help)
    q.set_defaults(func=cmd_runs)

    p = sub.add_parser("baseline", help="curate baselines: accept a deliberate new level")
    levels = p.add_subparsers(dest="action", required=True)
    q = levels.add_parser("accept", help="nights of CASE before RUN stop counting as baseline")
    q.add_argument("case", help="case key, e.g. cpu-bs4-fp32")
    q.add_argument("--from", dest="from_run", required=True,
                   help="the first run of the new level (number or Airflow run id)")
    q.add_argument("--hardware", help="hardware key (default: the one RUN measured CASE on)")
    q.add_argument("--reason", required=True, type=_reason,
                   help="why, e.g. 'new cuDNN, accepted in #123'")
    q.add_argument("--by", help=by_help)
    q.add_argument("--url", help=url_help)
    q.set_defaults(func=cmd_baseline)
    q = levels.add_parser("undo", help="take an accepted level back (kept, marked undone)")
    q.add_argument("level", type=int, help="its id (segbench baseline list)")
    q.add_argument("--by", help=by_help)
    q.add_argument("--url", help=url_help)
    q.set_defaults(func=cmd_baseline)
    q = levels.add_parser("list", help="accepted levels, newest first")
    q.add_argument("--case", help="only this case key")
    q.add_argument("--all", action="store_true", help="undone levels too")
    q.add_argument("--url", help=url_help)
    q.set_defaults(func=cmd_baseline)

    p = sub.add_parser("golden", help="the golden outputs tonight's fp32 outputs are held to")
    goldens = p.add_subparsers(dest="action", required=True)
    q = goldens.add_parser("accept", help="make the outputs a run computed the golden ones")
    q.add_argument("--from", dest="from_run", required=True,
                   help="the run whose fp32 eager outputs become golden (number or run id)")
    q.add_argument("--device-kind", help="e.g. 'cuda: NVIDIA H100 80GB HBM3' (segbench golden "
                                         "list); needed when the run checked several")
    q.add_argument("--reason", required=True, type=_reason,
                   help="why, e.g. 'torch 2.16 rounds differently'")
    q.add_argument("--by", help=by_help)
    q.add_argument("--url", help=url_help)
    q.set_defaults(func=cmd_golden)
    q = goldens.add_parser("undo", help="take an accepted golden back; the one before returns")
    q.add_argument("golden", type=int, help="its id (segbench golden list)")
    q.add_argument("--by", help=by_help)
    q.add_argument("--url", help=url_help)
    q.set_defaults(func=cmd_golden)
    q = goldens.add_parser("list", help="the golden outputs, newest first")
    q.add_argument("--all", action="store_true", help="candidates and retired ones too")
    q.add_argument("--url", help=url_help)
    q.set_defaults(func=cmd_golden)

    p = sub.add_parser("report", help="print the seed-style tables and verdicts of a run")
    p.add_argument("run", nargs="?", type=int, help="run id (default: the latest)")
    p.add_argument("--format", choices=["markdown", "csv", "html"], default="markdown",
                   help="html writes report.html (with plots) and report.md to a folder")
    p.add_argument("--output", help="file (markdown, csv) or folder (html) instead of stdout "
                                     "(default for html: var/reports/<database>/run-N)")
    p.add_argument("--url", help=url_help)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("serve", help="the results pages without Airflow (read only by default)",
                       description="The pages of the Airflow plugin, served alone. No login: "
                                   "binds to localhost; actions need --allow-edits.")
    p.add_argument("--url", help=url_help)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default: 8765)")
    p.add_argument("--allow-edits", action="store_true",
                   help="allow excluding nights and accepting baseline levels (local host only)")
    p.add_argument("--user", help="name recorded with edits (default: the login name)")
    p.set_defaults(func=cmd_serve)

    add_env_commands(sub, url_help)
    add_bisect_command(sub, url_help)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 done (for `run`: a clean night); 1 `run` found problems (a case
    errored, nothing was measured, a regression with fail_on_regression); 2 a user error
    (one line, no traceback); 130 Ctrl-C; 143 SIGTERM."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except SegbenchError as exc:  # only failures a user can act on: the rest keep their traceback
        print(f"segbench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # a command other than `run`, which handles its own signals
        print("segbench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
