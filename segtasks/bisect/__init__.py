"""Bisection (GitHub issue 23): which of the changes between a control and a treatment
environment explains a paired regression (or improvement). Airflow-free.

- `groups`: the changed packages, grouped as uv says they must move together;
- `locks`: the control lock with some groups moved to the treatment's versions;
- `commits`: the commits of one package installed from a git revision range, as groups;
- `search`: the adaptive search over groups, and the first changing commit (pure, no I/O);
- `run`: a bisection of one case: builds each intermediate environment, measures it in
  pairs against the control and judges it by the night's paired rule.

The values it makes are segtasks.domain.bisection's.
"""
