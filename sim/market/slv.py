"""The Academy's stochastic log-volatility (SLV) equity model, monthly, real world.

Source: American Academy of Actuaries, "Recommended Approach for Setting Regulatory
Risk-Based Capital Requirements for Variable Annuities and Similar Products" (C3 Phase II
report, June 2005), Appendix 2: Table 2 (SLV parameters for the S&P 500, the model used to
derive the calibration criteria) and Table 6 (the SLV-6 variant). Transcribed, with the
recursion, in ``/work/shared/reference/aaa-equity-generator.md``.

Monthly recursion, with ``v(t) = ln sigma(t)`` (annualised volatility) and
``v(0) = ln sigma0``; in month ``t``:

1. ``v~(t) = min[ln sigma_plus, (1 - phi) v(t-1) + phi ln tau] + sigma_v Z_v(t)`` (the cap
   applies to the deterministic mean-reverting part only, before the shock);
2. ``v(t) = max[ln sigma_minus, min(ln sigma_star, v~(t))]``, ``sigma(t) = exp v(t)``;
3. ``mu(t) = A + B sigma(t) + C sigma(t)**2`` (annual, from this month's new sigma);
4. ``ln S(t) / S(t-1) = mu(t) / 12 + sigma(t) / sqrt(12) Z_s(t)``;

``(Z_v, Z_s)`` standard bivariate normal with correlation ``rho``, fresh each month.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .rsln import _check_monthly, _real_world_scenarios
from .scenarios import Scenarios, standard_normals

__all__ = ["SLV_6", "SLV_7", "SLV_TABLE2", "SLVParams", "generate_slv", "slv_paths"]


@dataclass(frozen=True)
class SLVParams:
    """Parameters of the SLV model (volatilities annualised, ``phi`` and ``sigma_v`` monthly).

    Attributes
    ----------
    tau : float
        Long-run target volatility (annualised).
    phi : float
        Monthly strength of mean reversion of ``ln sigma`` towards ``ln tau``.
    sigma_v : float
        Monthly standard deviation of the log-volatility shock.
    rho : float
        Correlation between the volatility shock and the return shock.
    A, B, C : float
        Annual drift ``mu = A + B sigma + C sigma**2``.
    sigma0 : float
        Starting volatility (the long-run value for unconditional calibration).
    sigma_min : float
        Floor ``sigma-`` applied after the shock.
    sigma_max_before_shock : float
        Cap ``sigma+`` on the mean-reverting part before the shock.
    sigma_max_after_shock : float
        Cap ``sigma*`` applied after the shock.
    """

    tau: float
    phi: float
    sigma_v: float
    rho: float
    A: float
    B: float
    C: float
    sigma0: float
    sigma_min: float
    sigma_max_before_shock: float
    sigma_max_after_shock: float

    def __post_init__(self):
        for name in (
            "tau",
            "sigma0",
            "sigma_min",
            "sigma_max_before_shock",
            "sigma_max_after_shock",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"SLV {name} must be positive")
        if self.sigma_v < 0:
            raise ValueError("SLV sigma_v must be non-negative")
        if not -1.0 <= self.rho <= 1.0:
            raise ValueError(f"SLV correlation rho = {self.rho} is not in [-1, 1]")
        if not self.sigma_min <= self.sigma_max_after_shock:
            raise ValueError("SLV needs sigma_min <= sigma_max_after_shock")

    def drift(self, sigma: np.ndarray) -> np.ndarray:
        """Annual drift ``A + B sigma + C sigma**2``, same shape as ``sigma``."""
        return self.A + self.B * sigma + self.C * sigma**2


#: Table 2 of the report (= SLV-7 of Table 6): S&P 500 monthly log total returns
#: Dec 1955 - Dec 2003, constrained ML; A, B, C set for an 8.75 % unconditional expected
#: return; annualised volatility 15.08 %. The model behind the calibration criteria.
SLV_TABLE2 = SLVParams(
    tau=0.12515,
    phi=0.35229,
    sigma_v=0.32645,
    rho=-0.2488,
    A=0.055,
    B=0.560,
    C=-0.900,
    sigma0=0.1475,
    sigma_min=0.0305,
    sigma_max_before_shock=0.30,
    sigma_max_after_shock=0.7988,
)
#: Alias: Table 6 calls the Table 2 set SLV-7.
SLV_7 = SLV_TABLE2
#: SLV-6 of Table 6: 8.85 % expected return, annualised volatility 15.37 %.
SLV_6 = SLVParams(
    tau=0.12757,
    phi=0.35305,
    sigma_v=0.32645,
    rho=-0.2488,
    A=0.0525,
    B=0.616,
    C=-1.100,
    sigma0=0.1475,
    sigma_min=0.0305,
    sigma_max_before_shock=0.30,
    sigma_max_after_shock=0.7988,
)


def slv_paths(
    params: SLVParams, n_scenarios: int, n_steps: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Monthly log returns and volatilities of the SLV recursion (see the module docstring).

    Shocks: ``eps = standard_normals(n_scenarios, n_steps, 2, seed, "equity")`` (each
    scenario from its own stream, so a longer horizon or more scenarios leave the first
    ones unchanged); ``Z_v = eps[..., 0]`` and
    ``Z_s = rho eps[..., 0] + sqrt(1 - rho**2) eps[..., 1]``. Vectorised over scenarios,
    looping over months.

    Returns
    -------
    log_returns : ndarray(float64, (n_scenarios, n_steps))
        ``ln S(t) / S(t-1)`` of month ``t = 1 .. n_steps``.
    sigma : ndarray(float64, (n_scenarios, n_steps))
        Annualised volatility ``sigma(t)`` in force during month ``t``.
    """
    p = params
    eps = standard_normals(n_scenarios, n_steps, 2, seed, "equity")
    z_v = eps[:, :, 0]
    z_s = p.rho * eps[:, :, 0] + np.sqrt(1.0 - p.rho**2) * eps[:, :, 1]
    ln_tau = np.log(p.tau)
    ln_plus = np.log(p.sigma_max_before_shock)
    ln_minus = np.log(p.sigma_min)
    ln_star = np.log(p.sigma_max_after_shock)
    sqrt12 = np.sqrt(12.0)
    log_returns = np.empty((n_scenarios, n_steps))
    sigma = np.empty((n_scenarios, n_steps))
    v = np.full(n_scenarios, np.log(p.sigma0))
    for t in range(n_steps):
        # 1. cap only the deterministic mean-reverting part, then add the shock
        v = np.minimum(ln_plus, (1.0 - p.phi) * v + p.phi * ln_tau) + p.sigma_v * z_v[:, t]
        # 2. bound after the shock: floor sigma-, cap sigma*
        v = np.maximum(ln_minus, np.minimum(ln_star, v))
        s = np.exp(v)
        sigma[:, t] = s
        # 3.-4. drift from this month's new sigma; monthly normal log return
        log_returns[:, t] = p.drift(s) / 12.0 + (s / sqrt12) * z_s[:, t]
    return log_returns, sigma


