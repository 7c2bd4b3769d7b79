"""Ctrl-C: SIGINT to a running ``abrsim price --output DIR`` ends it within 2 s with one
line on stderr and exit status 130; DIR is absent or holds the previous complete result
set, and no temporary folder is left behind.

The kernels must return to Python often for this: the engine's driver works in slices of
well under a second (``sim.engine.driver.INTERRUPT_SLICE_SECONDS``). The main test needs
that driver and is skipped without it; the variants pass ``run.chunk_size = 10`` so that
today's driver, which runs a chunk of contracts per kernel call, also returns often.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sim.engine import driver

pytestmark = pytest.mark.slow

#: The longest a process may take to exit after SIGINT (the issue's figure).
EXIT_WITHIN_SECONDS = 2.0
#: Wait this long for the kernels to have projected a first chunk (the progress bar counts
#: at least one contract), then interrupt anyway. Generous: on a cold numba cache the first
#: chunk waits for the engine's compilation (minutes on a loaded machine), and a SIGINT
#: during compilation is honoured only when LLVM returns, which is not what these tests time.
START_TIMEOUT = 600.0
#: The progress bar after its first chunk: "contracts:  3%|...| 69/2000 [...]".
_PROGRESSED = re.compile(r"contracts[^\r\n]*?\b([1-9]\d*)/\d+")
SLICED_DRIVER = hasattr(driver, "INTERRUPT_SLICE_SECONDS")


def abrsim() -> str:
    exe = Path(sys.executable).parent / "abrsim"
    assert exe.exists(), f"console script not installed next to {sys.executable}"
    return str(exe)


@pytest.fixture
def long_config(tmp_path, example_config_data, write_config) -> Path:
    """A block that prices for minutes: 2,000 synthetic contracts x 500 scenarios, with the
    break-even search, and a progress bar so the test sees the kernels start."""
    data = example_config_data
    data["run"].update(scenarios=500, breakeven=True, progress=True, threads=0)
    data["inforce"] = {"synthetic": {"contracts": 2000, "seed": 7}}
    return write_config(data, "long.toml")


@pytest.fixture
def previous_set(small_config, tmp_path) -> tuple[Path, dict[str, bytes]]:
    """A complete result set in tmp_path/out from a quick run: (folder, file bytes)."""
    out = tmp_path / "out"
    subprocess.run(
        [abrsim(), "price", str(small_config), "--output", str(out), "--set", "run.scenarios=10"],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return out, {p.name: p.read_bytes() for p in out.iterdir()}


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupt(args: list[str]) -> tuple[int, float, list[str], bool]:
    """Start ``abrsim *args``, wait until the kernels have projected a first chunk, send
    SIGINT.

    Returns
    -------
    status, seconds from SIGINT to exit, stderr lines (progress bar fragments removed),
    whether the kernels had shown progress before the interrupt.
    """
    proc = subprocess.Popen(
        [abrsim(), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # SIGINT as a terminal delivers it: a test run started in the background of a
        # non-interactive shell ignores SIGINT, and a child would inherit that and never
        # see the Ctrl-C these tests time
        preexec_fn=_default_sigint,
    )
    chunks: list[str] = []
    started = threading.Event()

    def read() -> None:
        while text := proc.stderr.read(1):
            chunks.append(text)
            if text in "\r\n]" and _PROGRESSED.search("".join(chunks[-120:])):
                started.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    progressed = started.wait(START_TIMEOUT)
    time.sleep(2.0)  # well inside the run
    assert proc.poll() is None, "the block ended before the interrupt: make it longer"
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        status = proc.wait(timeout=60)
    finally:
        proc.kill()
    seconds = time.monotonic() - sent
    reader.join(timeout=5)
    proc.stdout.close()
    text = "".join(chunks).replace("\r", "\n")
    lines = [
        ln.strip()
        for ln in text.split("\n")
        if ln.strip() and not ln.strip().startswith("contracts")
    ]
    return status, seconds, lines, progressed


def leftovers(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if ".partial-" in p.name or ".previous-" in p.name]


def check_new_folder(long_config: Path, tmp_path: Path, extra: list[str]) -> None:
    out = tmp_path / "new"
    status, seconds, lines, progressed = interrupt(
        ["price", str(long_config), "--output", str(out), *extra]
    )
    assert progressed, "the kernels never showed progress"
    assert status == 130, lines
    assert seconds < EXIT_WITHIN_SECONDS, f"took {seconds:.2f} s to exit after SIGINT"
    assert lines == ["interrupted: nothing written"]
    assert not out.exists() and not leftovers(tmp_path)


def check_previous_set(long_config: Path, tmp_path: Path, previous_set, extra: list[str]) -> None:
    out, before = previous_set
    status, seconds, lines, progressed = interrupt(
        ["price", str(long_config), "--output", str(out), "--force", *extra]
    )
    assert progressed, "the kernels never showed progress"
    assert status == 130, lines
    assert seconds < EXIT_WITHIN_SECONDS, f"took {seconds:.2f} s to exit after SIGINT"
    assert lines == [f"interrupted: nothing written ({out} keeps the previous results)"]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not leftovers(tmp_path)


@pytest.mark.skipif(
    not SLICED_DRIVER,
    reason="needs the driver that works in slices (sim.engine.driver.INTERRUPT_SLICE_SECONDS)",
)
def test_sigint_stops_a_long_price_run_within_two_seconds_and_writes_nothing(long_config, tmp_path):
    check_new_folder(long_config, tmp_path, [])


@pytest.mark.skipif(
    not SLICED_DRIVER,
    reason="needs the driver that works in slices (sim.engine.driver.INTERRUPT_SLICE_SECONDS)",
)
def test_sigint_leaves_the_previous_result_set_whole(long_config, tmp_path, previous_set):
    check_previous_set(long_config, tmp_path, previous_set, [])


def test_sigint_with_small_chunks_stops_within_two_seconds_and_writes_nothing(
    long_config, tmp_path
):
    check_new_folder(long_config, tmp_path, ["--set", "run.chunk_size=10"])


def test_sigint_with_small_chunks_leaves_the_previous_result_set_whole(
    long_config, tmp_path, previous_set
):
    check_previous_set(long_config, tmp_path, previous_set, ["--set", "run.chunk_size=10"])


@pytest.mark.skipif(
    not SLICED_DRIVER,
    reason="needs the driver that works in slices (sim.engine.driver.INTERRUPT_SLICE_SECONDS)",
)
def test_sigint_while_paths_are_streamed_writes_nothing(long_config, tmp_path):
    """paths.parquet is written during the run, into the result set's temporary folder:
    Ctrl-C removes it with everything else."""
    check_new_folder(long_config, tmp_path, ["--paths"])


@pytest.mark.skipif(
    not SLICED_DRIVER,
    reason="needs the driver that works in slices (sim.engine.driver.INTERRUPT_SLICE_SECONDS)",
)
def test_sigint_while_paths_are_streamed_leaves_the_previous_result_set_whole(
    long_config, tmp_path, previous_set
):
    check_previous_set(long_config, tmp_path, previous_set, ["--paths"])
