"""The order of the two sides in each pair.

Abedi and Brecht (ICPE 2017) show that a fixed order (always A then B) lets anything
periodic or warming on the machine favour one side; randomizing the order per trial takes
that bias away. The order here is randomized in blocks of two pairs, each block either
(control first, treatment first) or the reverse (ABBA or BAAB), so that every even prefix
is balanced: a night that stops early for its budget keeps as many pairs measured
control-first as treatment-first, up to one.
"""

from __future__ import annotations

import random

from segtasks.domain.paired import Side

CONTROL_FIRST = (Side.CONTROL, Side.TREATMENT)
TREATMENT_FIRST = (Side.TREATMENT, Side.CONTROL)


def pair_orders(n: int, rng: random.Random) -> list[tuple[Side, Side]]:
    """The order of the sides in each of `n` pairs, deterministic for the state of `rng`:
    balanced in every block of two pairs; an odd last pair gets a random order."""
    orders: list[tuple[Side, Side]] = []
    for _ in range(n // 2):
        block = [CONTROL_FIRST, TREATMENT_FIRST]
        if rng.random() < 0.5:
            block.reverse()
        orders.extend(block)
    if n % 2:
        orders.append(rng.choice((CONTROL_FIRST, TREATMENT_FIRST)))
    return orders
