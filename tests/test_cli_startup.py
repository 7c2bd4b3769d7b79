"""The command line starts quickly and says what it is: ``--version`` from the package
metadata; ``--help``, ``--version`` and ``validate`` load neither the numba kernels nor
scipy.stats nor the valuation stack; flags show no value in the help."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

import pytest
from typer.testing import CliRunner

import sim
from sim.cli import app

HEAVY = ("numba", "scipy.stats", "sim.valuation", "sim.engine.kernels", "sim.engine.driver")


def modules_loaded_by(*args: str) -> set[str]:
    """The heavy modules loaded by running the CLI with ``args`` in a fresh interpreter."""
    code = (
        "import sys\n"
        "from sim.cli import app\n"
        "try:\n"
        f"    app({list(args)!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('MODULES:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    (line,) = [ln for ln in proc.stdout.splitlines() if ln.startswith("MODULES:")]
    return {m for m in line.removeprefix("MODULES:").split(",") if m}


def test_version_comes_from_the_package_metadata():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"abrsim (sim) {version('sim')}\n"
    assert sim.__version__ == version("sim")


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["price", "--help"]])
def test_help_and_version_load_no_engine(args):
    assert modules_loaded_by(*args) == set()


def test_validate_loads_no_engine(example_config_path):
    assert modules_loaded_by("validate", str(example_config_path)) == set()


def test_importing_the_package_loads_no_engine_until_price_is_used():
    code = (
        "import sys, sim\n"
        "before = 'sim.valuation' in sys.modules or 'numba' in sys.modules\n"
        "sim.price\n"
        "print(before, 'sim.valuation' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert proc.stdout.split() == ["False", "True"]


@pytest.mark.parametrize("command", ["price", "scenarios", "inforce"])
def test_flags_show_no_value_in_the_help(command):
    text = CliRunner().invoke(app, [command, "--help"]).stdout
    assert "<bool>" not in text and "BOOLEAN" not in text
    assert "--force " in text


def test_synthetic_inforce_without_a_config_uses_several_allocation_models(tmp_path):
    import pandas as pd

    target = tmp_path / "block.csv"
    assert (
        CliRunner().invoke(app, ["inforce", "--contracts", "60", "--output", str(target)]).exit_code
        == 0
    )
    frame = pd.read_csv(target)
    assert set(frame["allocation"]) == {"conservative", "balanced", "growth"}
    # the riskier models only where the Guarantee Option allows them (example limits)
    assert set(frame.loc[frame["guarantee_option"] == 1, "allocation"]) == {"conservative"}
    assert "growth" not in set(frame.loc[frame["guarantee_option"] == 2, "allocation"])
