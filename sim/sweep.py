"""Pricing sweeps: a grid of cells, each the block priced with some keys changed.

A sweep definition names **axes**: a config key (``rider.fee_rate``,
``market.indices.0.volatility``: a whole number indexes a list) or an inforce column set
for every contract (``rider_period``, ``ab_factor``, ``guarantee_option``,
``rider_fee_rate``; a name without a dot is a column). Each axis has a list of values or a
range; the cells are the cartesian product (the first axis varies slowest), or an explicit
list of cells. As TOML::

    [sweep.axes]
    "market.indices.0.volatility" = [0.15, 0.18, 0.21]
    rider_period = [10, 15]
    "rider.fee_rate" = { start = 0.005, stop = 0.015, step = 0.005 }

    # or, instead of axes:
    [sweep]
    cells = [{ "market.rate" = 0.03, rider_period = 10 }, { "market.rate" = 0.04, rider_period = 15 }]

Every cell is ``sim.price(config with the keys set, inforce with the columns set)``: the
same seed and scenarios for every cell (common random numbers: each scenario draws its
shocks step by step from its own stream, so cells of different horizons share their
paths; an axis on a market key changes the scenarios' parameters, not their random
numbers; under RQMC only cells of the same horizon share their points), so a cell equals
``abrsim price --set KEY=VALUE ...`` run alone, bit for bit. When ``rider_period`` or
``guarantee_option`` is an axis and ``ab_factor`` is not, the AB factor is looked up in the
table again for the cell's period and option.

With an output folder, each finished cell is written at once (``cells/NNNNN.json``, temp
file + rename), next to ``sweep.json`` (the hashes of the definition and of the config with
its inforce); a rerun computes only the missing cells and refuses a changed definition or
config. ``sweep.parquet`` (one row per cell, in cell order) and the plots come at the end.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import re
import sys
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .config import Config, ConfigError, config_from_dict, load_config, set_key
from .inforce import COLUMNS as INFORCE_COLUMNS
from .inforce import read_inforce, synthetic_inforce, validate_inforce

__all__ = [
    "PreparedSweep",
    "prepare_sweep",
    "RESULT_COLUMNS",
    "SweepDefinition",
    "SweepFolder",
    "cell_inputs",
    "parse_sweep",
    "price_cell",
    "read_sweep_file",
    "sweep",
    "write_plots",
]

#: Result columns of a cell (each figure with its standard error), then ``seconds``.
RESULT_COLUMNS = (
    "pv_claims",
    "pv_claims_se",
    "pv_fees",
    "pv_fees_se",
    "net_cost",
    "net_cost_se",
    "net_cost_bps",
    "net_cost_bps_se",
    "breakeven_fee",
    "breakeven_fee_se",
)
#: Inforce columns an axis may set (every column but the contract's identity).
SWEEPABLE_COLUMNS = tuple(c for c in INFORCE_COLUMNS if c != "contract_id")
#: Columns whose change makes the AB factor come from the table again.
AB_FACTOR_KEYS = ("rider_period", "guarantee_option")
#: Range values are rounded to this many significant digits (0.1 + 0.2 -> 0.3).
RANGE_DIGITS = 12


def _is_column(key: str) -> bool:
    return "." not in key


def _show(value) -> str:
    return json.dumps(value)


# ----------------------------------------------------------------------------- definition


@dataclass(frozen=True)
class SweepDefinition:
    """The axes and cells of a sweep.

    Attributes
    ----------
    keys : tuple of str
        The axes: config keys (with a dot) or inforce columns (without), in column order.
    cells : tuple of tuple
        One tuple of values per cell, in ``keys`` order; the cell order of the results.
    """

    keys: tuple[str, ...]
    cells: tuple[tuple, ...]

    def cell_dict(self, i: int) -> dict:
        """The ``{key: value}`` of cell ``i``."""
        return dict(zip(self.keys, self.cells[i], strict=False))

    def label(self, i: int) -> str:
        """``cell 3 (rider.fee_rate=0.01, rider_period=10)``."""
        return f"cell {i} ({', '.join(f'{k}={_show(v)}' for k, v in self.cell_dict(i).items())})"

    def to_json(self) -> dict:
        return {"keys": list(self.keys), "cells": [list(c) for c in self.cells]}

    def hash(self) -> str:
        """SHA-256 of the keys and every cell's values (JSON, exact floats)."""
        return _sha256(json.dumps(self.to_json(), sort_keys=True))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _range_values(key: str, spec: Mapping) -> list:
    """``{start, stop, step}`` (stop included when reached) or ``{start, stop, num}``."""
    allowed = {"start", "stop", "step", "num"}
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise ConfigError(
            [
                f"sweep axis {key}: unknown range key(s) {', '.join(unknown)} "
                "(a range is {start, stop, step} or {start, stop, num})"
            ]
        )
    if "start" not in spec or "stop" not in spec or ("step" in spec) == ("num" in spec):
        raise ConfigError([f"sweep axis {key}: a range needs start, stop and one of step or num"])
    numbers = {k: v for k, v in spec.items()}
    for k, v in numbers.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ConfigError([f"sweep axis {key}: range {k} = {_show(v)} is not a number"])
    start, stop = numbers["start"], numbers["stop"]
    if "num" in numbers:
        num = numbers["num"]
        if not isinstance(num, int) or num < 0:
            raise ConfigError(
                [f"sweep axis {key}: range num = {_show(num)} is not a whole number >= 0"]
            )
        values = np.linspace(start, stop, num) if num != 1 else np.array([start])
        ints = all(isinstance(v, int) for v in (start, stop)) and all(
            float(v).is_integer() for v in values
        )
    else:
        step = numbers["step"]
        if step <= 0:
            raise ConfigError([f"sweep axis {key}: range step = {_show(step)} must be positive"])
        count = math.floor((stop - start) / step * (1 + 1e-12) + 1e-9) + 1 if stop >= start else 0
        values = start + step * np.arange(max(count, 0))
        ints = all(isinstance(v, int) for v in (start, stop, step))
    if ints:
        return [int(round(v)) for v in values]
    return [float(f"{v:.{RANGE_DIGITS}g}") for v in values]


