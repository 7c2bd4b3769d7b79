"""Outputs are whole and self-describing (docs/outputs.md): a result set is swapped in with
one rename, a failure leaves the previous set whole, a second writer is refused, replacing
needs --force, and summary.json says where the results came from."""

from __future__ import annotations

import errno
import hashlib
import json
import stat
from datetime import UTC, datetime
from importlib.metadata import version

import pandas as pd
import pytest
from filelock import FileLock
from typer.testing import CliRunner

from sim.cli import app

EXIT_BAD_INPUT = 2
FAST = ["--set", "run.scenarios=20"]
RESULT_FILES = ["cashflows.parquet", "contracts.parquet", "scenarios.parquet", "summary.json"]


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def one_error(result) -> str:
    assert result.exit_code == EXIT_BAD_INPUT, (result.exit_code, result.stderr, result.exception)
    assert "Traceback" not in result.stderr and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ")
    return line


def snapshot(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def leftovers(parent) -> list[str]:
    """Temporary files or folders of a writer left in ``parent``."""
    return [p.name for p in parent.iterdir() if ".partial-" in p.name or ".previous-" in p.name]


@pytest.fixture
def priced(small_config, tmp_path):
    """A first complete result set in tmp_path/out: (folder, its files' bytes)."""
    out = tmp_path / "out"
    result = run("price", small_config, "--output", out, *FAST)
    assert result.exit_code == 0, (result.stderr, result.exception)
    return out, snapshot(out)


def test_a_result_set_is_exactly_its_three_files_readable_by_everyone_who_may(priced, tmp_path):
    out, files = priced
    assert sorted(files) == RESULT_FILES
    assert not leftovers(tmp_path)
    # mkdtemp's private mode is not kept: the folder has the umask's usual permissions
    assert out.stat().st_mode & stat.S_IRGRP


def test_overwriting_a_result_set_needs_force(priced, small_config):
    out, before = priced
    line = one_error(run("price", small_config, "--output", out, "--set", "run.scenarios=10"))
    assert line == f"error: {out}: holds a previous result set; add --force to replace it"
    assert snapshot(out) == before
    again = run("price", small_config, "--output", out, "--set", "run.scenarios=10", "--force")
    assert again.exit_code == 0, again.stderr
    assert sorted(snapshot(out)) == RESULT_FILES
    assert json.loads((out / "summary.json").read_text())["block"]["scenarios"] == 10


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_a_folder_holding_other_files_is_never_replaced(small_config, tmp_path, force):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    line = one_error(run("price", small_config, "--output", out, *FAST, *force))
    assert "not an abrsim result set" in line
    assert (out / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_the_current_folder_is_not_an_output_folder(small_config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = one_error(run("price", small_config, "--output", ".", *FAST, "--force"))
    assert "not the current or parent folder" in line


@pytest.mark.parametrize("failing_file", [1, 2])
def test_a_failure_between_file_writes_leaves_the_previous_result_set_whole(
    priced, small_config, tmp_path, monkeypatch, failing_file
):
    out, before = priced
    calls = {"n": 0}
    real = pd.DataFrame.to_parquet

    def to_parquet(self, path, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == failing_file:  # the disk fills on the 1st or 2nd of the three files
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", to_parquet)
    line = one_error(
        run("price", small_config, "--output", out, "--set", "run.scenarios=10", "--force")
    )
    assert line == (
        f"error: {out}: cannot write the results: No space left on device; the "
        "previous results are kept"
    )
    assert snapshot(out) == before
    assert not leftovers(tmp_path)


def test_a_failure_on_a_first_run_leaves_no_folder(small_config, tmp_path, monkeypatch):
    def to_parquet(self, path, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", to_parquet)
    out = tmp_path / "new"
    line = one_error(run("price", small_config, "--output", out, *FAST))
    assert line.endswith("No space left on device; nothing written")
    assert not out.exists() and not leftovers(tmp_path)


def test_a_second_writer_is_refused_while_the_first_holds_the_folder(priced, small_config):
    out, before = priced
    with FileLock(str(out.parent / f".{out.name}.lock"), timeout=0):  # a run in progress
        line = one_error(run("price", small_config, "--output", out, *FAST, "--force"))
    assert line.startswith(f"error: {out}: another run is writing this folder")
    assert snapshot(out) == before
    after = run("price", small_config, "--output", out, *FAST, "--force")  # lock released
    assert after.exit_code == 0, after.stderr


def test_summary_json_records_where_the_results_came_from(priced, small_config, tmp_path):
    out, _ = priced
    before = datetime.now(UTC)
    summary = json.loads((out / "summary.json").read_text())
    origin = summary["provenance"]
    assert set(origin) >= {
        "started",
        "command",
        "version",
        "config_file",
        "config_file_sha256",
        "overrides",
        "config",
        "config_sha256",
        "inforce",
    }
    assert origin["version"] == version("sim") == summary["run"]["version"]
    started = datetime.fromisoformat(origin["started"])
    assert started.tzinfo is not None and (before - started).total_seconds() < 600
    assert origin["config_file"] == str(small_config.resolve())
    assert origin["config_file_sha256"] == hashlib.sha256(small_config.read_bytes()).hexdigest()
    assert origin["overrides"] == ["run.scenarios=20"]
    # the resolved config: defaults filled in and the override applied, hashed canonically
    assert origin["config"]["run"]["scenarios"] == 20
    assert origin["config"]["lapse"]["dynamic"]["slope"] == 1.25  # a default
    canonical = json.dumps(origin["config"], sort_keys=True, separators=(",", ":"))
    assert origin["config_sha256"] == hashlib.sha256(canonical.encode()).hexdigest()
    inforce = tmp_path / "inforce.csv"
    assert origin["inforce"] == {
        "file": str(inforce.resolve()),
        "sha256": hashlib.sha256(inforce.read_bytes()).hexdigest(),
    }
    assert origin["command"] == f"abrsim price {small_config} --set=run.scenarios=20 --output {out}"


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_inforce_output_needs_force_to_replace_a_file(tmp_path, suffix):
    target = tmp_path / f"block{suffix}"
    assert run("inforce", "--contracts", 3, "--output", target).exit_code == 0
    before = target.read_bytes()
    line = one_error(run("inforce", "--contracts", 4, "--seed", 1, "--output", target))
    assert line == f"error: {target}: exists; add --force to replace it"
    assert target.read_bytes() == before
    assert (
        run("inforce", "--contracts", 4, "--seed", 1, "--output", target, "--force").exit_code == 0
    )
    assert target.read_bytes() != before
    assert not leftovers(tmp_path)


def test_inforce_output_to_a_folder_is_one_line(tmp_path):
    line = one_error(run("inforce", "--contracts", 3, "--output", tmp_path))
    assert line.startswith(f"error: {tmp_path}: ")


def test_inforce_output_on_a_full_disk_is_one_line_and_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "block.csv"
    target.write_text("old")

    def to_csv(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", to_csv)
    line = one_error(run("inforce", "--contracts", 3, "--output", target, "--force"))
    assert (
        line == f"error: {target}: cannot write the file: No space left on device; nothing written"
    )
    assert target.read_text() == "old" and not leftovers(tmp_path)


def test_scenarios_output_needs_force_to_replace_a_file(small_config, tmp_path):
    target = tmp_path / "scen.csv"
    target.write_text("old")
    line = one_error(
        run(
            "scenarios",
            small_config,
            "--output",
            target,
            "--years",
            1,
            "--set",
            "run.scenarios=4",
            "--set",
            "run.antithetic=false",
        )
    )
    assert line == f"error: {target}: exists; add --force to replace it"
    assert target.read_text() == "old"
    ok = run(
        "scenarios",
        small_config,
        "--output",
        target,
        "--years",
        1,
        "--force",
        "--set",
        "run.scenarios=4",
        "--set",
        "run.antithetic=false",
    )
    assert ok.exit_code == 0, ok.stderr
    assert target.read_text() != "old"


# --------------------------------------------------------------------------- paths.parquet


def test_price_paths_writes_every_measure_of_every_contract_in_every_scenario(
    small_config, tmp_path
):
    from sim.engine.lanes import MEASURES

    out = tmp_path / "out"
    result = run("price", small_config, "--output", out, *FAST, "--paths")
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert sorted(snapshot(out)) == sorted([*RESULT_FILES, "paths.parquet"])
    paths = pd.read_parquet(out / "paths.parquet")
    contracts = pd.read_parquet(out / "contracts.parquet")
    scenarios = pd.read_parquet(out / "scenarios.parquet")
    assert list(paths.columns) == ["contract_id", "scenario", *MEASURES]
    assert paths["contract_id"].dtype == "int64" and paths["scenario"].dtype == "int64"
    # one row per (contract, scenario), contract by contract in block order
    assert len(paths) == 5 * 20
    assert paths["contract_id"].tolist() == [c for c in contracts["contract_id"] for _ in range(20)]
    assert paths["scenario"].tolist() == list(range(20)) * 5
    # the block totals of each scenario add the rows; each contract's mean is its figure
    by_scenario = paths.groupby("scenario")[list(MEASURES)].sum()
    by_contract = paths.groupby("contract_id", sort=False)[list(MEASURES)].mean()
    for name in MEASURES:
        assert by_scenario[name].to_numpy() == pytest.approx(scenarios[name], rel=1e-12, abs=1e-9)
        assert by_contract[name].to_numpy() == pytest.approx(contracts[name], rel=1e-12, abs=1e-9)
    assert "--paths" in json.loads((out / "summary.json").read_text())["provenance"]["command"]
    assert not leftovers(tmp_path)


def test_paths_without_an_output_folder_is_one_line(small_config):
    line = one_error(run("price", small_config, *FAST, "--paths"))
    assert line == "error: --paths needs --output DIR: paths.parquet is written with the result set"


def test_paths_for_a_block_too_large_is_refused_with_its_size_and_writes_nothing(
    small_config, tmp_path, monkeypatch
):
    import sim.outputs

    monkeypatch.setattr(sim.outputs, "PATHS_MAX_ROWS", 99)  # the block has 5 x 20 = 100 rows
    out = tmp_path / "out"
    line = one_error(run("price", small_config, "--output", out, *FAST, "--paths"))
    assert line == (
        "error: --paths: 5 contracts x 20 scenarios = 100 rows (about 0.0 GB before "
        "compression); paths.parquet is written for at most 99 rows: price fewer scenarios "
        "or contracts, or leave out --paths"
    )
    # refused before the folder is locked or created
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inforce.csv", "small.toml"]


def test_the_default_cap_on_paths_is_50_million_rows_and_the_message_gives_the_bytes():
    from sim.config import ConfigError
    from sim.outputs import PATHS_MAX_ROWS, check_paths_size

    assert PATHS_MAX_ROWS == 50_000_000
    check_paths_size(50_000, 1_000, 10)  # exactly the cap
    with pytest.raises(ConfigError) as err:
        check_paths_size(50_001, 1_000, 10)
    assert err.value.problems == [
        "--paths: 50,001 contracts x 1,000 scenarios = 50,001,000 rows (about 4.8 GB before "
        "compression); paths.parquet is written for at most 50,000,000 rows: price fewer "
        "scenarios or contracts, or leave out --paths"
    ]


def test_a_scenario_file_too_large_for_paths_is_refused_at_its_first_chunk_writing_nothing(
    tmp_path,
):
    """A scenario file's count is known when it is read: the paths writer checks the size
    on the first chunk, before it writes a row."""
    import numpy as np

    from sim.config import ConfigError
    from sim.outputs import PathsWriter

    writer = PathsWriter(tmp_path / "paths.parquet", ["a", "b"], tmp_path, n_contracts=60_000)
    with pytest.raises(ConfigError) as err:
        writer(np.arange(3), np.zeros((2, 3, 1_000)))  # 60,000 x 1,000 rows
    assert "60,000,000 rows (about 1.9 GB" in err.value.problems[0]
    writer.abandon()
    assert not (tmp_path / "paths.parquet").exists()


def test_a_full_disk_while_writing_paths_keeps_the_previous_result_set(
    priced, small_config, tmp_path, monkeypatch
):
    import pyarrow.parquet as pq

    out, before = priced

    def write_table(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", write_table)
    line = one_error(run("price", small_config, "--output", out, *FAST, "--paths", "--force"))
    assert line == (
        f"error: {out}: cannot write the results: No space left on device; the previous "
        "results are kept"
    )
    assert snapshot(out) == before
    assert not leftovers(tmp_path)


def test_a_result_set_with_paths_is_replaced_with_force_by_one_without(small_config, tmp_path):
    out = tmp_path / "out"
    assert run("price", small_config, "--output", out, *FAST, "--paths").exit_code == 0
    line = one_error(run("price", small_config, "--output", out, *FAST))
    assert line == f"error: {out}: holds a previous result set; add --force to replace it"
    again = run("price", small_config, "--output", out, *FAST, "--force")
    assert again.exit_code == 0, again.stderr
    assert sorted(snapshot(out)) == RESULT_FILES  # paths.parquet went with the old set
    assert not leftovers(tmp_path)


def test_paths_with_a_standard_error_target_are_refused(small_config, tmp_path):
    out = tmp_path / "out"
    line = one_error(
        run(
            "price",
            small_config,
            "--output",
            out,
            *FAST,
            "--paths",
            "--set",
            "run.target_relative_se=0.01",
        )
    )
    assert line.startswith("error: --paths: run.target_se / run.target_relative_se add scenarios")
    assert not out.exists()


def test_paths_from_a_scenario_file_too_large_are_refused_with_nothing_written(
    small_config, tmp_path, monkeypatch
):
    import sim.outputs

    target = tmp_path / "scen.parquet"
    wrote = run("scenarios", small_config, "--output", target, *FAST)
    assert wrote.exit_code == 0, wrote.stderr
    monkeypatch.setattr(sim.outputs, "PATHS_MAX_ROWS", 99)  # 5 contracts x 20 scenarios
    out = tmp_path / "out"
    from_file = ["--set", "market.model=file", "--set", f"market.file={target.name}"]
    line = one_error(run("price", small_config, "--output", out, *from_file, "--paths"))
    assert line.startswith("error: --paths: 5 contracts x 20 scenarios = 100 rows")
    assert not out.exists() and not leftovers(tmp_path)
    ok = run("price", small_config, "--output", out, *from_file)  # without --paths: fine
    assert ok.exit_code == 0, ok.stderr
