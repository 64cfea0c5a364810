"""What a night left undone, one line each naming the case and the task: from the plan
(the cases, and the confirming processes screening asked for), what the store holds, and,
where the night's last task could ask Airflow, the task states of its own run.

Pure: the DAG's last task (segtasks.nightly.judge_and_close) hands the task states in, so
this module, like the pages that show its lines, never reads Airflow's database.

Task states come as Airflow's Task SDK gives them (`RuntimeTaskInstance.get_task_states`):
`task_id` for a task, `task_id_N` for map index N of a mapped one. The bench tasks are
mapped over each device's planned cases in plan order (`bench_cpu[1]` is the second CPU
case), the confirm tasks over each device's screening jobs in the order screening wrote
them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from segtasks.plan.case import Case

# a task in these states did its work (a skipped case is stored as skipped: not unfinished;
# a removed one is no longer part of the DAG)
DONE = frozenset({"success", "skipped", "removed"})
# the tasks that run after the one asking (compare): not started yet when it asks
LATER_TASKS = frozenset({"bisect"})


def _mapped_key(key: str) -> bool:
    """`bench_cpu_3` is map index 3 of bench_cpu: its case speaks for it."""
    _, _, index = key.rpartition("_")
    return index.isdigit()


@dataclass(frozen=True)
class Unfinished:
    """What a night left undone: its planned cases with no stored result, and the other
    work (confirming processes, tasks) that did not finish; one line each."""

    cases: tuple[str, ...] = ()
    other: tuple[str, ...] = ()

    @property
    def lines(self) -> list[str]:
        return [*self.cases, *self.other]


def unfinished_work(*, cases: Sequence[Case], stored: Collection[str],
                    confirm_jobs: Sequence[Mapping[str, Any]] = (),
                    confirmed: Collection[tuple[str, int]] = (),
                    task_states: Mapping[str, str | None] | None = None,
                    own_task: str = "compare") -> Unfinished:
    """Every planned case with no stored result; where the task states are known, every
    confirming process whose task did not finish, and every other task of the run that
    did not (not `own_task`, the one asking). Without task states a confirming process not
    stored may have been left out on purpose (its budget spent), so it is not named."""
    states = task_states or {}
    unmeasured, other = [], []
    position: dict[str, int] = {}
    for case in cases:
        index = position[case.device] = position.get(case.device, -1) + 1
        if case.key in stored:
            continue
        task = f"bench_{case.device}"
        state = states.get(f"{task}_{index}")
        unmeasured.append(f"{case.key}: not measured ({task}[{index}] {state})" if state
                          else f"{case.key}: not measured (no result stored)")
    if task_states is not None:
        position = {}
        for job in confirm_jobs:
            device, key, process = job["device"], job["case_key"], int(job["process"])
            index = position[device] = position.get(device, -1) + 1
            state = states.get(f"confirm_{device}_{index}")
            if (key, process) in confirmed or state in DONE:
                continue
            other.append(f"{key}: confirming process {process} not measured "
                         f"(confirm_{device}[{index}] {state or 'did not run'})")
        other += [f"{key}: {state or 'did not run'}" for key, state in sorted(states.items())
                  if key != own_task and key not in LATER_TASKS and not _mapped_key(key)
                  and state not in DONE]
    return Unfinished(tuple(unmeasured), tuple(other))
