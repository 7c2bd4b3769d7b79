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
