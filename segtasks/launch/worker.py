"""Entry point of a case's own process: `python -m segtasks.launch.worker JOB_JSON RESULT_JSON`."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

from segtasks.plan.case import Case


def main(argv: list[str]) -> int:
    from segtasks.measure import compilation, placement
    from segtasks.paths import compile_cache_dir

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    job_path, result_path = Path(argv[0]), Path(argv[1])
    job = json.loads(job_path.read_text())
    case = Case.from_dict(job["case"])
    if not placement.unavailable(case.cpu_affinity):
        # before torch loads, so that its OpenMP pool is sized for the pinned cores
        placement.pin(case.cpu_affinity)
    # before torch loads: inductor reads its cache settings when it is imported
    compilation.use_kernel_cache(compile_cache_dir())
    from segtasks.measure.case_runner import run_case  # the measuring stack: this process only

    result = run_case(case, Path(job["inputs"]), Path(job["weights"]),
                      headline_only=bool(job.get("headline_only")))
    tmp = result_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result.to_dict()))
    os.replace(tmp, result_path)  # the parent never reads half a result
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
