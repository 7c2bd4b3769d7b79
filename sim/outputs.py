"""Whole, self-describing result sets (docs/outputs.md).

A result set (``contracts.parquet``, ``scenarios.parquet``, ``cashflows.parquet``,
``summary.json`` and, on request, ``paths.parquet``) is written
into a temporary sibling folder and swapped in with one rename, so a reader sees either the
previous complete set or the new complete set, never a mix. The folder is locked (a
``.NAME.lock`` file beside it, held with :mod:`filelock`) from before the run starts until
the swap, so a second writer is refused at once. An existing result set is replaced only
with ``force``; a folder holding anything else is never replaced. Single output files
(``abrsim inforce``, ``abrsim scenarios``) are written to a temporary sibling and moved
over the target with :func:`os.replace`, again only with ``force`` if it exists.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import os
import platform
import shlex
import shutil
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from .config import Config, ConfigError

__all__ = [
    "PATHS_MAX_ROWS",
    "RESULT_FILES",
    "PathsWriter",
    "ResultSetWriter",
    "check_paths_size",
    "check_output_file",
    "file_sha256",
    "is_result_set",
    "provenance",
    "write_file_atomically",
]

#: The files of a result set, in the order they are written (``paths.parquet`` only with
#: ``abrsim price --paths``; it is written during the run, the others after it).
RESULT_FILES = (
    "paths.parquet",
    "contracts.parquet",
    "scenarios.parquet",
    "cashflows.parquet",
    "summary.json",
)
#: ``paths.parquet`` is written for blocks of at most this many contract-scenario rows.
PATHS_MAX_ROWS = 50_000_000
#: Rows ``PathsWriter`` gathers before it writes a Parquet row group.
PATHS_ROW_GROUP = 1 << 20
_PARTIAL = ".partial-"
_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sim")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


def provenance(
    config: Config,
    config_path: str | Path | None = None,
    overrides: list[str] | None = None,
    started: datetime | None = None,
    argv: list[str] | None = None,
) -> dict:
    """Where a result set came from: the ``provenance`` object of ``summary.json``.

    Returns
    -------
    dict
        ``started`` (UTC, ISO 8601), ``command`` (the command line, shell-quoted; default
        ``sys.argv``),
        ``version`` (the package), ``python``, ``config_file`` and ``config_file_sha256``
        (the file as given), ``overrides`` (the ``--set`` items), ``config`` (the resolved
        config: every key with its value after defaults and overrides) and ``config_sha256``
        (SHA-256 of that object as canonical JSON), ``inforce`` (``{"file", "sha256"}`` or
        ``{"synthetic": {...}}``).
    """
    resolved = config.model_dump(mode="json")
    canonical = json.dumps(resolved, sort_keys=True, separators=(",", ":"))
    if config.inforce.file is not None:
        path = config.resolve(config.inforce.file)
        inforce = {"file": str(Path(path).resolve()), "sha256": file_sha256(path)}
    else:
        inforce = {"synthetic": config.inforce.synthetic.model_dump(mode="json")}
    started = started or datetime.now(UTC)
    return {
        "started": started.isoformat(timespec="seconds"),
        "command": shlex.join(argv if argv is not None else sys.argv),
        "version": _package_version(),
        "python": platform.python_version(),
        "config_file": str(Path(config_path).resolve()) if config_path is not None else None,
        "config_file_sha256": file_sha256(config_path) if config_path is not None else None,
        "overrides": list(overrides or []),
        "config": resolved,
        "config_sha256": hashlib.sha256(canonical.encode()).hexdigest(),
        "inforce": inforce,
    }


def is_result_set(folder: Path) -> bool:
    """True when ``folder`` holds a result set and nothing else."""
    names = {p.name for p in folder.iterdir()}
    return "summary.json" in names and names <= set(RESULT_FILES)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False when the
    system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


class ResultSetWriter:
    """Lock an output folder, check it may be written, then swap a new result set in.

    Use as a context manager around the whole run, so that the lock is held from the
    start (a second writer is refused before it spends any time) and the temporary folder
    is removed whatever happens (an error, a full disk, Ctrl-C)::

        with ResultSetWriter(Path("out"), force=False) as writer:
            result = price(config)
            writer.write({"summary.json": lambda path: path.write_text("{}")})

    Parameters
    ----------
    output : Path
        The result folder. It may be absent, empty, or hold a previous result set (then
        ``force`` is needed); anything else is refused.
    force : bool
        Replace a previous result set.

    Raises
    ------
    ConfigError
        On entering: the folder cannot be used (one line naming it). From :meth:`write`:
        a file could not be written (e.g. a full disk); the previous set is left whole.
    """

    def __init__(self, output: Path, force: bool = False):
        self.output = Path(output)
        self.force = force
        self.lock_path = self.output.parent / f".{self.output.name}.lock"
        self.had_previous = False
        self.swapped = False
        self._lock = None
        self._temp: Path | None = None
        self._staged: list[str] = []

    def _check(self) -> None:
        out = self.output
        if out.name in ("", ".", ".."):
            raise ConfigError(
                [
                    f"{out}: --output must name a new or empty folder (or a previous "
                    "result set, with --force), not the current or parent folder"
                ]
            )
        if out.exists() and not out.is_dir():
            raise ConfigError([f"{out}: --output must be a folder, and this is a file"])
        if out.is_dir() and any(out.iterdir()):
            if not is_result_set(out):
                raise ConfigError(
                    [
                        f"{out}: the folder holds files that are not an abrsim result "
                        "set; give a new or empty folder"
                    ]
                )
            if not self.force:
                raise ConfigError(
                    [f"{out}: holds a previous result set; add --force to replace it"]
                )
            self.had_previous = True

    def __enter__(self) -> ResultSetWriter:
        from filelock import FileLock, Timeout

        self._check()
        try:
            self.output.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ConfigError(
                [
                    f"{self.output}: cannot create its parent folder: "
                    f"{err.strerror or type(err).__name__}"
                ]
            ) from None
        lock = FileLock(str(self.lock_path), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise ConfigError(
                [
                    f"{self.output}: another run is writing this folder (lock "
                    f"{self.lock_path}); wait for it to finish"
                ]
            ) from None
        except OSError as err:
            raise ConfigError(
                [
                    f"{self.output}: cannot lock the folder ({self.lock_path}): "
                    f"{err.strerror or type(err).__name__}"
                ]
            ) from None
        self._lock = lock
        try:
            self._check()  # again, under the lock: another run may have finished meanwhile
        except BaseException:
            self._release()
            raise
        return self

    def _make_temp(self) -> Path:
        if self._temp is None:
            out = self.output
            self._temp = Path(tempfile.mkdtemp(prefix=f".{out.name}{_PARTIAL}", dir=out.parent))
            os.chmod(self._temp, 0o777 & ~_umask())  # mkdtemp makes it private
        return self._temp

    def stage(self, name: str) -> Path:
        """Where to write a file of the new set before :meth:`write` (``paths.parquet``,
        streamed during the run): in the temporary sibling folder, which is removed if the
        set is never swapped in (an error, Ctrl-C).

        Raises
        ------
        ConfigError
            The temporary folder cannot be made (one line with the reason).
        """
        if self._lock is None:
            raise RuntimeError("ResultSetWriter.stage outside its with block")
        try:
            temp = self._make_temp()
        except OSError as err:
            kept = "the previous results are kept" if self.had_previous else "nothing written"
            raise ConfigError(
                [
                    f"{self.output}: cannot write the results: "
                    f"{err.strerror or type(err).__name__}; {kept}"
                ]
            ) from None
        self._staged.append(name)
        return temp / name

    def write(self, files: dict[str, Callable[[Path], object]]) -> None:
        """Write every file into a temporary sibling folder (with the files already
        :meth:`stage`-d there), then swap it in.

        Parameters
        ----------
        files : dict
            File name -> function writing that file at the path it is given.
        """
        if self._lock is None:
            raise RuntimeError("ResultSetWriter.write outside its with block")
        out = self.output
        try:
            self._make_temp()
            for name, writer in files.items():
                writer(self._temp / name)
            for name in [*self._staged, *files]:  # on disk before the swap makes them visible
                with open(self._temp / name, "rb") as stream:
                    os.fsync(stream.fileno())
            if out.is_dir() and not any(out.iterdir()):
                out.rmdir()
            if out.exists():
                if _exchange(self._temp, out):
                    self.swapped = True  # self._temp now holds the previous set
                else:
                    aside = Path(tempfile.mkdtemp(prefix=f".{out.name}.previous-", dir=out.parent))
                    aside.rmdir()
                    out.rename(aside)
                    self._temp.rename(out)
                    self.swapped = True
                    self._temp = aside
            else:
                self._temp.rename(out)
                self.swapped = True
                self._temp = None
        except OSError as err:
            reason = err.strerror or type(err).__name__
            kept = "the previous results are kept" if self.had_previous else "nothing written"
            raise ConfigError([f"{out}: cannot write the results: {reason}; {kept}"]) from None
        finally:
            self._remove_temp()

    def _remove_temp(self) -> None:
        if self._temp is not None:
            shutil.rmtree(self._temp, ignore_errors=True)
            self._temp = None

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __exit__(self, *exc) -> None:
        self._remove_temp()
        self._release()


def paths_bytes(rows: int, n_measures: int) -> int:
    """Bytes of ``rows`` rows of ``paths.parquet`` before compression: two int64 columns
    (``contract_id``, ``scenario``) and one float64 column per measure."""
    return int(rows) * 8 * (2 + int(n_measures))


def check_paths_size(n_contracts: int, n_scenarios: int, n_measures: int) -> None:
    """Refuse ``paths.parquet`` for a block of more than :data:`PATHS_MAX_ROWS` rows.

    Raises
    ------
    ConfigError
        One line with the rows and their estimated size.
    """
    rows = int(n_contracts) * int(n_scenarios)
    if rows > PATHS_MAX_ROWS:
        size = paths_bytes(rows, n_measures) / 1e9
        raise ConfigError(
            [
                f"--paths: {n_contracts:,} contracts x {n_scenarios:,} scenarios = "
                f"{rows:,} rows (about {size:,.1f} GB before compression); paths.parquet "
                f"is written for at most {PATHS_MAX_ROWS:,} rows: price fewer scenarios "
                "or contracts, or leave out --paths"
            ]
        )


class PathsWriter:
    """Stream ``paths.parquet``: every contract's value of every measure in every
    scenario, one row per (contract, scenario), contract by contract in block order.

    Called by the engine's driver once per chunk of contracts (the ``path_sink`` of
    :func:`sim.valuation.price`), it gathers rows and writes a Parquet row group every
    :data:`PATHS_ROW_GROUP` rows, so the memory it needs is bounded whatever the block.

    Parameters
    ----------
    path : Path
        The file to write (in a result set's temporary folder: ResultSetWriter.stage).
    measures : sequence of str
        The measure names, in the rows' order (``sim.engine.lanes.MEASURES``).
    output : Path, optional
        The result folder, named in error messages.
    n_contracts : int, optional
        The block's contracts: the first call refuses a block of more than
        :data:`PATHS_MAX_ROWS` rows (:func:`check_paths_size`), before anything is written.
    had_previous : bool
        The result folder holds a previous set (kept on failure; the messages say so).

    Raises
    ------
    ConfigError
        From a call or :meth:`close`: the block is too large, or the file could not be
        written (a full disk, say).
    """

    def __init__(
        self,
        path: Path,
        measures,
        output: Path | None = None,
        n_contracts: int | None = None,
        had_previous: bool = False,
    ):
        self.path = Path(path)
        self.measures = tuple(measures)
        self.output = output if output is not None else self.path.parent
        self.n_contracts = n_contracts
        self.kept = "the previous results are kept" if had_previous else "nothing written"
        self.rows = 0
        self._parts: list[dict] = []
        self._pending = 0
        self._writer = None

    def _schema(self):
        import pyarrow as pa

        return pa.schema(
            [("contract_id", pa.int64()), ("scenario", pa.int64())]
            + [(name, pa.float64()) for name in self.measures]
        )

    def __call__(self, contract_id, paths) -> None:
        """Add a chunk: ``contract_id`` ndarray(int64, (n_c,)) and ``paths``
        ndarray(float64, (n_measures, n_c, n_scen)), the contracts' values (already
        multiplied by their ``policies``)."""
        import numpy as np

        n_c, n_s = paths.shape[1], paths.shape[2]
        if self.rows == 0 and self.n_contracts is not None:
            check_paths_size(self.n_contracts, n_s, len(self.measures))
        part = {
            "contract_id": np.repeat(np.asarray(contract_id, dtype=np.int64), n_s),
            "scenario": np.tile(np.arange(n_s, dtype=np.int64), n_c),
        }
        for k, name in enumerate(self.measures):
            part[name] = np.ascontiguousarray(paths[k]).reshape(-1).copy()
        self._parts.append(part)
        self._pending += n_c * n_s
        self.rows += n_c * n_s
        if self._pending >= PATHS_ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        import numpy as np
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            if self._writer is None:
                self._writer = pq.ParquetWriter(str(self.path), self._schema())
            if self._parts:
                columns = {
                    name: np.concatenate([p[name] for p in self._parts]) for name in self._parts[0]
                }
                self._writer.write_table(pa.Table.from_pydict(columns, schema=self._schema()))
        except OSError as err:
            raise ConfigError([self._cannot_write(err)]) from None
        self._parts, self._pending = [], 0

    def _cannot_write(self, err: OSError) -> str:
        reason = err.strerror or (str(err).splitlines() or [""])[0] or type(err).__name__
        return f"{self.output}: cannot write the results: {reason}; {self.kept}"

    def close(self) -> None:
        """Write the last rows and close the file (an empty block still has the columns)."""
        self._flush()
        try:
            self._writer.close()
        except OSError as err:
            raise ConfigError([self._cannot_write(err)]) from None
        self._writer = None

    def abandon(self) -> None:
        """Close the file without writing more (after an error or Ctrl-C)."""
        if self._writer is not None:
            try:
                self._writer.close()
            except OSError:
                pass
            self._writer = None
        self._parts, self._pending = [], 0


def check_output_file(path: Path, suffixes: tuple[str, ...], force: bool) -> None:
    """Refuse an output file that cannot or may not be written.

    Raises
    ------
    ConfigError
        The suffix is not one of ``suffixes``; the path is a folder; the file exists and
        ``force`` is false; its folder cannot be created.
    """
    if path.suffix.lower() not in suffixes:
        raise ConfigError([f"{path}: the output must end in {' or '.join(suffixes)}"])
    if path.is_dir():
        raise ConfigError(
            [f"{path}: is a folder; give a file name ending in {' or '.join(suffixes)}"]
        )
    if path.exists() and not force:
        raise ConfigError([f"{path}: exists; add --force to replace it"])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(
            [f"{path}: cannot create its folder: {err.strerror or type(err).__name__}"]
        ) from None


def write_file_atomically(path: Path, writer: Callable[[Path], object]) -> None:
    """Write one file through a temporary sibling and :func:`os.replace`; on any failure
    the temporary file is removed and ``path`` is left as it was.

    Raises
    ------
    ConfigError
        The file could not be written (one line with the reason, e.g. a full disk).
    """
    fd, name = tempfile.mkstemp(
        prefix=f".{path.name}{_PARTIAL}", suffix=path.suffix, dir=path.parent
    )
    os.close(fd)
    tmp = Path(name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private
    try:
        writer(tmp)
        os.replace(tmp, path)
    except OSError as err:
        raise ConfigError(
            [
                f"{path}: cannot write the file: {err.strerror or type(err).__name__}; "
                "nothing written"
            ]
        ) from None
    finally:
        if tmp.exists():
            tmp.unlink()
