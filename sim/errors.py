"""The error type of bad input, at the bottom of the layers so that every layer can raise it.

:class:`ConfigError` is re-exported by :mod:`sim.config` (``from sim.config import
ConfigError``) and by the package (``sim.ConfigError``).
"""

from __future__ import annotations

__all__ = ["ConfigError"]


class ConfigError(ValueError):
    """Bad configuration or input data; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))