def _axis_values(key: str, spec) -> list:
    if isinstance(spec, Mapping):
        values = _range_values(key, spec)
    elif isinstance(spec, (list, tuple)):
        values = list(spec)
    else:
        raise ConfigError(
            [
                f"sweep axis {key}: give a list of values or a range "
                f"{{start, stop, step}}, not {_show(spec)}"
            ]
        )
    if not values:
        raise ConfigError([f"sweep axis {key}: no values"])
    return values


def _check_key(key) -> str:
    if not isinstance(key, str) or not key.strip():
        raise ConfigError([f"sweep axis {_show(key)}: not a config key or an inforce column"])
    key = key.strip()
    if _is_column(key) and key not in SWEEPABLE_COLUMNS:
        raise ConfigError(
            [
                f"sweep axis {key}: not an inforce column (a config key has a section, "
                "e.g. rider.fee_rate)"
            ]
        )
    if key.split(".")[0] == "sweep" or key == "base_dir":
        raise ConfigError([f"sweep axis {key}: cannot be swept"])
    return key


def parse_sweep(
    section: Mapping | None = None,
    *,
    axes: Mapping | None = None,
    cells: Iterable[Mapping] | None = None,
    source: str = "sweep",
) -> SweepDefinition:
    """The sweep definition of a ``[sweep]`` section, or of ``axes`` / ``cells``.

    Parameters
    ----------
    section : mapping, optional
        ``{"axes": {key: values or range}}`` or ``{"cells": [{key: value, ...}, ...]}``.
    axes : mapping, optional
        ``{key: [values] or {start, stop, step | num}}``: the cartesian product.
    cells : iterable of mapping, optional
        Explicit cells, each naming the same keys.

    Raises
    ------
    ConfigError
        One line naming the axis (or the cell) and the problem.
    """
    if section is not None:
        if axes is not None or cells is not None:
            raise ConfigError([f"{source}: give a [sweep] section or axes/cells, not both"])
        if not isinstance(section, Mapping):
            raise ConfigError([f"{source}: [sweep] must be a table with axes or cells"])
        unknown = sorted(set(section) - {"axes", "cells"})
        if unknown:
            raise ConfigError(
                [f"{source}: sweep.{unknown[0]}: unknown key (give sweep.axes or sweep.cells)"]
            )
        axes, cells = section.get("axes"), section.get("cells")
    if (axes is None) == (cells is None):
        raise ConfigError(
            [f"{source}: give exactly one of sweep.axes (a grid) or sweep.cells (a list)"]
        )
    if axes is not None:
        if not isinstance(axes, Mapping) or not axes:
            raise ConfigError([f"{source}: sweep.axes needs at least one axis: key = [values]"])
        keys, value_lists = [], []
        for key, spec in axes.items():
            key = _check_key(key)
            if key in keys:
                raise ConfigError([f"sweep axis {key}: given twice"])
            keys.append(key)
            value_lists.append(_axis_values(key, spec))
        return SweepDefinition(tuple(keys), tuple(itertools.product(*value_lists)))
    cells = (
        list(cells)
        if isinstance(cells, Iterable) and not isinstance(cells, (str, Mapping))
        else None
    )
    if not cells:
        raise ConfigError([f"{source}: sweep.cells needs at least one cell: {{key = value, ...}}"])
    if not isinstance(cells[0], Mapping) or not cells[0]:
        raise ConfigError([f"{source}: sweep.cells[0]: a cell is a table {{key = value, ...}}"])
    keys = tuple(_check_key(k) for k in cells[0])
    rows = []
    for i, cell in enumerate(cells):
        if not isinstance(cell, Mapping):
            raise ConfigError(
                [f"{source}: sweep.cells[{i}]: a cell is a table {{key = value, ...}}"]
            )
        got = tuple(k.strip() if isinstance(k, str) else k for k in cell)
        if set(got) != set(keys):
            diff = sorted(map(str, set(got) ^ set(keys)))
            raise ConfigError(
                [
                    f"sweep axis {diff[0]}: sweep.cells[{i}] does not name the same keys as "
                    f"sweep.cells[0] ({', '.join(keys)})"
                ]
            )
        values = {k.strip(): v for k, v in cell.items()}
        rows.append(tuple(values[k] for k in keys))
    return SweepDefinition(keys, tuple(rows))


