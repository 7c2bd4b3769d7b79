"""One-factor Hull-White short rate fitted to the initial curve, correlated with lognormal
equity indices, risk neutral, simulated exactly on the step grid (no Euler bias).

Model
-----
``dr = (theta(t) - a r) dt + sigma_r dW_r`` with ``theta`` fitted to the curve ``P(0, t)``.
Write ``r(t) = x(t) + alpha(t)`` with the Ornstein-Uhlenbeck process
``dx = -a x dt + sigma_r dW_r``, ``x(0) = 0``, and

    alpha(t) = f(0, t) + sigma_r**2 / (2 a**2) * (1 - exp(-a t))**2,

``f(0, t)`` the curve's instantaneous forward rate. With ``B(h) = (1 - exp(-a h)) / a`` and
``g(u) = u - 2 (1 - exp(-u)) + (1 - exp(-2u)) / 2``, the variance of ``int_0^t x ds`` is

    V(0, t) = sigma_r**2 / a**3 * g(a t),

and ``int_0^t alpha ds = -ln P(0, t) + V(0, t) / 2``, so that
``E[exp(-int_0^T r ds)] = exp(-int_0^T alpha ds + V(0, T) / 2) = P(0, T)`` exactly.
"""

from __future__ import annotations

import math

import numpy as np

from .curve import ZeroCurve
from .scenarios import SHOCK_METHODS, Scenarios, correlate, standard_normals

__all__ = [
    "generate_hull_white",
    "hull_white_short_rate_moments",
    "hull_white_zero_coupon",
    "integrated_variance",
]


def _g(u) -> np.ndarray:
    """``g(u) = u - 2 (1 - e^-u) + (1 - e^-2u) / 2 = u^3/3 - u^4/4 + ...`` for ``u >= 0``.

    The direct formula cancels badly for small ``u`` (monthly steps: ``u ~ 0.01``), so below
    ``u = 1`` the Taylor series ``sum_{k>=3} (-1)^(k+1) (2^(k-1) - 2) u^k / k!`` is used
    (30 terms: truncation below 1e-25 relative).
    """
    u = np.asarray(u, dtype=float)
    direct = u + 2.0 * np.expm1(-u) - 0.5 * np.expm1(-2.0 * u)
    small = np.abs(u) < 1.0
    if np.any(small):
        us = np.where(small, u, 0.0)
        series = np.zeros_like(us)
        term = us**2 / 2.0  # u^k / k! for k = 2
        for k in range(3, 33):
            term = term * us / k
            series = series + (-1) ** (k + 1) * (2.0 ** (k - 1) - 2.0) * term
        direct = np.where(small, series, direct)
    return direct


def integrated_variance(mean_reversion: float, rate_volatility: float, t) -> np.ndarray:
    """``V(0, t) = Var[int_0^t x ds] = sigma_r**2 / a**3 * g(a t)`` (OU started at 0).

    Parameters
    ----------
    t : float or ndarray(float64, shape)

    Returns
    -------
    ndarray(float64, shape)
    """
    a, s = float(mean_reversion), float(rate_volatility)
    return s**2 / a**3 * _g(a * np.asarray(t, dtype=float))


def _alpha(curve: ZeroCurve, a: float, s: float, t) -> np.ndarray:
    """``alpha(t) = f(0, t) + sigma_r**2 / (2 a**2) (1 - e^{-a t})**2`` = E[r(t)]."""
    t = np.asarray(t, dtype=float)
    return curve.instantaneous_forward(t) + s**2 / (2.0 * a**2) * np.expm1(-a * t) ** 2


def hull_white_short_rate_moments(
    curve: ZeroCurve, mean_reversion: float, rate_volatility: float, t
):
    """Analytic mean and variance of the short rate ``r(t)`` seen from time 0.

    ``E[r(t)] = alpha(t) = f(0, t) + sigma_r**2 / (2 a**2) (1 - e^{-a t})**2`` and
    ``Var[r(t)] = sigma_r**2 / (2 a) (1 - e^{-2 a t})``.

    Parameters
    ----------
    t : float or ndarray(float64, shape)

    Returns
    -------
    mean, variance : ndarray(float64, shape)
    """
    a, s = _check_rate_params(mean_reversion, rate_volatility)
    t = np.asarray(t, dtype=float)
    return _alpha(curve, a, s, t), -(s**2) * np.expm1(-2.0 * a * t) / (2.0 * a)


