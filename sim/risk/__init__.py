"""Risk and hedging: greeks, the shock grid, tail metrics, hedge positions, the report."""

from .greeks import greeks

__all__ = ["greeks"]