def read_sweep_file(path: str | Path) -> dict:
    """The ``[sweep]`` section of a TOML file (or the whole file if it has no such section)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError([f"{path}: not valid TOML: {err}"]) from None
    return data["sweep"] if "sweep" in data else data


# ----------------------------------------------------------------------------- cells


def _base_data(config: Config) -> dict:
    """The config as a plain mapping, without its [sweep] section."""
    return config.model_dump(mode="json", exclude={"sweep"})


def _raw_inforce(config: Config, frame: pd.DataFrame | None) -> tuple[pd.DataFrame, str]:
    """The unvalidated inforce of a cell and its name in messages."""
    if frame is not None:
        return frame, frame.attrs.get("source", "inforce")
    if config.inforce.file is not None:
        path = config.resolve(config.inforce.file)
        frame = read_inforce(path)
        frame.attrs["source"] = str(path)
        return frame, str(path)
    from .product.rider import AccumulationBenefitRider

    syn = config.inforce.synthetic
    rider = AccumulationBenefitRider.from_config(config)
    return synthetic_inforce(syn.contracts, syn.seed, config, rider), "synthetic inforce"


def cell_inputs(
    base: dict,
    inforce: pd.DataFrame | None,
    keys: tuple[str, ...],
    values: tuple,
    label: str = "cell",
) -> tuple[Config, pd.DataFrame]:
    """The validated config and inforce of one cell.

    Parameters
    ----------
    base : dict
        The base config as a mapping (``Config.model_dump(mode="json")``).
    inforce : DataFrame, optional
        The unvalidated base inforce; default: the cell config's ``[inforce]``.
    keys, values
        The cell: config keys and inforce columns with their values.

    Raises
    ------
    ConfigError
        One line naming the cell, the axis where it can be told, and the first problem.
    """
    from .product.rider import AccumulationBenefitRider

    data = json.loads(json.dumps(base))  # a deep copy
    columns = {}
    for key, value in zip(keys, values, strict=False):
        _check_type(key, value, data)
        if _is_column(key):
            columns[key] = value
            continue
        problem = set_key(data, key, value)
        if problem:
            raise ConfigError([f"sweep axis {key}: {problem.split(': ', 1)[-1]}"])
    try:
        config = config_from_dict(data, source="config", base_dir=base.get("base_dir", "."))
    except ConfigError as err:
        raise ConfigError([_name_axis(err.problems, keys, values, label)]) from None
    frame, source = _raw_inforce(config, inforce)
    if columns:
        frame = frame.copy()
        for column, value in columns.items():
            frame[column] = [value] * len(frame)
        if (
            "ab_factor" in frame
            and "ab_factor" not in columns
            and set(columns) & set(AB_FACTOR_KEYS)
        ):
            frame["ab_factor"] = np.nan  # from the table for the cell's option and period
    rider = AccumulationBenefitRider.from_config(config)
    clean, problems = validate_inforce(frame, config, rider, source)
    if problems:
        raise ConfigError([_name_axis(problems, keys, values, label)])
    return config, clean


def _kind(value) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, (list, tuple)) else "a table"


def _check_type(key: str, value, base: dict) -> None:
    """Refuse a value of another kind than the base config's (pydantic would read ``true``
    as 1.0); an inforce column takes one number or string per contract."""
    if _is_column(key):
        if isinstance(value, (list, tuple, dict)) or (
            isinstance(value, bool) and key != "spousal_protection"
        ):
            raise ConfigError(
                [
                    f"sweep axis {key} = {_show(value)}: an inforce column takes a number or a "
                    "string, the same for every contract"
                ]
            )
        return
    node = base
    for part in key.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return  # not in the base config: pydantic judges the key and the value
    if node is not None and _kind(node) != _kind(value):
        raise ConfigError(
            [
                f"sweep axis {key} = {_show(value)}: {_kind(node)} is expected "
                f"(the config has {_show(node)})"
            ]
        )


def _name_axis(problems: list[str], keys, values, label: str) -> str:
    """One line: the axis a problem names (a key or column in it), else the cell."""
    first = problems[0]
    more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
    for key, value in zip(keys, values, strict=False):
        if (f" {key}:" if not _is_column(key) else f": {key}:") in first:
            return f"sweep axis {key} = {_show(value)}: {first}{more}"
    return f"sweep {label}: {first}{more}"


def price_cell(config: Config, inforce: pd.DataFrame, block_runner: Callable | None = None) -> dict:
    """Price one cell: the figures of :data:`RESULT_COLUMNS` and ``seconds``."""
    from .valuation import price

    t0 = time.perf_counter()
    block = price(config, inforce, block_runner=block_runner).block
    row = {
        name: (np.nan if block.get(name) is None else float(block[name])) for name in RESULT_COLUMNS
    }
    row["seconds"] = time.perf_counter() - t0
    return row


def _cell_task(base: dict, inforce: pd.DataFrame | None, keys: tuple, values: tuple) -> dict:
    """A cell on a Dask worker: numba threads = the worker's threads unless the config
    fixes run.threads (results do not depend on threads)."""
    from .distributed import worker_threads

    threads = worker_threads(int(base["run"]["threads"]))
    base = {**base, "run": {**base["run"], "threads": threads}}
    return price_cell(*cell_inputs(base, inforce, keys, values))


# ----------------------------------------------------------------------------- folder


class SweepFolder:
    """The output folder of a sweep: ``sweep.json``, ``cells/``, ``sweep.parquet``, plots.

    Parameters
    ----------
    path : Path
    definition_hash, config_hash : str
    """

    def __init__(self, path: Path, definition: SweepDefinition, config_hash: str):
        self.path = Path(path)
        self.definition = definition
        self.stamp = {
            "definition_hash": definition.hash(),
            "config_hash": config_hash,
            "definition": definition.to_json(),
        }

    @property
    def cells_dir(self) -> Path:
        return self.path / "cells"

    def check(self) -> None:
        """Refuse a folder of another sweep (one line; nothing written)."""
        if self.path.exists() and not self.path.is_dir():
            raise ConfigError([f"{self.path}: the output must be a folder, and this is a file"])
        stamp_file = self.path / "sweep.json"
        if stamp_file.exists():
            try:
                old = json.loads(stamp_file.read_text())
            except (OSError, ValueError):
                raise ConfigError(
                    [f"{stamp_file}: unreadable; use another --output folder"]
                ) from None
            if old.get("definition_hash") != self.stamp["definition_hash"]:
                raise ConfigError(
                    [
                        f"{_changed_axis(old.get('definition') or {}, self.definition)} "
                        f"since {self.path} was started (sweep.json); use another --output "
                        "folder to run the new definition"
                    ]
                )
            if old.get("config_hash") != self.stamp["config_hash"]:
                raise ConfigError(
                    [
                        f"{self.path}: the config or its inforce changed since this folder "
                        "was started (sweep.json); use another --output folder to run it"
                    ]
                )
        elif self.path.exists() and any(self.path.iterdir()):
            raise ConfigError(
                [
                    f"{self.path}: the folder is not empty and holds no sweep.json; "
                    "give a new or empty --output folder"
                ]
            )

    def start(self) -> None:
        self.cells_dir.mkdir(parents=True, exist_ok=True)
        if not (self.path / "sweep.json").exists():
            _write_atomic(self.path / "sweep.json", json.dumps(self.stamp, indent=2) + "\n")
        for stale in self.cells_dir.glob(".*.tmp*"):  # a temp file of a killed run
            stale.unlink(missing_ok=True)

    def cell_file(self, i: int) -> Path:
        return self.cells_dir / f"{i:05d}.json"

    def done(self) -> dict[int, dict]:
        """Rows of the finished cells (whose file matches the cell's values)."""
        rows = {}
        for i, values in enumerate(self.definition.cells):
            f = self.cell_file(i)
            if not f.exists():
                continue
            record = json.loads(f.read_text())
            if record.get("values") == json.loads(json.dumps(list(values))):
                rows[i] = record["result"]
        return rows

    def save(self, i: int, result: dict) -> None:
        record = {"cell": i, "values": list(self.definition.cells[i]), "result": result}
        _write_atomic(self.cell_file(i), json.dumps(record, allow_nan=True) + "\n")


def _changed_axis(old: dict, new: SweepDefinition) -> str:
    """``sweep axis K: added`` (removed, values changed): what differs from the stamp."""
    old_keys = list(old.get("keys") or [])
    for key in new.keys:
        if key not in old_keys:
            return f"sweep axis {key}: added"
    for key in old_keys:
        if key not in new.keys:
            return f"sweep axis {key}: removed"
    old_cells = old.get("cells") or []
    for j, key in enumerate(new.keys):
        was = [c[old_keys.index(key)] for c in old_cells]
        if was != json.loads(json.dumps([c[j] for c in new.cells])):
            return f"sweep axis {key}: its values changed"
    return "sweep: the order of the axes or cells changed"


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary sibling, flush it to disk, and rename it into place."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _config_hash(config: Config, inforce: pd.DataFrame | None) -> str:
    """SHA-256 of every config key (but base_dir and [sweep]) and of the base inforce data."""
    data = config.model_dump(mode="json", exclude={"sweep", "base_dir"})
    h = hashlib.sha256(json.dumps(data, sort_keys=True).encode())
    if inforce is not None:
        h.update(json.dumps([str(c) for c in inforce.columns]).encode())
        h.update(pd.util.hash_pandas_object(inforce, index=False).to_numpy().tobytes())
    return h.hexdigest()


# ----------------------------------------------------------------------------- results


def _frame(definition: SweepDefinition, rows: dict[int, dict]) -> pd.DataFrame:
    """One row per cell in cell order: ``cell``, the axes, the results, ``seconds``."""
    n = len(definition.cells)
    out = {"cell": np.arange(n, dtype=np.int64)}
    for j, key in enumerate(definition.keys):
        out[key] = [definition.cells[i][j] for i in range(n)]
    for name in (*RESULT_COLUMNS, "seconds"):
        out[name] = np.array([rows[i][name] for i in range(n)], dtype=float)
    return pd.DataFrame(out)


def _file_name(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "_", key).strip("_")


def write_plots(frame: pd.DataFrame, keys: tuple[str, ...], folder: Path) -> list[Path]:
    """Break-even fee against each axis (one line per combination of the other axes, error
    bars of one standard error) and, with two axes, a heatmap. PNG files in ``folder``.

    The figures are :class:`matplotlib.figure.Figure` objects saved with ``savefig``: neither
    the backend nor pyplot's state is touched, so a notebook's inline plots keep working.
    """
    from matplotlib.figure import Figure

    written = []
    y, yerr = 100 * frame["breakeven_fee"], 100 * frame["breakeven_fee_se"]
    for key in keys:
        others = [k for k in keys if k != key]
        fig = Figure(figsize=(6.4, 4.2))
        ax = fig.subplots()
        groups = (
            frame.groupby([frame[k].astype(str) for k in others], sort=False)
            if others
            else [("", frame)]
        )
        for n_line, (name, part) in enumerate(groups):
            x = part[key]
            numeric = pd.api.types.is_numeric_dtype(x)
            xs = x.to_numpy() if numeric else np.arange(len(x))
            label = ", ".join(
                f"{k}={v}"
                for k, v in zip(others, name if isinstance(name, tuple) else (name,), strict=False)
            )
            ax.errorbar(
                xs,
                y[part.index],
                yerr=yerr[part.index],
                marker="o",
                capsize=3,
                label=label if others and n_line < 12 else None,
            )
            if not numeric:
                ax.set_xticks(xs, [str(v) for v in x])
        ax.set_xlabel(key)
        ax.set_ylabel("break-even rider fee, % (± 1 s.e.)")
        ax.set_title(f"Break-even fee against {key}")
        if others:
            ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
        written.append(_save(fig, folder / f"breakeven_fee_by_{_file_name(key)}.png"))
    if len(keys) == 2:
        table = frame.pivot_table(
            index=keys[0], columns=keys[1], values="breakeven_fee", aggfunc="first", sort=False
        )
        fig = Figure(figsize=(6.4, 4.8))
        ax = fig.subplots()
        im = ax.imshow(
            100 * table.to_numpy(dtype=float), origin="lower", aspect="auto", cmap="viridis"
        )
        ax.set_xticks(range(table.shape[1]), [str(v) for v in table.columns])
        ax.set_yticks(range(table.shape[0]), [str(v) for v in table.index])
        ax.set_xlabel(keys[1])
        ax.set_ylabel(keys[0])
        for (r, c), v in np.ndenumerate(100 * table.to_numpy(dtype=float)):
            if np.isfinite(v):
                ax.text(c, r, f"{v:.3f}", ha="center", va="center", color="w", fontsize=8)
        fig.colorbar(im, ax=ax, label="break-even rider fee, %")
        ax.set_title("Break-even rider fee, %")
        written.append(_save(fig, folder / "breakeven_fee_heatmap.png"))
    return written


def _save(fig, path: Path) -> Path:
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    os.replace(tmp, path)
    return path


# ----------------------------------------------------------------------------- sweep()


@dataclass
class PreparedSweep:
    """A checked sweep, ready to run: every cell is valid and the output folder (if any)
    belongs to this sweep. Made by :func:`prepare_sweep`; nothing is written until
    :meth:`run`."""

    config: Config
    definition: SweepDefinition
    base: dict  # the base config as a mapping
    inforce: pd.DataFrame | None  # the unvalidated base inforce (None: per cell, synthetic)
    folder: SweepFolder | None

    def run(
        self,
        client=None,
        progress: bool | None = False,
        plots: bool = True,
        on_cell: Callable[[int, dict], None] | None = None,
    ) -> pd.DataFrame:
        """Price the missing cells; see :func:`sweep` for the parameters and the result."""
        from tqdm import tqdm

        definition, folder, base, inforce = self.definition, self.folder, self.base, self.inforce
        rows: dict[int, dict] = {}
        if folder is not None:
            folder.start()
            rows = folder.done()
            if rows and progress is not False:
                print(
                    f"resuming: {len(rows)} of {len(definition.cells)} cells already done "
                    f"in {folder.path}/",
                    file=sys.stderr,
                )
        todo = [i for i in range(len(definition.cells)) if i not in rows]
        show = progress if progress is not None else sys.stderr.isatty()
        bar = tqdm(
            total=len(definition.cells),
            initial=len(rows),
            disable=not show,
            desc="cells",
            unit="cell",
        )

        def finish(i: int, row: dict) -> None:
            rows[i] = row
            if folder is not None:
                folder.save(i, row)
            bar.update(1)
            if on_cell is not None:
                on_cell(i, row)

        try:
            if client is None:
                for i in todo:
                    config, clean = cell_inputs(base, inforce, definition.keys, definition.cells[i])
                    finish(i, price_cell(config, clean))
            elif todo:
                from distributed import as_completed

                shared = None
                if inforce is not None:
                    shared = client.scatter(inforce, broadcast=True, hash=False)
                futures = {
                    client.submit(
                        _cell_task, base, shared, definition.keys, definition.cells[i], pure=False
                    ): i
                    for i in todo
                }
                for future in as_completed(futures):
                    finish(futures[future], future.result())
        finally:
            bar.close()
        frame = _frame(definition, rows)
        if folder is not None:
            tmp = folder.path / f".sweep.parquet.tmp{os.getpid()}"
            frame.to_parquet(tmp, index=False)
            os.replace(tmp, folder.path / "sweep.parquet")
            if plots:
                write_plots(frame, definition.keys, folder.path)
        return frame


def prepare_sweep(
    config: Config | str | Path,
    axes: Mapping | None = None,
    *,
    cells: Iterable[Mapping] | None = None,
    definition: SweepDefinition | None = None,
    inforce: pd.DataFrame | None = None,
    output: str | Path | None = None,
) -> PreparedSweep:
    """Check a sweep without writing anything: the definition, every cell's config and
    inforce, and the output folder (see :func:`sweep` for the parameters).

    Raises
    ------
    ConfigError
        One line naming the axis (or the cell, or the folder).
    """
    if not isinstance(config, Config):
        config = load_config(config)
    if definition is not None:
        if axes is not None or cells is not None:
            raise ConfigError(["give a definition or axes/cells, not both"])
    elif axes is None and cells is None:
        if config.sweep is None:
            raise ConfigError(["no sweep definition: give a [sweep] section, --sweep FILE or axes"])
        definition = parse_sweep(config.sweep)
    else:
        definition = parse_sweep(axes=axes, cells=cells)
    base = _base_data(config)
    if (
        inforce is None
        and config.inforce.file is not None
        and not any(k.startswith("inforce.") for k in definition.keys)
    ):
        inforce, _ = _raw_inforce(config, None)  # read once; every cell sets its columns on it
    for i, values in enumerate(definition.cells):
        cell_inputs(base, inforce, definition.keys, values, label=definition.label(i))
    folder = None
    if output is not None:
        folder = SweepFolder(Path(output), definition, _config_hash(config, inforce))
        folder.check()
    return PreparedSweep(config, definition, base, inforce, folder)


def sweep(
    config: Config | str | Path,
    axes: Mapping | None = None,
    *,
    cells: Iterable[Mapping] | None = None,
    definition: SweepDefinition | None = None,
    inforce: pd.DataFrame | None = None,
    output: str | Path | None = None,
    client=None,
    progress: bool | None = False,
    plots: bool = True,
    on_cell: Callable[[int, dict], None] | None = None,
) -> pd.DataFrame:
    """Price every cell of a sweep; one row per cell.

    Parameters
    ----------
    config : Config or path
        The base config. Its ``[sweep]`` section is the definition when neither ``axes``
        nor ``cells`` is given.
    axes : mapping, optional
        ``{key: [values] or {start, stop, step | num}}``; the cells are the product.
    cells : iterable of mapping, optional
        Explicit cells instead of ``axes``.
    definition : SweepDefinition, optional
        An already parsed definition (:func:`parse_sweep`) instead of ``axes`` / ``cells``.
    inforce : DataFrame, optional
        The base inforce (unvalidated model points); default: the config's ``[inforce]``.
    output : path, optional
        Folder for ``sweep.json``, ``cells/``, ``sweep.parquet`` and plots; a rerun on the
        same folder computes only the missing cells.
    client : distributed.Client, optional
        Run the cells on this Dask cluster; default: one after another in this process.
    progress : bool or None
        A progress bar across cells (stderr); None = when stderr is a terminal. Unless
        False, a resumed sweep says how many cells were already done.
    plots : bool
        Write the plots into ``output``.
    on_cell : callable, optional
        Called as ``on_cell(i, row)`` when cell ``i`` is finished (after it is saved).

    Returns
    -------
    DataFrame
        Columns ``cell``, one per axis (named by its key), :data:`RESULT_COLUMNS`
        (break-even fee NaN when none up to 25 % exists or ``run.breakeven`` is false) and
        ``seconds`` (wall time of the cell); one row per cell, in cell order. The result
        columns do not depend on ``client`` or on the number of workers.

    Raises
    ------
    ConfigError
        A bad definition or cell, or an output folder of another sweep: one line naming the
        axis; nothing is written.
    """
    prepared = prepare_sweep(
        config, axes, cells=cells, definition=definition, inforce=inforce, output=output
    )
    return prepared.run(client=client, progress=progress, plots=plots, on_cell=on_cell)
