"""Model-point weights: the inforce column ``policies`` (how many identical contracts a row
stands for) scales every block figure, per-scenario total, cash flow and the control variate,
so a compressed block equals the seriatim block it stands for."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.valuation import price

from .blocks import make_config, random_inforce

#: Relative tolerance of "equal": the two blocks add the same numbers in another order.
REL = 1e-12
#: Block keys that count rows, not contracts: they differ between the two blocks.
ROW_COUNTS = {"contracts"}


def compressed_and_seriatim(config, n=50, policies=3, seed=2024):
    """``n`` random model points standing for ``policies`` contracts each, and the same
    block with each row repeated ``policies`` times (new contract ids, same terms)."""
    rows = random_inforce(config, n=n, seed=seed)
    compressed = rows.assign(policies=float(policies))
    repeated = pd.concat([rows] * policies, ignore_index=True)
    repeated["contract_id"] = np.arange(1, len(repeated) + 1)
    repeated["policies"] = 1.0
    return compressed, repeated


def assert_same_figures(a: dict, b: dict, skip=ROW_COUNTS):
    assert set(a) == set(b)
    for key in a:
        if key in skip or isinstance(a[key], (bool, str)) or a[key] is None:
            assert key in skip or a[key] == b[key], key
            continue
        assert np.asarray(a[key], float) == pytest.approx(
            np.asarray(b[key], float), rel=REL, abs=0.0
        ), key


def assert_same_frame(a: pd.DataFrame, b: pd.DataFrame):
    assert list(a.columns) == list(b.columns)
    for column in a.columns:
        np.testing.assert_allclose(a[column], b[column], rtol=REL, atol=0.0, err_msg=column)


CONFIGS = {
    "plain Monte Carlo with the break-even fee": {"run.scenarios": 40, "run.breakeven": True},
    "antithetic scenarios and the control variate": {
        "run.scenarios": 40,
        "run.antithetic": True,
        "run.control_variate": True,
        "run.breakeven": True,
    },
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_a_block_of_50_model_points_of_3_policies_equals_the_block_with_each_row_three_times(
    name,
):
    config = make_config({**CONFIGS[name], "mortality.multiplier": 3.0})
    compressed, repeated = compressed_and_seriatim(config)
    a, b = price(config, compressed), price(config, repeated)
    assert a.block["contracts"] == 50 and b.block["contracts"] == 150
    assert a.block["policies"] == b.block["policies"] == 150.0
    assert a.block["pv_claims"] > 0 and a.block["breakeven_fee"] > 0
    assert_same_figures(a.block, b.block)  # every PV, SE, CI, bp, break-even fee, CV figure
    assert_same_frame(a.scenarios, b.scenarios)  # per-scenario block totals
    assert_same_frame(a.cashflows, b.cashflows)  # expected cash flows by year
    # a row of contracts.parquet is all the policies it stands for: three times one copy.
    # A contract's SE can be many orders below its mean (a fee that hardly depends on the
    # scenario); it carries the rounding of the mean's scale, so it is compared at 1e-12 of
    # its mean.
    copy = b.contracts.iloc[:50].reset_index(drop=True)
    for column in a.contracts.columns[1:]:
        expected = 3.0 * copy[column].to_numpy()
        scale = np.abs(expected)
        if column.endswith("_se"):
            scale = scale + 3.0 * np.abs(copy[column.removesuffix("_se")].to_numpy())
        gap = np.abs(a.contracts[column].to_numpy() - expected)
        assert (gap <= REL * scale).all(), column


def test_policies_may_be_a_real_number_and_multiply_every_figure_of_the_row():
    """2.5 policies: every figure of the row is 2.5 times that of one contract; the other
    rows do not change."""
    config = make_config({"run.scenarios": 8})
    one = random_inforce(config, n=3, seed=7)
    a = price(config, one.assign(policies=[2.5, 1.0, 1.0]))
    b = price(config, one)
    np.testing.assert_allclose(
        a.contracts.iloc[0, 1:].to_numpy(float),
        2.5 * b.contracts.iloc[0, 1:].to_numpy(float),
        rtol=REL,
    )
    np.testing.assert_array_equal(a.contracts.iloc[1:], b.contracts.iloc[1:])
    assert a.block["policies"] == 4.5 and b.block["policies"] == 3.0
    assert a.block["benefit_base"] == pytest.approx(
        2.5 * one["benefit_base"].iloc[0] + one["benefit_base"].iloc[1:].sum(), rel=REL
    )
    assert 0.0 < a.contracts["inforce_at_maturity"].iloc[0] <= 2.5  # policies, not a share


def test_a_block_without_the_column_prices_bit_for_bit_as_one_policy_a_row():
    config = make_config({"run.scenarios": 8, "run.control_variate": True})
    rows = random_inforce(config, n=4, seed=3)
    a = price(config, rows.drop(columns=["policies"]))
    b = price(config, rows.assign(policies=1.0))
    assert a.block == b.block
    pd.testing.assert_frame_equal(a.scenarios, b.scenarios)
    pd.testing.assert_frame_equal(a.contracts, b.contracts)
    pd.testing.assert_frame_equal(a.cashflows, b.cashflows)


class Paths:
    """A ``path_sink`` that keeps the chunks: (contract ids, paths) in block order."""

    def __init__(self):
        self.ids, self.paths = [], []

    def __call__(self, contract_id, paths):
        self.ids.append(np.array(contract_id))
        self.paths.append(paths.copy())

    def array(self) -> np.ndarray:
        return np.concatenate(self.paths, axis=1)  # (n_measures, n_c, n_scen)


@pytest.mark.slow  # starts a Dask cluster
def test_a_compressed_block_on_a_dask_cluster_equals_the_seriatim_block_on_one_machine():
    distributed = pytest.importorskip("distributed")
    from sim.distributed import price_on_cluster

    config = make_config({"run.scenarios": 24, "run.breakeven": True, "run.control_variate": True})
    compressed, repeated = compressed_and_seriatim(config, n=20)
    on_cluster, on_one_machine, seriatim = Paths(), Paths(), Paths()
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        a = price_on_cluster(config, client, compressed, chunk_size=7, path_sink=on_cluster)
    b = price(config, repeated, path_sink=seriatim)
    assert_same_figures(a.block, b.block)
    assert_same_frame(a.scenarios, b.scenarios)
    # the per-path output (abrsim price --paths): the same on the cluster as on one machine,
    # each row three times a copy's paths
    price(config, compressed, path_sink=on_one_machine)
    np.testing.assert_array_equal(on_cluster.array(), on_one_machine.array())
    np.testing.assert_array_equal(np.concatenate(on_cluster.ids), compressed["contract_id"])
    np.testing.assert_allclose(on_cluster.array(), 3.0 * seriatim.array()[:, :20], rtol=REL)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "0 must be > 0 and <= 1e+09"),
        ("-2", "-2 must be > 0 and <= 1e+09"),
        ("nan", "'nan' is not a finite number"),
    ],
)
def test_a_row_of_no_negative_or_nan_policies_is_one_line_naming_the_row_and_exit_2(
    tmp_path, example_config_data, example_inforce_path, write_config, value, message
):
    from typer.testing import CliRunner

    from sim.cli import app

    frame = pd.read_csv(example_inforce_path).head(4).astype(object)
    frame["policies"] = ["3", "1.5", value, ""]  # blank: one policy
    path = tmp_path / "weighted.csv"
    frame.to_csv(path, index=False)
    example_config_data["inforce"]["file"] = str(path)
    result = CliRunner().invoke(app, ["price", str(write_config(example_config_data))])
    assert result.exit_code == 2 and result.stdout == ""
    contract = frame.loc[2, "contract_id"]
    assert result.stderr.splitlines() == [
        f"error: {path} row 3 (contract_id {contract}): policies: {message}"
    ]


def test_price_shows_the_policies_a_compressed_block_stands_for(
    tmp_path, example_config_data, example_inforce_path, write_config
):
    from typer.testing import CliRunner

    from sim.cli import app

    frame = pd.read_csv(example_inforce_path).head(4)
    frame["policies"] = [3.0, 1.5, 2.0, 10.0]
    frame.to_csv(tmp_path / "weighted.csv", index=False)
    example_config_data["inforce"]["file"] = str(tmp_path / "weighted.csv")
    example_config_data["run"].update(scenarios=20, breakeven=False)
    result = CliRunner().invoke(app, ["price", str(write_config(example_config_data))])
    assert result.exit_code == 0, result.stderr
    assert "4 model points standing for 16.5 policies x 20 scenarios" in result.stdout
