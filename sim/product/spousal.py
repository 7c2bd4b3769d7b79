"""Terms of the Spousal Protection Benefit Rider [004] (SPEC section 3)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SpousalProtectionRider"]


@dataclass(frozen=True)
class SpousalProtectionRider:
    """Annualised charge on the variable sub-accounts while the rider is in force."""

    charge: float = 0.0015

    @classmethod
    def from_config(cls, section) -> "SpousalProtectionRider":
        return cls(charge=section.charge)