def generate_slv(
    params: SLVParams,
    n_scenarios: int,
    n_steps: int,
    steps_per_year: int = 12,
    seed: int = 0,
    index_names: tuple[str, ...] = ("equity",),
    rate: float = 0.0,
) -> Scenarios:
    """Real-world SLV scenarios of one total-return index, monthly steps.

    Parameters
    ----------
    params : SLVParams
        E.g. :data:`SLV_TABLE2`.
    n_scenarios, n_steps : int
        Paths and months.
    steps_per_year : int
        Must be 12 (the model is monthly); anything else raises ``ValueError``.
    seed : int
        Run seed; shocks from its ``"equity"`` stream (:func:`slv_paths`).
    index_names : tuple of str
        Exactly one name, the index this model drives.
    rate : float
        Flat continuously compounded annual rate: ``money_market_growth = exp(rate / 12)``,
        ``discount[:, k] = exp(-rate k / 12)``.

    Returns
    -------
    Scenarios
        ``index_growth`` ndarray(float64, (n_scenarios, n_steps, 1)), basis ``real_world``.
    """
    _check_monthly(steps_per_year, "SLV")
    index_names = tuple(index_names)
    if len(index_names) != 1:
        raise ValueError(f"SLV drives one index; got index_names={index_names!r}")
    log_returns, _ = slv_paths(params, n_scenarios, n_steps, seed)
    return _real_world_scenarios(log_returns, rate, index_names)
