"""Expected decrements (weights) and simulated decrements (one draw per event) price the
same thing: on blocks with and without spouses, Spousal Protection and non-spouse
beneficiaries, their block figures agree within Monte Carlo error.

Both runs use the same economic scenarios (the market generator depends on run.seed and
the market only), so the comparison is paired: per scenario s, the simulated block total
sim_s and the expected block total exp_s share the market path, and d_s = sim_s - exp_s is
the decrement noise alone. Given the market, the expected run is the conditional mean of
the simulated one (E[sim_s | market_s] = exp_s: every decrement the engine models acts on
the weight linearly, and withdrawals are proportional to the CV and BB, docs/methodology.md
section 1), so the d_s are independent (scenarios are i.i.d. and the decrement draws are
independent across scenarios) with mean 0 and finite variance. By the central limit
theorem mean(d) / (sd(d) / sqrt(n)) is close to N(0, 1): |mean(d)| < 3.5 SE fails by
chance with probability about 5e-4 per comparison. The SE is also checked small against
the size of the figure, so the test has power to find a real difference.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.engine.driver import run_block
from sim.engine.layout import Assumptions
from sim.inforce import validate_inforce

from .blocks import MEASURE as X
from .blocks import make_config, model_for

N_CONTRACTS = 20
N_SCENARIOS = 2000
Z = 3.5

CHANGES = {
    "run.scenarios": N_SCENARIOS,
    "mortality.multiplier": 3.0,  # deaths and continuations matter
    "product.maintenance_fee": 0.0,  # the expected withdrawal is exact only for proportional features
    "withdrawals.rate": 0.06,
    "withdrawals.utilisation": 0.4,  # in simulated mode each contract draws whether it withdraws
    "behaviour.spousal_continuation": 0.9,
    "behaviour.annuitant_death_continue": 0.7,
    "behaviour.claim_delay": [[0, 0.8], [240, 0.2]],
    # continuations settled on a half-yearly grid in both modes: far fewer stepped-up
    # segments in expected mode (run time), the same rule for both runs
    "behaviour.continuation_grid_steps": 6,
}


def block(kind: str, config, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = N_CONTRACTS
    cv = rng.uniform(50_000, 200_000, n).round(2)
    elapsed = rng.integers(0, 3, n)
    frame = pd.DataFrame(
        {
            "contract_id": np.arange(500, 500 + n),
            "owner_age": rng.uniform(68, 82, n).round(1),
            "owner_sex": rng.choice(["M", "F"], n),
            "contract_value": cv,
            "allocation": rng.choice(["growth", "balanced"], n),
            "rider_period": rng.integers(7, 9, n),
            "rider_years_elapsed": elapsed,
            "contract_year": elapsed + 1,
            "benefit_base": (cv * rng.uniform(0.9, 1.4, n)).round(2),
            "death_benefit_base": (cv * rng.uniform(0.9, 1.3, n)).round(2),
            "fixed_value": (cv * rng.uniform(0.0, 0.3, n)).round(2),
            "rider_fee_rate": 0.0125,
        }
    )
    spouse_age = rng.uniform(66, 84, n).round(1)
    spouse_sex = rng.choice(["M", "F"], n)
    if kind == "no spouse":
        frame["beneficiary"] = rng.choice(["natural", "estate"], n)
    elif kind in (
        "spouse beneficiary, no Spousal Protection",
        "spouse beneficiary with Spousal Protection",
    ):
        frame["spouse_age"], frame["spouse_sex"] = spouse_age, spouse_sex
        frame["beneficiary"] = "spouse"
        frame["spousal_protection"] = kind.endswith("with Spousal Protection")
    elif kind == "non-spouse and non-natural beneficiaries":
        frame["spouse_age"], frame["spouse_sex"] = spouse_age, spouse_sex
        frame["beneficiary"] = rng.choice(["natural", "non_natural", "estate"], n)
        frame["contingent_beneficiary"] = rng.choice(["natural", "estate"], n)
        owner_type = rng.choice(["natural", "non_natural", "grantor_trust"], n)
        frame["owner_type"] = owner_type
        separate = (owner_type == "natural") & (rng.random(n) < 0.5)
        frame["annuitant_age"] = np.where(separate, rng.uniform(66, 84, n).round(1), np.nan)
        frame["annuitant_sex"] = np.where(separate, rng.choice(["M", "F"], n), "")
    else:
        raise ValueError(kind)
    clean, problems = validate_inforce(frame, config, Assumptions.from_config(config).rider, kind)
    assert not problems, problems
    return clean


KINDS = [
    "no spouse",
    "spouse beneficiary, no Spousal Protection",
    "spouse beneficiary with Spousal Protection",
    "non-spouse and non-natural beneficiaries",
]
PV_MEASURES = ["pv_claims", "pv_fees", "pv_db_excess", "pv_spousal_charge"]
WEIGHT_MEASURES = ["inforce_at_maturity", "continuation_weight"]


@pytest.mark.parametrize("kind", KINDS)
def test_expected_and_simulated_decrements_agree_within_monte_carlo_error(kind):
    expected_config = make_config(CHANGES)
    simulated_config = make_config({**CHANGES, "run.decrements": "simulated"})
    inforce = block(kind, expected_config, seed=KINDS.index(kind) + 1)
    model_e, scen_e, _ = model_for(expected_config, inforce)
    model_s, scen_s, _ = model_for(simulated_config, inforce)
    # the same economic scenarios: the comparison is paired
    np.testing.assert_array_equal(model_e.discount, model_s.discount)
    np.testing.assert_array_equal(model_e.portfolio_growth, model_s.portfolio_growth)
    run_e = run_block(model_e, contract_stats=False)
    run_s = run_block(model_s, contract_stats=False)
    n = run_e.scenario_totals.shape[1]
    assert n == N_SCENARIOS
    report = {}
    for name in PV_MEASURES + WEIGHT_MEASURES:
        exp_s = run_e.scenario_totals[X[name]]
        sim_s = run_s.scenario_totals[X[name]]
        d = sim_s - exp_s
        mean, se = d.mean(), d.std(ddof=1) / np.sqrt(n)
        report[name] = (exp_s.mean(), sim_s.mean(), mean, se)
        if name == "pv_spousal_charge" and not inforce["spousal_protection"].any():
            assert not exp_s.any() and not sim_s.any()
            continue
        if name == "continuation_weight" and kind in (
            "no spouse",
            "non-spouse and non-natural beneficiaries",
        ):
            assert not exp_s.any() and not sim_s.any()  # nobody can continue
            continue
        assert se > 0.0, (name, report[name])
        assert abs(mean) < Z * se, (kind, name, report[name])
    # power: the paired SE is small against the figures
    claims = report["pv_claims"][0]
    assert claims > 0.0
    assert report["pv_claims"][3] < 0.05 * claims, report["pv_claims"]
    assert report["pv_fees"][3] < 0.02 * report["pv_fees"][0], report["pv_fees"]
    assert report["inforce_at_maturity"][3] < 0.05 * report["inforce_at_maturity"][0]
    if kind != "no spouse":
        assert report["pv_db_excess"][0] > 0.0
    if "Spousal Protection" in kind and not kind.startswith("spouse beneficiary, no"):
        assert report["pv_spousal_charge"][3] < 0.02 * report["pv_spousal_charge"][0]
    if kind.startswith("spouse beneficiary"):
        # deaths and continuations matter in these blocks
        assert report["continuation_weight"][0] > 0.5
        assert report["continuation_weight"][3] < 0.1 * report["continuation_weight"][0]
