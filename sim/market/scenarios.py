"""The Scenarios container and the random streams every generator draws from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Scenarios", "random_stream", "STREAMS"]

#: One independent stream per risk, spawned from the run's seed in this order.
STREAMS = ("equity", "rates", "regime", "mortality", "lapse")


def random_stream(seed: int, risk: str) -> np.random.Generator:
    """The generator of one risk's stream: ``SeedSequence(seed).spawn(len(STREAMS))[i]``.

    Draws are taken path-major (scenario, step, index) so that asking for more scenarios
    leaves the first ones unchanged.
    """
    child = np.random.SeedSequence(seed).spawn(len(STREAMS))[STREAMS.index(risk)]
    return np.random.Generator(np.random.PCG64(child))


@dataclass(frozen=True)
class Scenarios:
    """Economic scenarios as the engine consumes them.

    Attributes
    ----------
    index_growth : ndarray(float64, (n_scen, n_steps, n_indices))
        Gross growth factor of each index (total return) over each step.
    money_market_growth : ndarray(float64, (n_scen, n_steps))
        Growth factor of one unit invested at the short rate over each step.
    discount : ndarray(float64, (n_scen, n_steps + 1))
        Discount factor from time 0 to the end of each step; ``discount[:, 0] == 1``.
    index_names : tuple of str
    steps_per_year : int
    basis : str
        ``risk_neutral`` or ``real_world``.
    antithetic : bool
        Scenarios ``2k`` and ``2k + 1`` are an antithetic pair.
    """

    index_growth: np.ndarray
    money_market_growth: np.ndarray
    discount: np.ndarray
    index_names: tuple[str, ...]
    steps_per_year: int
    basis: str = "risk_neutral"
    antithetic: bool = False

    @property
    def n_scenarios(self) -> int:
        return self.index_growth.shape[0]

    @property
    def n_steps(self) -> int:
        return self.index_growth.shape[1]
