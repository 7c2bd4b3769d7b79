"""External scenario files: read and write :class:`Scenarios` as CSV or Parquet.

The format is long: one row per (scenario, step). The full description, with an example,
is in ``docs/scenario-files.md``; in short:

======================  ========  ======================================================
column                  required  meaning
======================  ========  ======================================================
scenario                yes       scenario number, 0-based, consecutive 0..S-1
step                    yes       step number 1..T; step t ends at time t / steps_per_year
growth_<index>          one of    gross growth factor of the index's total return over
                        these     the step (> 0); written by :func:`write_scenarios`
return_<index>          per       simple total return over the step (> -1); read only,
                        index     growth = 1 + return
money_market_growth     no        growth of one unit at the short rate over the step
                                  (> 0); default ``discount[t-1] / discount[t]``, or
                                  ``exp(short_rate * dt)`` without a discount column
short_rate              see       continuously compounded short rate at the start of the
                        below     step
discount                see       discount factor from time 0 to the end of the step,
                        below     in (0, 1.5]; default ``exp(-cumsum(short_rate * dt))``
======================  ========  ======================================================

At least one index column and at least one of ``discount`` / ``short_rate`` are required.
Index columns keep their order in the file. Rows may come in any order.

Metadata ``basis`` (``risk_neutral`` | ``real_world``), ``steps_per_year`` and
``sample_group`` (default 1) live in the Parquet schema metadata (UTF-8 keys and values)
or, in a CSV, in leading comment lines ``# basis: risk_neutral``.

Why growth factors and not returns: ``1 + (g - 1) == g`` fails in floating point for
``g < 0.5``, so a file of returns could not reproduce the scenarios bit for bit. The
money market growth is written for the same reason: ``discount[t-1] / discount[t]`` need
not equal the generator's growth factor in the last bit.
"""

from __future__ import annotations

import math
import os
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError
from .inputs import MONEY_MARKET_INDEX
from .scenarios import Scenarios

__all__ = [
    "BASES",
    "METADATA_KEYS",
    "read_scenarios",
    "scenarios_from_frame",
    "scenarios_to_frame",
    "write_scenarios",
]

BASES = ("risk_neutral", "real_world")
METADATA_KEYS = ("basis", "steps_per_year", "sample_group")
SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
GROWTH_PREFIX, RETURN_PREFIX = "growth_", "return_"
RATE_COLUMNS = ("money_market_growth", "short_rate", "discount")
MAX_DISCOUNT = 1.5
MAX_ROWS_PER_RULE = 10  # row-level lines reported for one rule before a count
MAX_LINES = 20  # lines in one ConfigError before "N more problems"
MAX_STEPS_PER_YEAR = 365  # as run.steps_per_year
FLOAT_FORMAT = "%.17g"  # 17 significant digits: every float64 reads back bit for bit


# --------------------------------------------------------------------------- problems


class _Problems:
    """One-line problems naming the file and the row (1-based data row) and/or column."""

    def __init__(self, source: str):
        self.source = source
        self.lines: list[str] = []

    def file(self, text: str) -> None:
        self.lines.append(f"{self.source}: {text}")

    def rows(self, mask, column: str, what) -> None:
        """Report every row where ``mask`` is true (at most MAX_ROWS_PER_RULE lines)."""
        rows = np.flatnonzero(np.asarray(mask, dtype=bool))
        for r in rows[:MAX_ROWS_PER_RULE]:
            text = what(r) if callable(what) else what
            self.lines.append(f"{self.source} row {r + 1}: {column}: {text}")
        if rows.size > MAX_ROWS_PER_RULE:
            self.lines.append(
                f"{self.source}: {column}: {rows.size - MAX_ROWS_PER_RULE} more rows with the same problem"
            )

    def raise_if_any(self) -> None:
        if self.lines:
            lines = self.lines
            if len(lines) > MAX_LINES:
                lines = lines[:MAX_LINES] + [
                    f"{self.source}: {len(lines) - MAX_LINES} more problems not shown"
                ]
            raise ConfigError(lines)


def _show(value) -> str:
    """A cell as it appears in a one-line message."""
    text = " ".join(str(value).split())
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _number(value) -> str:
    return f"{value:.10g}"


# --------------------------------------------------------------------------- writing


