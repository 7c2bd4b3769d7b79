"""The Scenarios container, the random streams, and the standard normal shocks every
generator draws from (pseudo-random, antithetic, or randomised quasi-Monte Carlo)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm, qmc

__all__ = [
    "Scenarios",
    "random_stream",
    "standard_normals",
    "brownian_bridge",
    "STREAMS",
    "SHOCK_METHODS",
]

#: One independent stream per risk, spawned from the run's seed in this order.
STREAMS = ("equity", "rates", "regime", "mortality", "lapse")
SHOCK_METHODS = ("pseudo", "antithetic", "sobol")


def _child(seed: int, risk: str) -> np.random.SeedSequence:
    return np.random.SeedSequence(seed).spawn(len(STREAMS))[STREAMS.index(risk)]


def random_stream(seed: int, risk: str) -> np.random.Generator:
    """The generator of one risk's stream: ``SeedSequence(seed).spawn(len(STREAMS))[i]``.

    Draws are taken path-major (scenario, step, factor) so that asking for more scenarios
    leaves the first ones unchanged.
    """
    return np.random.Generator(np.random.PCG64(_child(seed, risk)))


def brownian_bridge(normals: np.ndarray) -> np.ndarray:
    """Map independent normals to Brownian increments, coarse to fine.

    ``normals[:, 0]`` sets the terminal value, the next ones the midpoints, and so on, so
    that the first (best distributed) quasi-random coordinates drive the largest moves.

    Parameters
    ----------
    normals : ndarray(float64, (n, n_steps))
        Independent standard normals.

    Returns
    -------
    ndarray(float64, (n, n_steps))
        Increments of a standard Brownian motion on the unit step grid, divided by the
        square root of the step (each is standard normal, independent across steps).
    """
    n, n_steps = normals.shape
    w = np.zeros((n, n_steps + 1))
    w[:, n_steps] = np.sqrt(n_steps) * normals[:, 0]
    filled = [0, n_steps]
    k = 1
    # breadth-first midpoints of each interval between filled points
    intervals = [(0, n_steps)]
    while intervals:
        nxt = []
        for left, right in intervals:
            if right - left < 2:
                continue
            mid = (left + right) // 2
            t_l, t_m, t_r = float(left), float(mid), float(right)
            mean = ((t_r - t_m) * w[:, left] + (t_m - t_l) * w[:, right]) / (t_r - t_l)
            sd = np.sqrt((t_m - t_l) * (t_r - t_m) / (t_r - t_l))
            w[:, mid] = mean + sd * normals[:, k]
            k += 1
            filled.append(mid)
            nxt += [(left, mid), (mid, right)]
        intervals = nxt
    assert k == n_steps, (k, n_steps)
    return np.diff(w, axis=1)


def standard_normals(
    n_scenarios: int,
    n_steps: int,
    n_factors: int,
    seed: int,
    risk: str = "equity",
    method: str = "pseudo",
    scrambles: int = 1,
) -> np.ndarray:
    """Independent standard normal shocks, ndarray(float64, (n_scenarios, n_steps, n_factors)).

    Parameters
    ----------
    method : str
        ``pseudo``: PCG64 draws, path-major. ``antithetic``: ``n/2`` pseudo paths, each
        followed by its mirror image (scenarios 2k, 2k+1). ``sobol``: randomised QMC:
        ``scrambles`` independent Owen-scrambled Sobol sequences of ``n / scrambles`` points
        each (consecutive blocks), mapped through the normal quantile and a Brownian bridge
        per factor; each block's mean is one independent sample for the standard error.
    """
    if method == "pseudo":
        return random_stream(seed, risk).standard_normal((n_scenarios, n_steps, n_factors))
    if method == "antithetic":
        half = random_stream(seed, risk).standard_normal((n_scenarios // 2, n_steps, n_factors))
        out = np.empty((n_scenarios, n_steps, n_factors))
        out[0::2] = half
        out[1::2] = -half
        return out
    if method == "sobol":
        per = n_scenarios // scrambles
        dims = n_steps * n_factors
        seeds = _child(seed, risk).spawn(scrambles)
        out = np.empty((n_scenarios, n_steps, n_factors))
        for b in range(scrambles):
            engine = qmc.Sobol(
                d=dims, scramble=True, seed=np.random.Generator(np.random.PCG64(seeds[b]))
            )
            u = engine.random(per)
            z = norm.ppf(np.clip(u, 1e-16, 1 - 1e-16))  # (per, dims): factor-major blocks
            for f in range(n_factors):
                # factor f uses dimensions f, f + F, f + 2F, ... so every factor's terminal
                # value sits among the first (best) coordinates
                out[b * per : (b + 1) * per, :, f] = brownian_bridge(z[:, f::n_factors])
        return out
    raise ValueError(f"unknown shock method '{method}'; use one of {', '.join(SHOCK_METHODS)}")


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
    sample_group : int
        Consecutive scenarios that form one independent sample for standard errors: 1 for
        plain Monte Carlo, 2 for antithetic pairs, ``n / scrambles`` for randomised QMC.
    short_rate : ndarray(float64, (n_scen, n_steps)) or None
        Continuously compounded short rate at the start of each step (fixed account renewal).
    """

    index_growth: np.ndarray
    money_market_growth: np.ndarray
    discount: np.ndarray
    index_names: tuple[str, ...]
    steps_per_year: int
    basis: str = "risk_neutral"
    sample_group: int = 1
    short_rate: np.ndarray | None = None

    @property
    def n_scenarios(self) -> int:
        return self.index_growth.shape[0]

    @property
    def n_steps(self) -> int:
        return self.index_growth.shape[1]

    @property
    def antithetic(self) -> bool:
        return self.sample_group == 2
