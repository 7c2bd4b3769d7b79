"""Correlated multi-index lognormal (Black-Scholes) scenarios, risk neutral."""

from __future__ import annotations

import numpy as np

from .curve import ZeroCurve
from .scenarios import Scenarios, correlate, standard_normals

__all__ = ["generate_gbm"]


def generate_gbm(
    curve: ZeroCurve,
    volatilities: np.ndarray,
    dividend_yields: np.ndarray,
    correlation: np.ndarray,
    n_scenarios: int,
    n_steps: int,
    steps_per_year: int,
    seed: int,
    antithetic: bool = False,
    index_names: tuple[str, ...] = (),
    method: str | None = None,
    scrambles: int = 1,
) -> Scenarios:
    """Exact lognormal steps under the risk-neutral measure with a deterministic curve.

    Index ``i`` grows over step ``t`` by
    ``exp((f_t - q_i - sigma_i**2 / 2) dt + sigma_i sqrt(dt) Z_i)`` where ``f_t`` is the
    curve's forward rate over the step and ``Z = L @ eps`` with ``L`` the Cholesky factor
    of ``correlation`` (an eigen-decomposition when it is only semi-definite).

    Parameters
    ----------
    volatilities, dividend_yields : ndarray(float64, (n_indices,))
    correlation : ndarray(float64, (n_indices, n_indices))
    antithetic : bool
        Draw ``n_scenarios / 2`` paths and pair each with its mirror image (2k, 2k+1).
    method : str, optional
        Shock method of :func:`standard_normals` (overrides ``antithetic``).
    scrambles : int
        Independent scrambles for ``method = "sobol"``.
    """
    vol = np.asarray(volatilities, float)
    q = np.asarray(dividend_yields, float)
    n_idx = vol.size
    dt = 1.0 / steps_per_year
    forwards = curve.step_forwards(n_steps, steps_per_year)  # (T,)
    try:
        chol = np.linalg.cholesky(correlation)
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh(correlation)
        chol = v * np.sqrt(np.clip(w, 0.0, None))
    method = method or ("antithetic" if antithetic else "pseudo")
    eps = standard_normals(n_scenarios, n_steps, n_idx, seed, "equity", method, scrambles)
    z = correlate(eps, chol)
    drift = (forwards[:, None] - q[None, :] - 0.5 * vol**2) * dt  # (T, I)
    index_growth = np.exp(drift[None, :, :] + z * (vol * np.sqrt(dt)))
    mm = np.broadcast_to(np.exp(forwards * dt), (n_scenarios, n_steps)).copy()
    short_rate = np.broadcast_to(forwards, (n_scenarios, n_steps)).copy()
    grid = np.arange(n_steps + 1) * dt
    discount = np.broadcast_to(curve.discount(grid), (n_scenarios, n_steps + 1)).copy()
    return Scenarios(
        index_growth=index_growth,
        money_market_growth=mm,
        discount=discount,
        index_names=tuple(index_names),
        steps_per_year=steps_per_year,
        basis="risk_neutral",
        sample_group={"pseudo": 1, "antithetic": 2, "sobol": n_scenarios // scrambles}[method],
        short_rate=short_rate,
    )