def scenarios_to_frame(scenarios: Scenarios) -> pd.DataFrame:
    """The long table of ``scenarios``: one row per (scenario, step), sorted.

    Columns: ``scenario``, ``step``, ``growth_<index>`` per index,
    ``money_market_growth``, ``short_rate`` (when the scenarios carry one), ``discount``.
    Scenarios without index names get ``index_1``, ``index_2``, ...
    """
    growth = np.asarray(scenarios.index_growth, dtype=np.float64)
    if growth.ndim != 3:
        raise ValueError(f"index_growth must be (n_scen, n_steps, n_indices), not {growth.shape}")
    n_scen, n_steps, n_idx = growth.shape
    names = tuple(scenarios.index_names) or tuple(f"index_{i + 1}" for i in range(n_idx))
    if len(names) != n_idx:
        raise ValueError(f"{len(names)} index names for {n_idx} indices")
    if len(set(names)) != len(names) or any(not str(n) for n in names):
        raise ValueError(f"index names must be unique and non-empty: {names}")
    discount = np.asarray(scenarios.discount, dtype=np.float64)
    if discount.shape != (n_scen, n_steps + 1):
        raise ValueError(f"discount must be {(n_scen, n_steps + 1)}, not {discount.shape}")
    if not np.all(discount[:, 0] == 1.0):
        raise ValueError(
            "discount[:, 0] must be 1 (the file stores discount factors to the end of each step)"
        )
    mm = np.asarray(scenarios.money_market_growth, dtype=np.float64)
    if mm.shape != (n_scen, n_steps):
        raise ValueError(f"money_market_growth must be {(n_scen, n_steps)}, not {mm.shape}")

    columns: dict[str, np.ndarray] = {
        "scenario": np.repeat(np.arange(n_scen, dtype=np.int64), n_steps),
        "step": np.tile(np.arange(1, n_steps + 1, dtype=np.int64), n_scen),
    }
    for i, name in enumerate(names):
        columns[GROWTH_PREFIX + str(name)] = growth[:, :, i].reshape(-1)
    columns["money_market_growth"] = mm.reshape(-1)
    if scenarios.short_rate is not None:
        rate = np.asarray(scenarios.short_rate, dtype=np.float64)
        if rate.shape != (n_scen, n_steps):
            raise ValueError(f"short_rate must be {(n_scen, n_steps)}, not {rate.shape}")
        columns["short_rate"] = rate.reshape(-1)
    columns["discount"] = discount[:, 1:].reshape(-1)
    return pd.DataFrame(columns)


def _metadata(scenarios: Scenarios) -> dict[str, str]:
    return {
        "basis": str(scenarios.basis),
        "steps_per_year": str(int(scenarios.steps_per_year)),
        "sample_group": str(int(scenarios.sample_group)),
    }


