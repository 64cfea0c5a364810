"""The values that cross packages: metrics, verdicts, and what the store hands back (a run,
a result with its parts, a night of a series). Frozen dataclasses and enums only: no
SQLAlchemy, no torch, so that plan, judge, report, ui and store can all import them and
none has to import another's machinery to know what a night is."""
