"""Control variate for the block's PV of claims: the textbook GMAB on the same paths.

The control
-----------
For every contract ``c`` the textbook Guaranteed Minimum Accumulation Benefit is a European
put: at the contract's Rider Maturity Date ``T_c`` it pays ``max(K_c - A_c(T_c), 0)`` with
``K_c = ab_factor x benefit_base`` and ``A_c`` its variable account, without decrements,
withdrawals or path-dependent fees. The control ``X`` of a scenario is the sum over the
block of these puts written on a lognormal proxy of each account, computed from the
scenario's own index paths:

* the allocation ``a`` of the contract holds indices with weights ``w_a`` (through its
  funds; the ``money_market`` share earns the deterministic curve);
* the proxy is the **geometric** portfolio ``G_c(T) = F_c exp(Y_a(T) - v_a T / 2)`` with
  ``Y_a(T) = sum_i w_ai sigma_i W_i(T)``, read off the paths as
  ``sum_i w_ai [ln S_i(T) / S_i(0) - (-ln P(0, T) - q_i T - sigma_i**2 T / 2)]``, and
  ``v_a = w_a' Sigma w_a`` (``Sigma`` the index covariance);
* ``F_c = V_c exp(-q_c T) / P(0, T)`` is the forward of the account: ``V_c`` its variable
  value today and ``q_c`` its proportional charges a year (M&E, the allocation's fund fees
  and index dividend yields, the rider fee on its basis as a share of ``V_c``, the spousal
  charge); a further purchase payment before ``T`` adds its own forward (and raises
  ``K_c`` when it counts towards the benefit base);
* the fixed account, grown at its current rate, covers part of the guarantee: the strike
  is ``K_c - fixed_c (1 + fixed_rate_c)**T``;
* ``X = sum_c n_c p_c P(0, T_c) max(K_c - G_c(T_c), 0)`` with ``p_c`` a deterministic
  expected persistency to maturity (owner survival, base lapses at today's dynamic
  multiplier, anniversary withdrawals) and ``n_c`` the contracts the row stands for
  (inforce ``policies``, as the engine weighs the claims).

Every one of these choices only shapes how well ``X`` follows the claims; none of them
affects the exactness of ``E[X]`` (the strikes and forwards are deterministic).

Under the flat-rate or deterministic-curve GBM of ``market.model = "gbm"`` each
``Y_a(T)`` is exactly ``Normal(0, v_a T)``, so ``E[X]`` is a sum of Black-Scholes put
values (Black's formula on the forward) with no approximation; it holds for pseudo-random,
antithetic and scrambled Sobol shocks alike (each of them gives normal marginals). Under
Hull-White, a real-world model or a file the expectation is not known in closed form, so
the configuration refuses the option there (``run.control_variate`` needs ``gbm``).

The estimator
-------------
With ``Y`` the block's PV of claims of a scenario, and ``Ybar_g``, ``Xbar_g`` the means of
each sample group ``g = 1..G`` (one scenario; an antithetic pair; one QMC scramble)::

    beta  = cov(Ybar_g, Xbar_g) / var(Xbar_g)
    Y_cv  = mean(Ybar) - beta (mean(Xbar) - E[X])
    SE    = sqrt(sum_g r_g**2 / (G - 2) / G),  r_g the regression residuals

``beta`` is estimated on the same groups it corrects, which makes ``Y_cv`` biased by
``-cov(beta_hat, Xbar)``, of order ``1 / G`` (small next to the standard error, of order
``1 / sqrt(G)``). The residual standard error assumes ``G`` is large enough for the
regression; with few groups (QMC with 16 scrambles) it is an estimate with ``G - 2``
degrees of freedom.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from .config import MONEY_MARKET_INDEX, Config
from .inforce import allocation_weights

__all__ = [
    "Control",
    "ControlEstimate",
    "allocation_index_weights",
    "control_estimate",
    "gmab_control",
]


@dataclass(frozen=True)
class Control:
    """A control variate with a known expectation.

    Attributes
    ----------
    values : ndarray(float64, (n_scen,))
        ``X`` in each scenario.
    expectation : float
        ``E[X]``, exact.
    """

    values: np.ndarray
    expectation: float


@dataclass(frozen=True)
class ControlEstimate:
    """A mean corrected by a control, with the plain estimate beside it."""

    mean: float
    se: float
    beta: float
    correlation: float  # of the group means of Y and X
    plain_mean: float
    plain_se: float


def allocation_index_weights(
    config: Config, allocation_names: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Index weights and weighted fund fee of each allocation model (or single fund).

    Returns
    -------
    weights : ndarray(float64, (n_alloc, n_indices))
        Share of each ``market.indices`` index (the money market share is the rest).
    fees : ndarray(float64, (n_alloc,))
        Fund fees a year, weighted by the allocation.
    """
    market = config.market
    index_pos = {i.name: k for k, i in enumerate(market.indices)}
    funds = {f.name: f for f in market.funds}
    weights = np.zeros((len(allocation_names), len(index_pos)))
    fees = np.zeros(len(allocation_names))
    for a, name in enumerate(allocation_names):
        for fund, alpha in (allocation_weights(config, name) or {}).items():
            f = funds[fund]
            fees[a] += alpha * f.fee
            for idx, w in f.indices.items():
                if idx != MONEY_MARKET_INDEX:
                    weights[a, index_pos[idx]] += alpha * w
    return weights, fees


