"""The judged metrics live in the domain module (segtasks.domain.metrics), where plan and
the store can import them without the judge; kept here for the judge's own imports."""

from segtasks.domain.metrics import BY_NAME, METRIC_NAMES, METRICS, Metric

__all__ = ["BY_NAME", "METRICS", "METRIC_NAMES", "Metric"]
