"""Small configs, random blocks, hand-made contracts and lookups for engine tests (no files
needed)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import norm

from sim.boundary import market_inputs
from sim.config import Config, ConfigError, config_from_dict
from sim.engine.kernels import MEASURES, TRACE_FIELDS
from sim.engine.layout import Assumptions, build_model, contract_arrays, horizon_steps
from sim.inforce import validate_inforce
from sim.market import generate_scenarios

#: Column of each trace field in ``run.trace[contract, scenario, step, field]``.
TRACE = {name: i for i, name in enumerate(TRACE_FIELDS)}

#: Row of each measure in ``run.scenario_totals`` and ``run.contract_mean``.
MEASURE = {name: i for i, name in enumerate(MEASURES)}

#: The model point of the rule tests: a 60-year-old woman's 7-year rider (Guarantee
#: Option 1) on 100,000 in equity, contract_id 7.
RULE_CONTRACT = {
    "contract_id": 7,
    "owner_age": 60.0,
    "owner_sex": "F",
    "contract_value": 100_000.0,
    "allocation": "equity",
    "rider_period": 7,
    "guarantee_option": 1,
}

#: The model point of the textbook (Black-Scholes) tests: a 65-year-old man's 10-year
#: rider (Guarantee Option 1) on 100,000 in equity, contract_id 1.
TEXTBOOK_CONTRACT = {
    "contract_id": 1,
    "owner_age": 65.0,
    "owner_sex": "M",
    "contract_value": 100_000.0,
    "allocation": "equity",
    "rider_period": 10,
    "guarantee_option": 1,
}


def base_config_dict() -> dict:
    """Three indices, four funds (one on the short rate), three allocation models."""
    return {
        "run": {"seed": 11, "scenarios": 4, "steps_per_year": 12, "breakeven": False},
        "market": {
            "model": "gbm",
            "rate": 0.03,
            "indices": [
                {"name": "eq", "volatility": 0.2, "dividend_yield": 0.01},
                {"name": "intl", "volatility": 0.25},
                {"name": "bond", "volatility": 0.06},
            ],
            "correlation": [[1.0, 0.6, 0.1], [0.6, 1.0, 0.05], [0.1, 0.05, 1.0]],
            "funds": [
                {"name": "equity", "indices": {"eq": 1.0}, "fee": 0.006},
                {"name": "global", "indices": {"eq": 0.4, "intl": 0.6}, "fee": 0.009},
                {"name": "bonds", "indices": {"bond": 0.9, "money_market": 0.1}, "fee": 0.004},
                {"name": "money_market", "indices": {"money_market": 1.0}, "fee": 0.003},
            ],
        },
        "allocations": {
            "growth": {"equity": 0.5, "global": 0.3, "bonds": 0.2},
            "balanced": {"equity": 0.3, "global": 0.2, "bonds": 0.4, "money_market": 0.1},
        },
        "product": {"maintenance_fee": 35.0, "fixed_rate": 0.025},
        "withdrawals": {"rate": 0.06, "utilisation": 0.3},
        "inforce": {"synthetic": {"contracts": 1}},
    }


def make_config(changes: dict | None = None) -> Config:
    """The base config with nested ``changes`` merged in."""
    data = base_config_dict()
    for key, value in (changes or {}).items():
        node = data
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return config_from_dict(data)


def random_inforce(
    config: Config, n: int, seed: int, *, lives: bool = True, long_riders: bool = False
) -> pd.DataFrame:
    """Random model points covering every feature: in-force durations, fixed account,
    payments before and after the first anniversary, all allocations; with ``lives``, also
    spouses (as beneficiaries or not, with or without Spousal Protection), separate
    annuitants and non-natural owners; with ``long_riders``, rider periods past 10 years
    (cancellation and trade-in windows)."""
    rng = np.random.default_rng(seed)
    m = config.run.steps_per_year
    month_choices = [mo for mo in range(1, 13) if (mo * m) % 12 == 0]
    period = rng.integers(11, 15, n) if long_riders else rng.integers(7, 10, n)
    elapsed = np.where(rng.random(n) < 0.5, 0, rng.integers(0, 6, n))
    if long_riders:
        elapsed = np.where(rng.random(n) < 0.5, rng.integers(8, 11, n), elapsed)
    cv = rng.uniform(20_000, 300_000, n).round(2)
    has_spouse = rng.random(n) < (0.8 if lives else 0.0)
    owner_type = np.where(rng.random(n) < (0.15 if lives else 0.0), "non_natural", "natural")
    beneficiary = np.where(
        has_spouse & (rng.random(n) < 0.7),
        "spouse",
        rng.choice(["natural", "estate", "non_natural"], n),
    )
    protection = (beneficiary == "spouse") & (owner_type == "natural") & (rng.random(n) < 0.5)
    has_annuitant = (owner_type == "natural") & (rng.random(n) < (0.25 if lives else 0.0))
    frame = pd.DataFrame(
        {
            "contract_id": np.arange(100, 100 + n),
            "owner_age": rng.uniform(55, 88, n).round(1),
            "owner_sex": rng.choice(["M", "F"], n),
            "owner_type": owner_type,
            "spouse_age": np.where(has_spouse, rng.uniform(55, 88, n).round(1), np.nan),
            "spouse_sex": np.where(has_spouse, rng.choice(["M", "F"], n), ""),
            "beneficiary": beneficiary,
            "contingent_beneficiary": rng.choice(["none", "natural", "estate"], n),
            "annuitant_age": np.where(has_annuitant, rng.uniform(55, 88, n).round(1), np.nan),
            "annuitant_sex": np.where(has_annuitant, rng.choice(["M", "F"], n), ""),
            "spousal_protection": protection,
            "contract_value": cv,
            "fixed_value": np.where(
                rng.random(n) < 0.5, (cv * rng.uniform(0, 0.4, n)).round(2), 0.0
            ),
            "fixed_guarantee_years": rng.choice([1, 5, 7], n),
            "allocation": rng.choice(["growth", "balanced", "equity", "bonds"], n),
            "premiums": (cv * rng.uniform(0.7, 1.3, n)).round(2),
            "contract_year": elapsed + 1 + rng.integers(0, 3, n),
            "benefit_base": (cv * rng.uniform(0.6, 1.6, n)).round(2),
            "death_benefit_base": (cv * rng.uniform(0.8, 1.4, n)).round(2),
            "rider_period": period,
            "rider_years_elapsed": elapsed,
            "guarantee_option": rng.integers(1, 4, n),
            "rider_fee_rate": rng.uniform(0.005, 0.02, n).round(4),
            "months_to_anniversary": rng.choice(month_choices, n),
            "payment_amount": np.where(
                rng.random(n) < 0.5, rng.uniform(1000, 50_000, n).round(2), 0.0
            ),
            "payment_month": rng.choice(month_choices + [15, 24], n),
        }
    )
    clean, problems = validate_inforce(
        frame, config, Assumptions.from_config(config).rider, "random"
    )
    assert not problems, problems
    return clean


def model_for(config: Config, inforce: pd.DataFrame, n_scenarios: int | None = None):
    """Scenarios over the block's horizon and the lowered model."""
    assumptions = Assumptions.from_config(config)
    names = sorted(set(inforce["allocation"]))
    n_steps = horizon_steps(contract_arrays(inforce, assumptions, names), assumptions)
    scenarios = generate_scenarios(market_inputs(config), n_steps, n_scenarios)
    return build_model(config, inforce, scenarios, assumptions), scenarios, assumptions


