"""A night that measures cases in other environments, and pairs each against a control
(issue "Paired nights"): which environments (environments), measuring in pairs (bench),
the paired verdicts at close (judge)."""
