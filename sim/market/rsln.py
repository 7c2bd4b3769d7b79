"""Two-regime regime-switching lognormal (RSLN2) equity returns, monthly, real world.

Source: American Academy of Actuaries, "Recommended Approach for Setting Regulatory
Risk-Based Capital Requirements for Variable Annuities and Similar Products" (C3 Phase II
report, June 2005), Appendix 2, Table 6: RSLN2 models fitted to monthly S&P 500 total
returns and shown there to pass the Academy's wealth-ratio calibration criteria
(see :mod:`sim.market.calibration`). Transcribed in
``/work/shared/reference/aaa-equity-generator.md``.

Model: in month ``t`` the process is in regime ``rho(t)`` in {1, 2}; the monthly log total
return is ``Normal(mu_rho, sigma_rho)`` (monthly units). Between consecutive months the
regime moves 1 -> 2 with probability ``p12`` and 2 -> 1 with probability ``p21`` (a Markov
chain). The regime of the first month is drawn from the stationary distribution
``pi_1 = p21 / (p12 + p21)``, ``pi_2 = p12 / (p12 + p21)``, as the calibration requires
(unconditional percentiles).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.stats import norm

from .calibration import HORIZONS, PERCENTILES
from .scenarios import Scenarios, standard_normals, standard_uniforms

__all__ = [
    "RSLN2_2005_ER_9_6",
    "RSLN2_2005_ER_10_0",
    "RSLN2_2005_ER_10_5",
    "RSLN2_2005_SETS",
    "RSLN2Params",
    "generate_rsln2",
    "rsln2_log_wealth_mixture",
    "rsln2_regimes",
    "rsln2_wealth_ratio_percentiles",
]


@dataclass(frozen=True)
class RSLN2Params:
    """Monthly parameters of a two-regime lognormal model.

    Attributes
    ----------
    mu1, sigma1 : float
        Mean and standard deviation of the monthly log return in regime 1 (the calm regime).
    p12 : float
        Monthly probability of moving from regime 1 to regime 2.
    mu2, sigma2 : float
        Mean and standard deviation of the monthly log return in regime 2.
    p21 : float
        Monthly probability of moving from regime 2 to regime 1.
    """

    mu1: float
    sigma1: float
    p12: float
    mu2: float
    sigma2: float
    p21: float

    def __post_init__(self):
        if not (self.sigma1 > 0 and self.sigma2 > 0):
            raise ValueError("RSLN2 volatilities sigma1, sigma2 must be positive")
        for name in ("p12", "p21"):
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"RSLN2 transition probability {name} = {p} is not in [0, 1]")
        if self.p12 + self.p21 <= 0.0:
            raise ValueError("RSLN2 needs p12 + p21 > 0 for a unique stationary distribution")

    @property
    def stationary(self) -> tuple[float, float]:
        """Stationary regime probabilities ``(pi_1, pi_2)``."""
        total = self.p12 + self.p21
        return self.p21 / total, self.p12 / total

    @property
    def means(self) -> np.ndarray:
        """ndarray(float64, (2,)): monthly log-return means by regime."""
        return np.array([self.mu1, self.mu2])

    @property
    def sigmas(self) -> np.ndarray:
        """ndarray(float64, (2,)): monthly log-return standard deviations by regime."""
        return np.array([self.sigma1, self.sigma2])


#: Table 6, expected return 9.60 %, fitted to S&P 500 total returns 12/1953-12/2003
#: (stationary probabilities 0.8316 / 0.1684, annualised volatility 14.18 %).
RSLN2_2005_ER_9_6 = RSLN2Params(
    mu1=0.010675, sigma1=0.034126, p12=0.039219, mu2=-0.013616, sigma2=0.060858, p21=0.193709
)
#: Table 6, expected return 10.00 %, fitted 12/1953-12/2003 (0.8129 / 0.1871, 14.72 %).
RSLN2_2005_ER_10_0 = RSLN2Params(
    mu1=0.011806, sigma1=0.034562, p12=0.044323, mu2=-0.015200, sigma2=0.062210, p21=0.192584
)
#: Table 6, expected return 10.50 %, fitted 12/1964-12/2003 (0.8442 / 0.1558, 15.31 %).
RSLN2_2005_ER_10_5 = RSLN2Params(
    mu1=0.011664, sigma1=0.036337, p12=0.045740, mu2=-0.017416, sigma2=0.068350, p21=0.247814
)
#: The three Table 6 sets by label.
RSLN2_2005_SETS = {
    "RSLN2 9.60 %": RSLN2_2005_ER_9_6,
    "RSLN2 10.00 %": RSLN2_2005_ER_10_0,
    "RSLN2 10.50 %": RSLN2_2005_ER_10_5,
}


def _check_monthly(steps_per_year: int, model: str) -> None:
    if steps_per_year != 12:
        raise ValueError(
            f"{model} is a monthly model: steps_per_year must be 12, got {steps_per_year}"
        )


def rsln2_regimes(
    params: RSLN2Params,
    n_scenarios: int,
    n_steps: int,
    seed: int,
    start_regime: str | int = "stationary",
) -> np.ndarray:
    """Regime paths of the Markov chain, 0 for regime 1 and 1 for regime 2.

    Draws ``U = standard_uniforms(n_scenarios, n_steps, seed, "regime")`` (each scenario
    from its own stream, step by step: a longer horizon or more scenarios leave the
    first ones unchanged). ``U[:, 0]`` sets the regime
    of the first month (regime 2 when ``U >= pi_1``); ``U[:, t]`` switches the regime from
    month ``t - 1`` to month ``t`` when it is below the switching probability of the
    previous regime. With a fixed ``start_regime`` ``U[:, 0]`` is drawn but unused.

    Parameters
    ----------
    start_regime : {"stationary", 1, 2}
        Regime of the first month: drawn from the stationary distribution (the default,
        unconditional, as the Academy calibration requires) or fixed.

    Returns
    -------
    ndarray(int8, (n_scenarios, n_steps))
        Regime index (0 or 1) in force during each month.
    """
    u = standard_uniforms(n_scenarios, n_steps, seed, "regime")
    regimes = np.empty((n_scenarios, n_steps), dtype=np.int8)
    if n_steps == 0:
        return regimes
    if isinstance(start_regime, str):
        if start_regime != "stationary":
            raise ValueError(f"start_regime must be 'stationary', 1 or 2, got {start_regime!r}")
        regimes[:, 0] = u[:, 0] >= params.stationary[0]
    elif start_regime in (1, 2):
        regimes[:, 0] = start_regime - 1
    else:
        raise ValueError(f"start_regime must be 'stationary', 1 or 2, got {start_regime!r}")
    switch = np.array([params.p12, params.p21])
    for t in range(1, n_steps):
        prev = regimes[:, t - 1]
        regimes[:, t] = np.where(u[:, t] < switch[prev], 1 - prev, prev)
    return regimes


def generate_rsln2(
    params: RSLN2Params,
    n_scenarios: int,
    n_steps: int,
    steps_per_year: int = 12,
    seed: int = 0,
    index_names: tuple[str, ...] = ("equity",),
    rate: float = 0.0,
    start_regime: str | int = "stationary",
) -> Scenarios:
    """Real-world RSLN2 scenarios of one total-return index, monthly steps.

    The index grows over month ``t`` by ``exp(mu_r + sigma_r Z_t)`` with ``r`` the regime
    of month ``t`` (:func:`rsln2_regimes`) and ``Z`` from
    ``standard_normals(n_scenarios, n_steps, 1, seed, "equity")``. Money market and
    discount factors come from a flat continuously compounded annual ``rate``:
    ``money_market_growth = exp(rate / 12)``, ``discount[:, k] = exp(-rate k / 12)``.

    Parameters
    ----------
    params : RSLN2Params
        Monthly parameters, e.g. :data:`RSLN2_2005_ER_10_0`.
    n_scenarios, n_steps : int
        Paths and months.
    steps_per_year : int
        Must be 12 (the parameters are monthly); anything else raises ``ValueError``.
    seed : int
        Run seed: regimes from its ``"regime"`` stream, return shocks from ``"equity"``.
    index_names : tuple of str
        Exactly one name, the index this model drives.
    rate : float
        Flat continuously compounded annual rate for money market and discounting.
    start_regime : {"stationary", 1, 2}
        See :func:`rsln2_regimes`.

    Returns
    -------
    Scenarios
        ``index_growth`` ndarray(float64, (n_scenarios, n_steps, 1)), basis ``real_world``.
    """
    _check_monthly(steps_per_year, "RSLN2")
    index_names = tuple(index_names)
    if len(index_names) != 1:
        raise ValueError(f"RSLN2 drives one index; got index_names={index_names!r}")
    regimes = rsln2_regimes(params, n_scenarios, n_steps, seed, start_regime)
    z = standard_normals(n_scenarios, n_steps, 1, seed, "equity")[:, :, 0]
    log_returns = params.means[regimes] + params.sigmas[regimes] * z
    return _real_world_scenarios(log_returns, rate, index_names)


def _real_world_scenarios(
    log_returns: np.ndarray, rate: float, index_names: tuple[str, ...]
) -> Scenarios:
    """Wrap monthly log returns ``(n, T)`` of one index with a flat-rate money market."""
    n, n_steps = log_returns.shape
    dt = 1.0 / 12
    grid = np.arange(n_steps + 1) * dt
    return Scenarios(
        index_growth=np.exp(log_returns)[:, :, None],
        money_market_growth=np.full((n, n_steps), np.exp(rate * dt)),
        discount=np.broadcast_to(np.exp(-rate * grid), (n, n_steps + 1)).copy(),
        index_names=index_names,
        steps_per_year=12,
        basis="real_world",
        sample_group=1,
        short_rate=np.full((n, n_steps), float(rate)),
    )


def rsln2_log_wealth_mixture(
    params: RSLN2Params, n_months: int, start_regime: str | int = "stationary"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact law of the log wealth ratio over ``n_months``: a mixture of normals.

    Given that ``k`` of the months are spent in regime 2, the log wealth ratio is
    ``Normal((n - k) mu1 + k mu2, sqrt((n - k) sigma1**2 + k sigma2**2))``; the law of ``k``
    follows from a forward recursion over (regime of the month, months so far in regime 2).

    Returns
    -------
    weights, means, sds : ndarray(float64, (n_months + 1,))
        Probability of ``k = 0 .. n_months`` months in regime 2, and the conditional mean
        and standard deviation of the log wealth ratio.
    """
    if n_months < 1:
        raise ValueError("n_months must be at least 1")
    if start_regime == "stationary":
        start = np.array(params.stationary)
    elif start_regime in (1, 2):
        start = np.eye(2)[start_regime - 1]
    else:
        raise ValueError(f"start_regime must be 'stationary', 1 or 2, got {start_regime!r}")
    # prob[r, k]: in regime r this month, k months (this one included) in regime 2
    prob = np.zeros((2, n_months + 1))
    prob[0, 0], prob[1, 1] = start
    for _ in range(1, n_months):
        nxt = np.zeros_like(prob)
        nxt[0] = prob[0] * (1 - params.p12) + prob[1] * params.p21
        nxt[1, 1:] = prob[0, :-1] * params.p12 + prob[1, :-1] * (1 - params.p21)
        prob = nxt
    k = np.arange(n_months + 1)
    means = (n_months - k) * params.mu1 + k * params.mu2
    sds = np.sqrt((n_months - k) * params.sigma1**2 + k * params.sigma2**2)
    return prob.sum(axis=0), means, sds


def rsln2_wealth_ratio_percentiles(
    params: RSLN2Params,
    horizons=HORIZONS,
    percentiles=PERCENTILES,
    start_regime: str | int = "stationary",
) -> dict[tuple[int, float], float]:
    """Exact wealth-ratio percentiles of RSLN2 (no simulation error).

    Inverts the mixture CDF of :func:`rsln2_log_wealth_mixture` by root finding.

    Returns
    -------
    dict
        ``{(horizon_years, percentile): wealth ratio}``, the format of
        :func:`sim.market.calibration.wealth_ratio_percentiles`.
    """
    out = {}
    for h in horizons:
        w, m, s = rsln2_log_wealth_mixture(params, round(12 * h), start_regime)
        lo, hi = float(np.min(m - 10 * s)), float(np.max(m + 10 * s))
        for p in percentiles:
            q = float(p) / 100.0

            def excess(x, w=w, m=m, s=s, q=q):
                return float(w @ norm.cdf((x - m) / s)) - q

            x = brentq(excess, lo, hi, xtol=1e-13)
            out[(h, float(p))] = float(np.exp(x))
    return out