def contracts_frame(config: Config, *rows: dict, defaults: dict = RULE_CONTRACT) -> pd.DataFrame:
    """A validated inforce frame of a few hand-made contracts.

    Parameters
    ----------
    config : Config
        The config the contracts are validated against (allocations, rider factors).
    *rows : dict
        One dict of columns per contract, laid over ``defaults``; no rows gives one
        contract of the defaults alone.
    defaults : dict, optional
        The columns every contract starts from; row ``k`` gets contract_id
        ``defaults["contract_id"] + k`` unless its columns say otherwise.

    Returns
    -------
    pandas.DataFrame
        The frame as ``validate_inforce`` returns it, with every default column filled.

    Raises
    ------
    ConfigError
        With the validation problems, if any row is refused.
    """
    frame = []
    for k, columns in enumerate(rows or ({},)):
        row = dict(defaults)
        row["contract_id"] = defaults["contract_id"] + k
        row.update(columns)
        frame.append(row)
    clean, problems = validate_inforce(
        pd.DataFrame(frame), config, Assumptions.from_config(config).rider
    )
    if problems:
        raise ConfigError(problems)
    return clean


def one_contract(config: Config, *, defaults: dict = RULE_CONTRACT, **columns) -> pd.DataFrame:
    """A validated inforce frame of one contract: ``columns`` laid over ``defaults``.

    Parameters
    ----------
    config : Config
        The config the contract is validated against.
    defaults : dict, optional
        The columns the contract starts from (the rule tests' model point unless given).
    **columns
        Inforce columns that replace or add to the defaults.

    Returns
    -------
    pandas.DataFrame
        One validated row.

    Raises
    ------
    ConfigError
        With the validation problems, if the contract is refused.
    """
    return contracts_frame(config, columns, defaults=defaults)


def bs_put(spot, strike, rate, div, vol, t):
    """Black-Scholes price of a European put on a dividend-paying asset.

    Parameters
    ----------
    spot, strike : float
        Asset price now and strike.
    rate, div : float
        Continuous risk-free rate and dividend yield.
    vol : float
        Volatility (annual).
    t : float
        Time to expiry in years.

    Returns
    -------
    float
        The put's price.
    """
    d1 = (math.log(spot / strike) + (rate - div + 0.5 * vol**2) * t) / (vol * math.sqrt(t))
    d2 = d1 - vol * math.sqrt(t)
    return strike * math.exp(-rate * t) * norm.cdf(-d2) - spot * math.exp(-div * t) * norm.cdf(-d1)
