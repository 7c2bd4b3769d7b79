"""The Scenarios container, the random streams, and the standard normal shocks every
generator draws from (pseudo-random, antithetic, or randomised quasi-Monte Carlo).

Pseudo-random and antithetic shocks come from one stream per (risk, scenario):
``SeedSequence(seed).spawn(len(STREAMS))[i].spawn(s + 1)[s]``, drawn step by step. The shock
of (scenario ``s``, step ``t``, factor ``k``) therefore depends on neither the horizon (a
longer one only appends steps) nor the number of scenarios (more only append scenarios), so
a contract's paths are the same whatever else is in its block, and blocks or sweep cells of
different horizons price on common random numbers. Randomised QMC cannot promise this: see
:func:`standard_normals`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm, qmc

__all__ = [
    "Scenarios",
    "random_stream",
    "scenario_stream",
    "standard_normals",
    "standard_uniforms",
    "brownian_bridge",
    "correlate",
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

    The scenario generators do not draw from it: they draw from children of its
    ``SeedSequence``: child ``s`` is scenario ``s``'s stream under ``pseudo`` and
    ``antithetic`` (:func:`scenario_stream`), and seeds scramble ``s`` under ``sobol``. A
    risk's shocks use one method in a run, so no run draws from both.
    """
    return np.random.Generator(np.random.PCG64(_child(seed, risk)))


def scenario_stream(seed: int, risk: str, scenario: int) -> np.random.Generator:
    """The generator of one scenario's draws of one risk.

    Parameters
    ----------
    seed : int
        The run's seed.
    risk : str
        One of :data:`STREAMS`.
    scenario : int
        Scenario number ``s >= 0`` (for antithetic shocks: the pair number).

    Returns
    -------
    numpy.random.Generator
        PCG64 seeded by ``SeedSequence(seed).spawn(len(STREAMS))[i].spawn(s + 1)[s]``, built
        directly as ``SeedSequence(seed, spawn_key=(i, s))`` (the same sequence, without
        spawning the ``s`` before it). Independent of every other scenario's stream.
    """
    if isinstance(scenario, bool) or not isinstance(scenario, (int, np.integer)) or scenario < 0:
        raise ValueError(f"scenario must be a non-negative integer, got {scenario!r}")
    key = (STREAMS.index(risk), int(scenario))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def _by_scenario(n_scenarios: int, seed: int, risk: str, draw, shape: tuple) -> np.ndarray:
    """``out[s] = draw(scenario_stream(seed, risk, s), shape)`` for ``s < n_scenarios``.

    ``draw`` fills ``shape`` (step first) in C order from the scenario's stream, so a longer
    first axis only appends draws.
    """
    out = np.empty((n_scenarios, *shape))
    for s in range(n_scenarios):
        out[s] = draw(scenario_stream(seed, risk, s), shape)
    return out


def standard_uniforms(n_scenarios: int, n_steps: int, seed: int, risk: str) -> np.ndarray:
    """Independent uniforms on ``[0, 1)``, ndarray(float64, (n_scenarios, n_steps)).

    Scenario ``s`` draws its ``n_steps`` numbers in step order from
    :func:`scenario_stream` ``(seed, risk, s)``, so ``u[s, t]`` depends on neither the
    horizon nor the number of scenarios.
    """
    return _by_scenario(n_scenarios, seed, risk, np.random.Generator.random, (n_steps,))


def correlate(eps: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """Correlated shocks ``z[..., i] = sum_j factor[i, j] eps[..., j]``, element by element.

    The same as ``eps @ factor.T`` but summed in a fixed order for each element, so each
    shock is the same to the last bit whatever the array's shape (a matrix product may
    take another code path, and round differently, for another number of rows).

    Parameters
    ----------
    eps : ndarray(float64, (..., n_in))
        Independent shocks, the factor last.
    factor : ndarray(float64, (n_out, n_in))
        E.g. a Cholesky factor of the correlation.

    Returns
    -------
    ndarray(float64, (..., n_out))
    """
    factor = np.asarray(factor, dtype=float)
    out = np.zeros((*eps.shape[:-1], factor.shape[0]))
    for i in range(factor.shape[0]):
        for j in range(factor.shape[1]):
            if factor[i, j] != 0.0:
                out[..., i] += factor[i, j] * eps[..., j]
    return out


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
    n_scenarios, n_steps, n_factors : int
        Shape of the result.
    seed : int
        The run's seed.
    risk : str
        One of :data:`STREAMS`.
    method : str
        ``pseudo``: scenario ``s`` draws its ``(n_steps, n_factors)`` normals step by step
        from its own stream, :func:`scenario_stream` ``(seed, risk, s)``. ``antithetic``:
        pair ``k`` draws the same way from stream ``k``; scenario ``2k`` takes the draws and
        ``2k + 1`` their negatives. ``sobol``: randomised QMC: ``scrambles`` independent
        scrambled Sobol sequences of ``n / scrambles`` points each (consecutive blocks;
        scipy's linear matrix scramble with a digital shift, seeded by
        ``SeedSequence(seed).spawn(len(STREAMS))[i].spawn(scrambles)``), mapped through the
        normal quantile and a Brownian bridge per factor; each block's mean is one
        independent sample for the standard error.
    scrambles : int
        Independent scrambles for ``sobol``.

    Returns
    -------
    ndarray(float64, (n_scenarios, n_steps, n_factors))

    Notes
    -----
    Under ``pseudo`` and ``antithetic`` the shock of (scenario ``s``, step ``t``, factor
    ``k``) is the same for every horizon ``n_steps > t`` and every ``n_scenarios > s``
    (``2k + 1`` for a pair): horizons share their first steps and scenario counts their
    first scenarios. Under ``sobol`` neither holds. The point set has ``n_steps x
    n_factors`` dimensions, and scipy's scramble of a ``d``-dimensional sequence is not the
    first ``d`` coordinates of a longer one with the same seed; more fundamentally, the
    Brownian bridge sets each path's value at the horizon first, so every increment depends
    on ``n_steps``. Each horizon's RQMC estimate is unbiased, but two horizons are not on
    common random numbers, and ``n / scrambles`` points regroup when ``n`` changes.
    """
    if method == "pseudo":
        return _by_scenario(
            n_scenarios, seed, risk, np.random.Generator.standard_normal, (n_steps, n_factors)
        )
    if method == "antithetic":
        half = _by_scenario(
            n_scenarios // 2, seed, risk, np.random.Generator.standard_normal, (n_steps, n_factors)
        )
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