def _black_put(forward: np.ndarray, strike: np.ndarray, total_var: np.ndarray) -> np.ndarray:
    """Undiscounted put on a lognormal forward: ``E[max(K - F e^{Z - s2/2}, 0)]``, Z ~ N(0, s2)."""
    out = np.maximum(strike - forward, 0.0)
    live = (total_var > 0.0) & (forward > 0.0) & (strike > 0.0)
    if np.any(live):
        f, k, s = forward[live], strike[live], np.sqrt(total_var[live])
        d1 = (np.log(f / k) + 0.5 * s**2) / s
        out[live] = k * norm.cdf(-(d1 - s)) - f * norm.cdf(-d1)
    return out


def gmab_control(config: Config, model, scenarios, allocation_names: list[str]) -> Control:
    """The block's textbook-GMAB control on ``scenarios`` (see the module docstring).

    Parameters
    ----------
    config : Config
        ``market.model`` must be ``gbm``.
    model : sim.engine.layout.Model
        The lowered block (its contracts and their allocation rows).
    scenarios : Scenarios
        The scenarios the model was built from (same count, same order).
    allocation_names : list of str
        The allocation of each row of ``model.portfolio_growth`` (sorted inforce names).
    """
    from .boundary import market_inputs
    from .market import market_curve

    market = config.market
    if market.model != "gbm":
        raise ValueError(
            f"the GMAB control variate needs market.model = 'gbm', not '{market.model}'"
        )
    if scenarios.n_scenarios != model.n_scenarios:
        raise ValueError("the scenarios are not those of the model")
    c = model.contracts
    dt = 1.0 / scenarios.steps_per_year
    curve = market_curve(market_inputs(config))
    vol = np.array([i.volatility for i in market.indices], dtype=float)
    div = np.array([i.dividend_yield for i in market.indices], dtype=float)
    cov = market.equity_correlation() * np.outer(vol, vol)
    weights, fund_fees = allocation_index_weights(config, allocation_names)
    var_rate = np.einsum("ai,ij,aj->a", weights, cov, weights)  # v_a

    product = config.product
    rider_on_bb = config.rider.fee_basis == "benefit_base"
    maturity = np.asarray(c.maturity_step, dtype=np.int64)
    t_mat = maturity * dt
    alloc = np.asarray(c.allocation, dtype=np.int64)
    value = np.asarray(c.variable_value, dtype=float)
    bb = np.asarray(c.benefit_base, dtype=float)
    # a further purchase payment before maturity joins the account (and the BB if it counts)
    pay_step = np.asarray(c.payment_step, dtype=np.int64)
    paid = (pay_step > 0) & (pay_step <= maturity)
    payment = np.where(paid, np.asarray(c.payment_amount, dtype=float), 0.0)
    bb = bb + np.where(paid & np.asarray(c.payment_in_bb, dtype=bool), payment, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rider_charge = np.where(
            rider_on_bb,
            c.fee_rate * np.where(value + payment > 0, bb / (value + payment), 0.0),
            c.fee_rate,
        )
    charges = (
        product.me_charge
        + fund_fees[alloc]
        + (weights @ div)[alloc]
        + rider_charge
        + np.asarray(c.spousal_charge, float)
    )
    p_mat = curve.discount(t_mat)
    t_pay = pay_step * dt
    # forward of the variable account at maturity, payment included
    forward_all = (
        value * np.exp(-charges * t_mat)
        + payment * np.exp(-charges * (t_mat - t_pay)) * curve.discount(t_pay)
    ) / p_mat
    # the fixed account (at its current rate) covers part of the guarantee
    fixed_at_maturity = (
        np.asarray(c.fixed_value, float) * (1.0 + np.asarray(c.fixed_rate, float)) ** t_mat
    )
    strike = np.asarray(c.ab_factor, dtype=float) * bb - fixed_at_maturity

    # expected share of the contract still in force and not withdrawn at maturity, times the
    # contracts the row stands for
    weight = _persistency_weights(config, model, strike / np.maximum(forward_all * p_mat, 1e-300))
    weight = weight * np.asarray(c.policies, dtype=float)
    x = np.zeros(scenarios.n_scenarios)
    expectation = 0.0
    live = (forward_all > 0) & (strike > 0) & (maturity > 0)
    log_index = np.zeros((scenarios.n_scenarios, vol.size))  # ln S_i(T) / S_i(0), (S, I)
    done = 0
    for step in np.unique(maturity[live]):
        log_index += np.log(scenarios.index_growth[:, done:step, :]).sum(axis=1)
        done = step
        t = step * dt
        p = float(curve.discount(t))
        drift = -math.log(p) - (div + 0.5 * vol**2) * t
        shocks = log_index - drift  # sigma_i W_i(T), (S, I)
        at = live & (maturity == step)
        for a in np.unique(alloc[at]):
            mask = at & (alloc == a)
            y = shocks @ weights[a]  # (S,)
            total_var = var_rate[a] * t
            forward = forward_all[mask]  # (m,)
            proxy = np.exp(y - 0.5 * total_var)  # (S,), mean 1
            w = weight[mask]
            payoff = np.maximum(strike[mask][None, :] - forward[None, :] * proxy[:, None], 0.0)
            x += p * (payoff @ w)
            expectation += p * float(
                _black_put(forward, strike[mask], np.full(mask.sum(), total_var)) @ w
            )
    return Control(values=x, expectation=expectation)


def _persistency_weights(config: Config, model, moneyness: np.ndarray) -> np.ndarray:
    """Deterministic expected share of each contract reaching its maturity, ndarray (n_c,).

    The owner's survival (the model's mortality), base lapses by contract year times the
    dynamic multiplier at today's moneyness ``K / CV``, and the anniversary withdrawals
    (``utilisation x rate`` of CV, which reduce CV and BB alike, so the put in proportion).
    A rough, path-free version of the engine's decrements: it only sharpens the control.
    """
    from .assumptions.behaviour import dynamic_lapse_multiplier

    c = model.contracts
    n_c = len(c)
    m = config.run.steps_per_year
    maturity = np.asarray(c.maturity_step, dtype=np.int64)
    horizon = int(maturity.max()) if n_c else 0
    steps = np.arange(horizon)
    anniv = np.asarray(c.steps_to_anniversary, dtype=np.int64)
    # contract year in force during each step
    passed = np.where(
        steps[None, :] >= anniv[:, None], 1 + (steps[None, :] - anniv[:, None]) // m, 0
    )
    year = np.asarray(c.contract_year, dtype=np.int64)[:, None] + passed  # (n_c, T)
    log_keep = np.zeros((n_c, horizon))
    lapse = config.lapse
    if lapse.enabled:
        base = np.asarray(lapse.base, dtype=float)
        annual = base[np.minimum(year, base.size) - 1]
        if lapse.dynamic.enabled:
            d = lapse.dynamic
            annual = (
                annual
                * dynamic_lapse_multiplier(moneyness, d.floor, d.cap, d.slope, d.shift)[:, None]
            )
        log_keep += np.log1p(-np.minimum(annual, 1.0 - 1e-12)) / m
    # the owner's death rate of each step (model.death_step_rates, by chunks of contracts)
    chunk = max(1, 2**22 // max(horizon, 1))
    for lo in range(0, n_c if horizon else 0, chunk):
        hi = min(lo + chunk, n_c)
        q = model.death_step_rates(c.slice(lo, hi), lives=(0,))[:, 0]  # (hi - lo, n_steps)
        at = np.minimum(steps, q.shape[1] - 1)
        log_keep[lo:hi] += np.log1p(-np.minimum(q[:, at], 1.0 - 1e-12))
    wd = config.withdrawals
    if wd.enabled and wd.rate * wd.utilisation > 0:
        at_anniversary = (steps[None, :] >= anniv[:, None]) & (
            (steps[None, :] - anniv[:, None]) % m == 0
        )
        log_keep += at_anniversary * math.log1p(-min(wd.rate * wd.utilisation, 1.0 - 1e-12))
    before = steps[None, :] < maturity[:, None]
    return np.exp((log_keep * before).sum(axis=1))


def _group_means(v: np.ndarray, group: int) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    return v.reshape(-1, group).mean(axis=1) if group > 1 else v


def control_estimate(y: np.ndarray, control: Control, group: int = 1) -> ControlEstimate:
    """``mean(Y) - beta (mean(X) - E[X])`` with ``beta`` fitted on the sample-group means.

    Parameters
    ----------
    y : ndarray(float64, (n_scen,))
        The estimand in each scenario (e.g. the block's PV of claims).
    control : Control
    group : int
        Scenarios per independent sample (1, 2 for antithetic pairs, n / scrambles for QMC).

    Returns
    -------
    ControlEstimate
        With ``beta = 0`` (the plain estimate) when the control does not vary or there are
        fewer than 3 groups.
    """
    yg, xg = _group_means(y, group), _group_means(control.values, group)
    n = yg.size
    plain_mean = float(yg.mean())
    plain_se = float(yg.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0
    yc, xc = yg - yg.mean(), xg - xg.mean()
    sxx, syy = float(xc @ xc), float(yc @ yc)
    if n < 3 or sxx <= 0.0:
        return ControlEstimate(plain_mean, plain_se, 0.0, 0.0, plain_mean, plain_se)
    beta = float(xc @ yc) / sxx
    mean = plain_mean - beta * (float(xg.mean()) - control.expectation)
    resid = yc - beta * xc
    se = math.sqrt(float(resid @ resid) / (n - 2) / n)
    corr = float(xc @ yc) / math.sqrt(sxx * syy) if syy > 0 else 0.0
    return ControlEstimate(float(mean), se, beta, corr, plain_mean, plain_se)
