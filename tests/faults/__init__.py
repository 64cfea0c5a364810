"""Fault injection against real processes (pytest -m faults)."""