def write_scenarios(scenarios: Scenarios, path: str | Path) -> Path:
    """Write ``scenarios`` to ``path`` (``.csv`` or ``.parquet``) and return the path.

    The file is written to a temporary file in the same folder and renamed into place, so
    readers never see a half-written file. Floats keep full precision: reading the file
    back gives the same arrays bit for bit.

    Raises
    ------
    ConfigError
        Unsupported suffix or the file cannot be written (one line naming the file).
    """
    path = Path(path)
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise ConfigError([f"{path}: scenario file must end in .csv or .parquet"])
    frame = scenarios_to_frame(scenarios)
    meta = _metadata(scenarios)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        if kind == "csv":
            with open(tmp, "x", encoding="utf-8", newline="") as f:
                f.write("# abrsim scenario file, format in docs/scenario-files.md\n")
                f.writelines(f"# {key}: {meta[key]}\n" for key in METADATA_KEYS)
                frame.to_csv(f, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            merged = dict(table.schema.metadata or {})
            merged.update({k.encode(): v.encode() for k, v in meta.items()})
            pq.write_table(table.replace_schema_metadata(merged), tmp)
        os.replace(tmp, path)
    except OSError as err:
        raise ConfigError([f"{path}: cannot write scenario file: {err.strerror or err}"]) from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


# --------------------------------------------------------------------------- reading


def _read_csv(path: Path, problems: _Problems) -> tuple[pd.DataFrame, dict[str, str]]:
    meta: dict[str, str] = {}
    skip = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            text = line.strip()
            if text and not text.startswith("#"):
                break
            skip += 1
            key, sep, value = text.lstrip("#").partition(":")
            key = key.strip().lower()
            if sep and key in METADATA_KEYS:
                value = value.strip()
                if key in meta and meta[key] != value:
                    problems.file(
                        f"line {skip}: metadata {key} given twice ({_show(meta[key])} and {_show(value)})"
                    )
                meta[key] = value
    # pandas >= 3 parses floats exactly by default (and deprecates float_precision)
    exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    frame = pd.read_csv(path, skiprows=skip, skipinitialspace=True, **exact)
    return frame, meta


def _read_parquet(path: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    raw = table.schema.metadata or {}
    meta = {}
    for key in METADATA_KEYS:
        value = raw.get(key.encode())
        if value is not None:
            meta[key] = value.decode("utf-8", errors="replace").strip()
    return table.to_pandas(), meta


def read_scenarios(
    path: str | Path, steps_per_year: int | None = None, basis: str | None = None
) -> Scenarios:
    """Read and validate a scenario file (``.csv`` or ``.parquet``).

    Parameters
    ----------
    path : str or Path
    steps_per_year : int, optional
        Required when the file has no ``steps_per_year`` metadata; must agree with it
        otherwise.
    basis : str, optional
        ``risk_neutral`` or ``real_world``; required when the file has no ``basis``
        metadata, must agree with it otherwise.

    Returns
    -------
    Scenarios
        Rows sorted by (scenario, step); ``discount[:, 0] == 1``.

    Raises
    ------
    ConfigError
        Every problem found (up to 20 lines), one line each, naming the file and the row
        (1-based data row: the header and comment lines are not counted) and/or column.
    """
    path = Path(path)
    source = str(path)
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise ConfigError([f"{source}: scenario file must end in .csv or .parquet"])
    if not path.is_file():
        raise ConfigError([f"{source}: scenario file not found"])
    problems = _Problems(source)
    try:
        frame, meta = _read_csv(path, problems) if kind == "csv" else _read_parquet(path)
    except Exception as err:  # noqa: BLE001 - any reader failure is a bad file
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise ConfigError([f"{source}: cannot read scenario file: {first}"]) from None
    return scenarios_from_frame(
        frame, meta, source=source, steps_per_year=steps_per_year, basis=basis, problems=problems
    )


def _resolve_metadata(meta: dict[str, str], steps_per_year, basis, problems: _Problems):
    """(steps_per_year, basis, sample_group) from the file's metadata and the arguments."""

    def whole(key: str, value, low: int, high: int | None, origin: str):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if (
            not math.isfinite(number)
            or number != round(number)
            or number < low
            or (high and number > high)
        ):
            bounds = f"{low}..{high}" if high else f">= {low}"
            problems.file(f"{origin} {key}: {_show(value)} is not a whole number in {bounds}")
            return None
        return int(number)

    spy = None
    if "steps_per_year" in meta:
        spy = whole("steps_per_year", meta["steps_per_year"], 1, MAX_STEPS_PER_YEAR, "metadata")
    if steps_per_year is not None:
        wanted = whole("steps_per_year", steps_per_year, 1, MAX_STEPS_PER_YEAR, "requested")
        if spy is not None and wanted is not None and spy != wanted:
            problems.file(
                f"metadata steps_per_year = {spy} conflicts with the requested steps_per_year = {wanted}"
            )
        elif "steps_per_year" not in meta:
            spy = wanted
    elif "steps_per_year" not in meta:
        problems.file(
            "metadata steps_per_year is missing (add it to the file or pass steps_per_year)"
        )

    file_basis = None
    if "basis" in meta:
        file_basis = meta["basis"].lower()
        if file_basis not in BASES:
            problems.file(
                f"metadata basis: {_show(meta['basis'])} is not one of {', '.join(BASES)}"
            )
            file_basis = None
    if basis is not None:
        wanted_basis = str(basis).lower()
        if wanted_basis not in BASES:
            problems.file(f"requested basis: {_show(basis)} is not one of {', '.join(BASES)}")
        elif file_basis is not None and file_basis != wanted_basis:
            problems.file(
                f"metadata basis = {file_basis} conflicts with the requested basis = {wanted_basis}"
            )
        elif "basis" not in meta:
            file_basis = wanted_basis
    elif "basis" not in meta:
        problems.file("metadata basis is missing (add it to the file or pass basis)")

    group = 1
    if "sample_group" in meta:
        group = whole("sample_group", meta["sample_group"], 1, None, "metadata")
    return spy, file_basis, group


def _classify_columns(frame: pd.DataFrame, problems: _Problems):
    """(index names, {index name: (column, is_growth)}) and problems for the column set."""
    names: list[str] = []
    index_cols: dict[str, tuple[str, bool]] = {}
    for col in frame.columns:
        col_name = str(col)
        if col_name in ("scenario", "step") or col_name in RATE_COLUMNS:
            continue
        for prefix, is_growth in ((GROWTH_PREFIX, True), (RETURN_PREFIX, False)):
            if col_name.startswith(prefix):
                name = col_name[len(prefix) :]
                if not name:
                    problems.file(f"column {col_name}: the index name after '{prefix}' is empty")
                elif name == MONEY_MARKET_INDEX:
                    problems.file(
                        f"column {col_name}: '{MONEY_MARKET_INDEX}' is the built-in short-rate index; "
                        "give its growth as money_market_growth"
                    )
                elif name in index_cols:
                    problems.file(
                        f"column {col_name}: index '{name}' already comes from column "
                        f"{index_cols[name][0]}; give growth_{name} or return_{name}, not both"
                    )
                else:
                    names.append(name)
                    index_cols[name] = (col_name, is_growth)
                break
        else:
            problems.file(
                f"column {_show(col_name)} is not part of the scenario format (expected scenario, step, "
                "growth_<index> or return_<index>, money_market_growth, short_rate, discount)"
            )
    for col in ("scenario", "step"):
        if col not in frame.columns:
            problems.file(f"column {col} is missing")
    if not names:
        problems.file("no index columns: give at least one growth_<index> or return_<index> column")
    if "discount" not in frame.columns and "short_rate" not in frame.columns:
        problems.file("columns discount and short_rate are both missing: give at least one")
    return names, index_cols


def _numeric_column(frame: pd.DataFrame, col: str, problems: _Problems) -> np.ndarray:
    """The column as float64; reports non-numeric, blank, NaN and infinite cells."""
    raw = frame[col]
    if pd.api.types.is_bool_dtype(raw.dtype):
        problems.rows(np.ones(len(raw), bool), col, "true/false is not a number")
        return np.full(len(raw), np.nan)
    if pd.api.types.is_numeric_dtype(raw.dtype):
        values = raw.to_numpy(dtype=np.float64, na_value=np.nan)
        text_bad = np.zeros(len(raw), bool)
    else:
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        blank = (
            raw.isna().to_numpy() | (raw.astype("string").str.strip() == "").fillna(True).to_numpy()
        )
        text_bad = np.isnan(values) & ~blank
        problems.rows(text_bad, col, lambda r: f"{_show(raw.iloc[r])} is not a number")
    missing = np.isnan(values) & ~text_bad
    problems.rows(missing, col, "value is blank or NaN")
    problems.rows(np.isinf(values), col, lambda r: f"{values[r]} is not finite")
    return values


def scenarios_from_frame(
    frame: pd.DataFrame,
    metadata: dict[str, str] | None = None,
    source: str = "<frame>",
    steps_per_year: int | None = None,
    basis: str | None = None,
    problems: _Problems | None = None,
) -> Scenarios:
    """Validate a long table (the file format, already loaded) and build :class:`Scenarios`.

    ``metadata`` holds the file's ``basis``, ``steps_per_year`` and ``sample_group`` as
    strings; ``source`` names the table in messages. See :func:`read_scenarios`.
    """
    problems = problems or _Problems(source)
    frame = frame.reset_index(drop=True)
    names, index_cols = _classify_columns(frame, problems)
    spy, the_basis, group = _resolve_metadata(dict(metadata or {}), steps_per_year, basis, problems)
    if len(frame) == 0:
        problems.file("no data rows")
    if any(c not in frame.columns for c in ("scenario", "step")) or not names or len(frame) == 0:
        problems.raise_if_any()

    # ---- cell by cell
    before = len(problems.lines)
    values: dict[str, np.ndarray] = {
        col: _numeric_column(frame, col, problems) for col in ("scenario", "step")
    }
    scen, step = values["scenario"], values["step"]
    problems.rows(
        np.isfinite(scen) & ((scen != np.round(scen)) | (scen < 0)),
        "scenario",
        lambda r: f"{_number(scen[r])} is not a whole number >= 0",
    )
    problems.rows(
        np.isfinite(step) & ((step != np.round(step)) | (step < 1)),
        "step",
        lambda r: f"{_number(step[r])} is not a whole number >= 1",
    )
    keys_ok = len(problems.lines) == before
    for col in [index_cols[n][0] for n in names] + [c for c in RATE_COLUMNS if c in frame.columns]:
        values[col] = _numeric_column(frame, col, problems)
    for name in names:
        col, is_growth = index_cols[name]
        v = values[col]
        if is_growth:
            problems.rows(
                np.isfinite(v) & (v <= 0), col, lambda r, v=v: f"growth {_number(v[r])} is not > 0"
            )
        else:
            problems.rows(
                np.isfinite(v) & (v <= -1),
                col,
                lambda r, v=v: f"return {_number(v[r])} is not > -1",
            )
    if "money_market_growth" in values:
        v = values["money_market_growth"]
        problems.rows(
            np.isfinite(v) & (v <= 0),
            "money_market_growth",
            lambda r: f"{_number(v[r])} is not > 0",
        )
    if "discount" in values:
        d = values["discount"]
        problems.rows(
            np.isfinite(d) & ((d <= 0) | (d > MAX_DISCOUNT)),
            "discount",
            lambda r: f"{_number(d[r])} is not in (0, {MAX_DISCOUNT}]",
        )

    # ---- structure: needs clean scenario and step numbers
    if not keys_ok:
        problems.raise_if_any()
    scen_i, step_i = scen.astype(np.int64), step.astype(np.int64)
    keys = pd.DataFrame({"scenario": scen_i, "step": step_i})
    dup = keys.duplicated(keep="first").to_numpy()
    if dup.any():
        first_row = (
            keys.reset_index().groupby(["scenario", "step"])["index"].transform("min").to_numpy()
        )
        problems.rows(
            dup,
            "scenario, step",
            lambda r: f"(scenario {scen_i[r]}, step {step_i[r]}) repeats row {first_row[r] + 1}",
        )
    n_scen = int(scen_i.max()) + 1
    n_steps = int(step_i.max())
    present = np.unique(scen_i)
    if present.size != n_scen:
        missing = np.setdiff1d(np.arange(n_scen), present)
        problems.file(
            f"column scenario: scenarios must run 0..{n_scen - 1} without gaps; "
            f"missing {_list(missing)}"
        )
    counts = np.zeros((n_scen, n_steps), dtype=np.int64)
    np.add.at(counts, (scen_i, step_i - 1), 1)
    short = [s for s in present if not counts[s].all()]
    for s in short[:MAX_ROWS_PER_RULE]:
        missing = np.flatnonzero(counts[s] == 0) + 1
        problems.file(
            f"scenario {s}: column step: steps must run 1..{n_steps} (the longest scenario) in every "
            f"scenario; missing {_list(missing)}"
        )
    if len(short) > MAX_ROWS_PER_RULE:
        problems.file(
            f"column step: {len(short) - MAX_ROWS_PER_RULE} more scenarios with missing steps"
        )
    if group is not None and n_scen % group:
        problems.file(f"metadata sample_group = {group} does not divide the {n_scen} scenarios")
    problems.raise_if_any()

    # ---- arrays, sorted by (scenario, step)
    order = np.lexsort((step_i, scen_i))
    shape = (n_scen, n_steps)

    def grid(col: str) -> np.ndarray:
        return np.ascontiguousarray(values[col][order].reshape(shape))

    dt = 1.0 / spy
    growth = np.empty((n_scen, n_steps, len(names)))
    for i, name in enumerate(names):
        col, is_growth = index_cols[name]
        growth[:, :, i] = grid(col) if is_growth else 1.0 + grid(col)
    short_rate = grid("short_rate") if "short_rate" in values else None
    discount = np.ones((n_scen, n_steps + 1))
    if "discount" in values:
        discount[:, 1:] = grid("discount")
    else:
        discount[:, 1:] = np.exp(-np.cumsum(short_rate * dt, axis=1))
        d = discount[:, 1:].reshape(-1)
        bad = np.zeros(len(frame), bool)
        bad[order[(d <= 0) | (d > MAX_DISCOUNT) | ~np.isfinite(d)]] = True
        problems.rows(
            bad,
            "short_rate",
            "the discount factor derived from short_rate leaves "
            f"(0, {MAX_DISCOUNT}] by the end of this step",
        )
        problems.raise_if_any()
    if "money_market_growth" in values:
        mm = grid("money_market_growth")
    elif "discount" in values:
        mm = discount[:, :-1] / discount[:, 1:]
    else:
        mm = np.exp(short_rate * dt)
    return Scenarios(
        index_growth=growth,
        money_market_growth=mm,
        discount=discount,
        index_names=tuple(names),
        steps_per_year=spy,
        basis=the_basis,
        sample_group=group,
        short_rate=short_rate,
    )


def _list(numbers, limit: int = 10) -> str:
    numbers = [int(n) for n in numbers]
    text = ", ".join(str(n) for n in numbers[:limit])
    return text + (f" and {len(numbers) - limit} more" if len(numbers) > limit else "")