def hull_white_zero_coupon(
    curve: ZeroCurve, mean_reversion: float, rate_volatility: float, t, T, r_t
) -> np.ndarray:
    """Closed-form zero-coupon bond price ``P(t, T) = A(t, T) exp(-B(t, T) r_t)``.

    With ``B(t, T) = (1 - exp(-a (T - t))) / a`` and

        ln A(t, T) = ln(P(0, T) / P(0, t)) + B(t, T) f(0, t)
                     - sigma_r**2 / (4 a) (1 - exp(-2 a t)) B(t, T)**2,

    ``P(0, .)`` and ``f(0, .)`` from ``curve`` (the same right-continuous forward the
    simulation uses for ``alpha``, so the two are consistent at the curve's tenors too).

    Parameters
    ----------
    curve : ZeroCurve
        The initial curve the model is fitted to.
    mean_reversion, rate_volatility : float
        ``a > 0`` and ``sigma_r >= 0``.
    t, T : float or ndarray(float64, shape)
        Valuation time and maturity in years, ``0 <= t <= T`` (broadcast together).
    r_t : float or ndarray(float64, shape)
        Short rate at ``t`` (e.g. ``Scenarios.short_rate[:, k]`` for ``t = k dt``).

    Returns
    -------
    ndarray(float64, broadcast shape of t, T, r_t)
    """
    a, s = _check_rate_params(mean_reversion, rate_volatility)
    t = np.asarray(t, dtype=float)
    T = np.asarray(T, dtype=float)
    if np.any(t < 0.0) or np.any(T < t):
        raise ValueError("need 0 <= t <= T")
    b = -np.expm1(-a * (T - t)) / a
    log_a = (
        np.log(curve.discount(T))
        - np.log(curve.discount(t))
        + b * curve.instantaneous_forward(t)
        + s**2 / (4.0 * a) * np.expm1(-2.0 * a * t) * b**2
    )
    return np.exp(log_a - b * np.asarray(r_t, dtype=float))


def _check_rate_params(a, s) -> tuple[float, float]:
    a, s = float(a), float(s)
    if not (math.isfinite(a) and a > 0.0):
        raise ValueError(f"mean_reversion must be a positive number, got {a!r}")
    if not (math.isfinite(s) and s >= 0.0):
        raise ValueError(f"rate_volatility must be a non-negative number, got {s!r}")
    return a, s


def _factor(correlation: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor; an eigen-decomposition when only semi-definite."""
    try:
        return np.linalg.cholesky(correlation)
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh(correlation)
        return v * np.sqrt(np.clip(w, 0.0, None))


def generate_hull_white(
    curve: ZeroCurve,
    mean_reversion: float,
    rate_volatility: float,
    volatilities: np.ndarray,
    dividend_yields: np.ndarray,
    correlation: np.ndarray,
    n_scenarios: int,
    n_steps: int,
    steps_per_year: int,
    seed: int,
    method: str = "pseudo",
    scrambles: int = 1,
    index_names: tuple[str, ...] = (),
) -> Scenarios:
    """Hull-White short rate and correlated lognormal indices, risk neutral, exact steps.

    Rates (exact in distribution on the grid)
    -----------------------------------------
    Over a step ``(t, t + h)``, ``h = 1 / steps_per_year``, ``u = a h``, given ``x_t``:

        x_{t+h} = e^{-u} x_t + eps_x,              Var eps_x = sigma_r**2 (1 - e^{-2u}) / (2a)
        Y = int_t^{t+h} x ds = B(h) x_t + eps_y,   Var eps_y = sigma_r**2 / a**3 * g(u)
        Cov(eps_x, eps_y) = sigma_r**2 / (2 a**2) (1 - e^{-u})**2 = sigma_r**2 B(h)**2 / 2

    drawn as ``eps_x = sd_x Z_r``, ``eps_y = (Cov / sd_x) Z_r + sqrt(Var eps_y - Cov**2 /
    Var eps_x) Z_2``. The step's integrated rate is ``I = Y + int_t^{t+h} alpha`` with

        int_t^{t+h} alpha = ln P(0, t) - ln P(0, t+h) + (V(0, t+h) - V(0, t)) / 2,

    so ``E[exp(-sum of I up to T)] = P(0, T)`` at every grid date, whatever the step
    (see the module docstring for ``alpha``, ``V``, ``g``). ``a`` must be positive.

    Equity
    ------
    Index ``i`` grows over the step by
    ``exp(I - q_i h - sigma_i**2 h / 2 + sigma_i sqrt(h) Z_i)``, so the discounted index
    ``exp(-int r) S`` is exactly ``S_0`` times a lognormal martingale factor with drift
    ``-q_i``: ``E[exp(-int_0^T r) S_T] = S_0 e^{-q_i T}``. ``sigma_i`` is thus the
    volatility of the index in units of the money market account (excess return); the
    total-return volatility also includes the integrated-rate noise.

    Correlation (simplification)
    ----------------------------
    ``correlation`` is the correlation of ``(Z_1, ..., Z_n, Z_r)``, the short rate LAST:
    the equity normals are correlated with the normal ``Z_r`` that drives ``x_{t+h}``,
    not with the integrated rate ``Y`` (``Z_2`` is independent of everything), so
    ``Corr(Z_i, Y) = rho_ir Cov / (sd_x sd_y)`` (about ``0.87 rho_ir`` for short steps).
    ``(Z, Z_r) = L (eps_equity, eps_rate_0)`` with ``L`` the lower Cholesky factor of
    ``correlation`` (an eigen-decomposition when only semi-definite).

    Random streams
    --------------
    ``eps_equity = standard_normals(n, T, n_indices, seed, "equity", method, scrambles)``
    and ``(eps_rate_0, Z_2) = standard_normals(n, T, 2, seed, "rates", method, scrambles)``.
    As the short rate comes last, the Cholesky factor's equity block is that of the
    equity correlation alone, so the equity shocks ``Z`` are exactly those of
    :func:`~sim.market.gbm.generate_gbm` with the same seed and method; with
    ``rate_volatility -> 0`` the index growth tends to the GBM's.

    Parameters
    ----------
    curve : ZeroCurve
        Initial curve ``P(0, t)``; the model reprices it exactly.
    mean_reversion : float
        ``a > 0`` per year.
    rate_volatility : float
        ``sigma_r >= 0`` (absolute, per sqrt(year)).
    volatilities, dividend_yields : ndarray(float64, (n_indices,))
    correlation : ndarray(float64, (n_indices + 1, n_indices + 1))
        Symmetric, unit diagonal, positive semi-definite; short rate last.
    n_scenarios, n_steps, steps_per_year, seed : int
    method : str
        ``pseudo``, ``antithetic`` (even ``n_scenarios``; pairs ``2k, 2k+1`` mirror all
        shocks) or ``sobol`` (``n_scenarios`` a multiple of ``scrambles``).
    scrambles : int
        Independent scrambles for ``method = "sobol"``.
    index_names : tuple of str

    Returns
    -------
    Scenarios
        ``index_growth`` (n_scen, n_steps, n_indices); ``money_market_growth = exp(I)``
        (n_scen, n_steps); ``discount = exp(-cumulative I)`` (n_scen, n_steps + 1) with
        ``discount[:, 0] == 1``; ``short_rate`` = ``r`` at the start of each step
        (n_scen, n_steps); ``sample_group`` 1, 2 or ``n_scenarios / scrambles``;
        ``basis = "risk_neutral"``.
    """
    a, s = _check_rate_params(mean_reversion, rate_volatility)
    vol = np.atleast_1d(np.asarray(volatilities, dtype=float))
    q = np.atleast_1d(np.asarray(dividend_yields, dtype=float))
    n_idx = vol.size
    corr = np.asarray(correlation, dtype=float)
    _validate(vol, q, corr, n_scenarios, n_steps, steps_per_year, method, scrambles, index_names)

    h = 1.0 / steps_per_year
    u = a * h
    decay = math.exp(-u)
    b_h = -math.expm1(-u) / a
    var_x = -(s**2) * math.expm1(-2.0 * u) / (2.0 * a)
    sd_x = math.sqrt(var_x)
    cov_xy = 0.5 * s**2 * b_h**2
    var_y = s**2 / a**3 * float(_g(u))
    # conditional variance of eps_y given eps_x: sigma^2/a^3 (g(u) - (1-e^-u)^3 / (2 (1+e^-u)))
    var_y_given_x = s**2 / a**3 * (float(_g(u)) - (-math.expm1(-u)) ** 3 / (2.0 * (1.0 + decay)))
    load_y = cov_xy / sd_x if sd_x > 0.0 else 0.0
    sd_y_resid = math.sqrt(max(var_y_given_x, 0.0)) if var_y > 0.0 else 0.0

    grid = np.arange(n_steps + 1) * h
    log_p = np.log(curve.discount(grid))
    big_v = integrated_variance(a, s, grid)
    alpha_integral = log_p[:-1] - log_p[1:] + 0.5 * np.diff(big_v)  # (T,)
    alpha_start = _alpha(curve, a, s, grid[:-1])  # (T,)

    chol = _factor(corr)
    eps_rate = standard_normals(n_scenarios, n_steps, 2, seed, "rates", method, scrambles)
    if n_idx:
        eps_eq = standard_normals(n_scenarios, n_steps, n_idx, seed, "equity", method, scrambles)
        z_eq = correlate(eps_eq, chol[:n_idx, :n_idx])  # (S, T, I)
        z_r = correlate(eps_eq, chol[n_idx : n_idx + 1, :n_idx])[:, :, 0]
        z_r += chol[n_idx, n_idx] * eps_rate[:, :, 0]
    else:
        z_eq = np.zeros((n_scenarios, n_steps, 0))
        z_r = chol[0, 0] * eps_rate[:, :, 0]
    z_2 = eps_rate[:, :, 1]

    integral = np.empty((n_scenarios, n_steps))
    short_rate = np.empty((n_scenarios, n_steps))
    x = np.zeros(n_scenarios)
    for k in range(n_steps):
        short_rate[:, k] = x + alpha_start[k]
        integral[:, k] = alpha_integral[k] + b_h * x + load_y * z_r[:, k] + sd_y_resid * z_2[:, k]
        x = decay * x + sd_x * z_r[:, k]

    drift = -(q + 0.5 * vol**2) * h  # (I,)
    index_growth = np.exp(integral[:, :, None] + drift + z_eq * (vol * math.sqrt(h)))
    discount = np.empty((n_scenarios, n_steps + 1))
    discount[:, 0] = 1.0
    discount[:, 1:] = np.exp(-np.cumsum(integral, axis=1))
    return Scenarios(
        index_growth=index_growth,
        money_market_growth=np.exp(integral),
        discount=discount,
        index_names=tuple(index_names),
        steps_per_year=steps_per_year,
        basis="risk_neutral",
        sample_group={"pseudo": 1, "antithetic": 2, "sobol": n_scenarios // scrambles}[method],
        short_rate=short_rate,
    )


def _validate(
    vol, q, corr, n_scenarios, n_steps, steps_per_year, method, scrambles, index_names
) -> None:
    n_idx = vol.size
    if vol.ndim != 1 or q.shape != vol.shape:
        raise ValueError(
            f"volatilities and dividend_yields must be 1-d of equal length "
            f"(got shapes {vol.shape} and {q.shape})"
        )
    if not (np.all(np.isfinite(vol)) and np.all(vol >= 0.0) and np.all(np.isfinite(q))):
        raise ValueError("volatilities must be finite and non-negative, dividend_yields finite")
    if corr.shape != (n_idx + 1, n_idx + 1):
        raise ValueError(
            f"correlation must be ({n_idx + 1}, {n_idx + 1}): the {n_idx} indices "
            f"then the short rate last (got shape {corr.shape})"
        )
    if not np.all(np.isfinite(corr)) or not np.allclose(corr, corr.T, atol=1e-12, rtol=0.0):
        raise ValueError("correlation must be a finite symmetric matrix")
    if not np.allclose(np.diag(corr), 1.0, atol=1e-12, rtol=0.0) or np.any(
        np.abs(corr) > 1.0 + 1e-12
    ):
        raise ValueError("correlation must have a unit diagonal and entries in [-1, 1]")
    if np.linalg.eigvalsh(corr).min() < -1e-10:
        raise ValueError("correlation must be positive semi-definite")
    if index_names and len(index_names) != n_idx:
        raise ValueError(f"index_names has {len(index_names)} names for {n_idx} indices")
    for name, v in (
        ("n_scenarios", n_scenarios),
        ("n_steps", n_steps),
        ("steps_per_year", steps_per_year),
        ("scrambles", scrambles),
    ):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if method not in SHOCK_METHODS:
        raise ValueError(f"unknown shock method '{method}'; use one of {', '.join(SHOCK_METHODS)}")
    if method == "antithetic" and n_scenarios % 2:
        raise ValueError(f"antithetic pairs need an even number of scenarios, got {n_scenarios}")
    if method == "sobol" and n_scenarios % scrambles:
        raise ValueError(
            f"n_scenarios ({n_scenarios}) must be a multiple of scrambles ({scrambles})"
        )
