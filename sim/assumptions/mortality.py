"""Annuitant mortality: SOA base tables, generational improvement and projection matrices.

The Society of Actuaries tables are read from the XTbML files shipped with the
``pymort`` package (``pymort/table_xml/t<id>.xml``); see
``sim/assumptions/data/mortality.md`` for the table ids and the provenance.

All tables are stored on a common grid of integer ages 0..120 for two sexes
(``SEX_MALE`` = 0, ``SEX_FEMALE`` = 1). The annual probability of death for
age ``x`` in calendar year ``t`` is

    q(x, t) = q_base(x) * (1 - improvement(x)) ** (t - base_year),

capped to [0, 1]. Ages above 120 use the age-120 rate (the table's last rate),
ages below 0 use the age-0 rate. :func:`step_death_probabilities` turns these annual
rates into the probability of death within each time step at the attained age, under a
fractional-age assumption (uniform distribution of deaths or a constant force within each
year of age).
"""

from __future__ import annotations

import functools
import importlib.resources
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pandas as pd

__all__ = [
    "MAX_AGE",
    "SEX_FEMALE",
    "SEX_MALE",
    "MortalityTable",
    "FRACTIONAL_AGE_ASSUMPTIONS",
    "annual_q_matrix",
    "load_mortality",
    "step_death_probabilities",
]

SEX_MALE = 0
SEX_FEMALE = 1
MAX_AGE = 120
N_AGES = MAX_AGE + 1
N_SEXES = 2

# table value -> (SOA id male, SOA id female, base calendar year, descriptive name)
_SOA_BASE_TABLES: dict[str, tuple[int, int, int, str]] = {
    "2012IAM": (2581, 2582, 2012, "2012 IAM Basic"),
    "2012IAM_period": (2585, 2586, 2012, "2012 IAM Period"),
    "A2000": (885, 884, 2000, "Annuity 2000 Basic"),
}
# improvement value -> (SOA id male, SOA id female, descriptive name)
_SOA_IMPROVEMENT_SCALES: dict[str, tuple[int, int, str]] = {
    "G2": (2583, 2584, "Projection Scale G2"),
}
_NO_IMPROVEMENT = "none"
# Base year assumed for a user CSV table when an improvement scale is applied to it.
CSV_BASE_YEAR = 2012
_CSV_COLUMNS = ("age", "male", "female")
#: How deaths fall between integer ages (``mortality.fractional_age``): see
#: :func:`step_death_probabilities`.
FRACTIONAL_AGE_ASSUMPTIONS = ("udd", "constant_force", "floor")


@dataclass(frozen=True, eq=False)
class MortalityTable:
    """Annual mortality rates by sex and age, with optional generational improvement.

    Parameters
    ----------
    name : str
        Human-readable description, e.g. ``"2012 IAM Basic + Projection Scale G2"``.
    q_base : np.ndarray
        float64, shape (2, 121): annual q by [sex, age 0..120] in ``base_year``.
    improvement : np.ndarray
        float64, shape (2, 121): annual mortality improvement rate by [sex, age];
        all zeros when no improvement scale applies.
    base_year : int
        Calendar year of ``q_base`` (2012 for the 2012 IAM tables, 2000 for
        Annuity 2000). Irrelevant when ``improvement`` is all zero.
    covered_ages : (int, int)
        First and last age the source gives a rate for; rates outside were filled in.
        (0, 120) for the SOA tables (they end with a rate of 1); for a CSV table its first
        age, and its last age unless the last rates are 1 (then 120).

    Notes
    -----
    The arrays are copied and made read-only on construction, so a table
    (including the cached ones returned by :func:`load_mortality`) cannot be
    modified in place. ``eq=False`` keeps identity-based equality and hashing,
    since element-wise array comparison has no single truth value.
    """

    name: str
    q_base: np.ndarray
    improvement: np.ndarray
    base_year: int
    covered_ages: tuple[int, int] = (0, MAX_AGE)

    def __post_init__(self) -> None:
        for field_name in ("q_base", "improvement"):
            values = np.array(getattr(self, field_name), dtype=np.float64, copy=True)
            if values.shape != (N_SEXES, N_AGES):
                raise ValueError(
                    f"mortality table {self.name!r}: {field_name} has shape {values.shape}, "
                    f"expected {(N_SEXES, N_AGES)}"
                )
            if not np.all(np.isfinite(values)):
                raise ValueError(
                    f"mortality table {self.name!r}: {field_name} has non-finite values"
                )
            values.flags.writeable = False
            object.__setattr__(self, field_name, values)
        if np.any((self.q_base < 0.0) | (self.q_base > 1.0)):
            raise ValueError(f"mortality table {self.name!r}: q_base outside [0, 1]")
        if np.any(self.improvement >= 1.0):
            raise ValueError(f"mortality table {self.name!r}: improvement rates must be < 1")
        object.__setattr__(self, "base_year", int(self.base_year))

    def q(self, sex, age, year) -> np.ndarray:
        """Annual probability of death for integer ages in given calendar years.

        Parameters
        ----------
        sex : int or array_like of int
            ``SEX_MALE`` (0) or ``SEX_FEMALE`` (1).
        age : int or array_like
            Age last used for the table lookup; non-integers are floored, then
            clipped to 0..120 (the age-120 rate is used beyond 120).
        year : int or array_like of int
            Calendar year(s).

        Returns
        -------
        np.ndarray
            float64 of the broadcast shape of ``sex``, ``age`` and ``year``:
            ``q_base[sex, age] * (1 - improvement[sex, age]) ** (year - base_year)``,
            capped to [0, 1]. Years before ``base_year`` project backwards.
        """
        sex_index = _as_sex_index(sex)
        age_index = _as_age_index(age)
        years_since_base = np.asarray(year, dtype=np.float64) - self.base_year
        base_rate = self.q_base[sex_index, age_index]
        improvement_rate = self.improvement[sex_index, age_index]
        rate = base_rate * np.power(1.0 - improvement_rate, years_since_base)
        return np.clip(rate, 0.0, 1.0)


def load_mortality(table: str = "2012IAM", improvement: str = "G2") -> MortalityTable:
    """Load a base mortality table with an optional improvement scale.

    Parameters
    ----------
    table : str or os.PathLike
        ``"2012IAM"`` (2012 IAM Basic, SOA 2581 male / 2582 female, base year 2012),
        ``"2012IAM_period"`` (2012 IAM Period, SOA 2585 / 2586, base year 2012),
        ``"A2000"`` (Annuity 2000 Basic, SOA 885 male / 884 female, base year 2000),
        or a path to a CSV file with columns ``age,male,female`` of annual q.
        Names are matched case-insensitively; a value that is not a known name is
        treated as a path if it ends in ``.csv`` or contains a path separator.
        CSV ages must be consecutive integers within 0..120 starting at any age;
        missing ages below the first are filled with the first rate, missing ages
        above the last with 1.0. Ages the SOA tables do not cover (A2000 covers
        5..115) are filled the same way.
    improvement : str
        ``"G2"`` (Projection Scale G2, SOA 2583 male / 2584 female, ages 0..105,
        zero beyond 105) or ``"none"``. G2 may be combined with any table; it is
        applied generationally from the table's base year (2000 for A2000, 2012
        for the 2012 IAM tables and for a CSV table).

    Returns
    -------
    MortalityTable
        Arrays of shape (2, 121). Built-in tables are cached, so repeated loads
        return the same (read-only) object; CSV files are re-read on every call.

    Raises
    ------
    ValueError
        One-line message naming the table or file and the problem: unknown table
        or improvement name, missing or unreadable file, bad CSV columns or ages,
        q outside [0, 1].
    """
    improvement_key = _improvement_key(improvement)
    table_key = _builtin_table_key(table)
    if table_key is not None:
        return _load_builtin_table(table_key, improvement_key)
    csv_path = _csv_path_or_raise(table)
    q_base, covered_ages = _read_csv_table(csv_path)
    improvement_rates, improvement_name = _improvement_rates(improvement_key)
    name = f"CSV {csv_path.name}" + (f" + {improvement_name}" if improvement_name else "")
    return MortalityTable(
        name=name,
        q_base=q_base,
        improvement=improvement_rates,
        base_year=CSV_BASE_YEAR,
        covered_ages=covered_ages,
    )


def annual_q_matrix(
    table: MortalityTable,
    sex: np.ndarray,
    age: np.ndarray,
    valuation_year: int,
    n_years: int,
    multiplier: float = 1.0,
) -> np.ndarray:
    """Annual probabilities of death for each contract over the projection years.

    Parameters
    ----------
    table : MortalityTable
        Mortality basis.
    sex : np.ndarray
        int, shape (n_contracts,): ``SEX_MALE`` (0) or ``SEX_FEMALE`` (1).
    age : np.ndarray
        float, shape (n_contracts,): age at the valuation date.
    valuation_year : int
        Calendar year of projection year 0.
    n_years : int
        Number of projection years (>= 0).
    multiplier : float, default 1.0
        Non-negative scaling applied to every rate (e.g. an experience factor).

    Returns
    -------
    np.ndarray
        float64, shape (n_contracts, n_years). Element ``[i, k]`` is the annual q
        in projection year k for integer age ``floor(age[i] + k)`` (clipped to
        0..120) and calendar year ``valuation_year + k``, times ``multiplier``,
        capped at 1.
    """
    sex_array = np.asarray(sex)
    age_array = np.asarray(age, dtype=np.float64)
    if sex_array.ndim != 1 or age_array.ndim != 1 or sex_array.shape != age_array.shape:
        raise ValueError(
            f"annual_q_matrix: sex and age must be 1-D arrays of equal length, "
            f"got shapes {sex_array.shape} and {age_array.shape}"
        )
    if not np.all(np.isfinite(age_array)):
        raise ValueError("annual_q_matrix: age contains non-finite values")
    if int(n_years) != n_years or n_years < 0:
        raise ValueError(
            f"annual_q_matrix: n_years must be a non-negative integer, got {n_years!r}"
        )
    if not (math.isfinite(multiplier) and multiplier >= 0.0):
        raise ValueError(f"annual_q_matrix: multiplier must be finite and >= 0, got {multiplier!r}")

    projection_year = np.arange(int(n_years), dtype=np.int64)  # (n_years,)
    attained_age = np.floor(age_array[:, None] + projection_year[None, :])  # (n, n_years)
    calendar_year = int(valuation_year) + projection_year  # (n_years,)
    q_matrix = table.q(sex_array[:, None], attained_age, calendar_year[None, :])
    if multiplier != 1.0:
        q_matrix = np.minimum(q_matrix * multiplier, 1.0)
    return np.ascontiguousarray(q_matrix, dtype=np.float64)


def step_death_probabilities(
    table: MortalityTable,
    sex: np.ndarray,
    age: np.ndarray,
    valuation_year: int,
    n_steps: int,
    steps_per_year: int,
    multiplier: float = 1.0,
    fractional_age: str = "udd",
) -> np.ndarray:
    """Probability of death within each time step of a life alive at the step's start.

    Step ``t`` (0-based) runs from attained age ``age + t / m`` to ``age + (t + 1) / m``
    (``m = steps_per_year``) in calendar year ``valuation_year + t // m``. Within a year of
    age ``x`` the table's annual rate ``q_x`` (of that calendar year, times ``multiplier``,
    capped at 1) is spread by the fractional-age assumption (Dickson, Hardy & Waters,
    *Actuarial Mathematics for Life Contingent Risks*, section 3.3; Bowers et al.,
    *Actuarial Mathematics*, section 3.6). For a piece of the step from ``x + a`` to
    ``x + b`` (``0 <= a < b <= 1``) the probability of surviving it is

    * ``"udd"``, uniform distribution of deaths: ``(1 - b q_x) / (1 - a q_x)``, since
      ``s p_x = 1 - s q_x`` for ``0 <= s <= 1``;
    * ``"constant_force"``: ``(1 - q_x) ** (b - a)``.

    A step that crosses an integer age has two pieces, one in each year of age, and
    survives both. Both assumptions give ``1 - q_x`` over a whole year of age.
    ``"floor"`` is the rule of versions up to 0.1: every step of projection year
    ``k = t // m`` takes ``1 - (1 - q) ** (1 / m)`` with ``q`` the rate of age
    ``floor(age + k)``, as :func:`annual_q_matrix` gives it.

    Parameters
    ----------
    table : MortalityTable
        Mortality basis.
    sex : np.ndarray
        int, shape (n,): ``SEX_MALE`` (0) or ``SEX_FEMALE`` (1).
    age : np.ndarray
        float, shape (n,): age at the valuation date (fractional ages allowed).
    valuation_year : int
        Calendar year of projection year 0.
    n_steps : int
        Number of steps (>= 0).
    steps_per_year : int
        Steps a year (>= 1).
    multiplier : float, default 1.0
        Scales every annual rate, capped at 1, before the fractional-age assumption.
    fractional_age : {"udd", "constant_force", "floor"}

    Returns
    -------
    np.ndarray
        float64, shape (n, n_steps): ``[i, t]`` the probability that life ``i``, alive at
        the start of step ``t``, dies within it. Ages above 120 take the age-120 rate.
    """
    if fractional_age not in FRACTIONAL_AGE_ASSUMPTIONS:
        expected = ", ".join(repr(k) for k in FRACTIONAL_AGE_ASSUMPTIONS)
        raise ValueError(
            f"unknown mortality.fractional_age {fractional_age!r}; expected one of {expected}"
        )
    m = int(steps_per_year)
    if m < 1 or m != steps_per_year:
        raise ValueError(f"step_death_probabilities: steps_per_year must be >= 1, got {m!r}")
    if int(n_steps) != n_steps or n_steps < 0:
        raise ValueError(
            f"step_death_probabilities: n_steps must be a non-negative integer, got {n_steps!r}"
        )
    n_steps = int(n_steps)
    n_years = -(-n_steps // m)
    step = np.arange(n_steps, dtype=np.int64)
    year = step // m  # projection year of each step (a step never straddles two)
    if fractional_age == "floor":
        q_year = annual_q_matrix(table, sex, age, valuation_year, n_years, multiplier)
        per_step = 1.0 - (1.0 - q_year) ** (1.0 / m)
        return np.ascontiguousarray(per_step[:, year])
    sex_array = np.asarray(sex)
    age_array = np.asarray(age, dtype=np.float64)
    if sex_array.ndim != 1 or age_array.shape != sex_array.shape:
        raise ValueError(
            f"step_death_probabilities: sex and age must be 1-D arrays of equal length, "
            f"got shapes {sex_array.shape} and {age_array.shape}"
        )
    if not np.all(np.isfinite(age_array)):
        raise ValueError("step_death_probabilities: age contains non-finite values")
    if not (math.isfinite(multiplier) and multiplier >= 0.0):
        raise ValueError(
            f"step_death_probabilities: multiplier must be finite and >= 0, got {multiplier!r}"
        )
    # the rate of every (sex, integer age, projection year) the steps can need
    grid = table.q(
        np.array([SEX_MALE, SEX_FEMALE])[:, None, None],
        np.arange(N_AGES)[None, :, None],
        (int(valuation_year) + np.arange(n_years))[None, None, :],
    )  # (2, N_AGES, n_years)
    if multiplier != 1.0:
        grid = np.minimum(grid * multiplier, 1.0)
    sex_index = _as_sex_index(sex_array)
    out = np.empty((age_array.size, n_steps))
    rows = max(1, _BLOCK_ELEMENTS // max(n_steps, 1))  # bounds the temporaries' memory
    for lo in range(0, age_array.size, rows):
        hi = min(lo + rows, age_array.size)
        out[lo:hi] = _fractional_step_deaths(
            grid, sex_index[lo:hi], age_array[lo:hi], step, m, fractional_age
        )
    return out


#: Contract-steps computed at once by :func:`step_death_probabilities` (8 MB a temporary).
_BLOCK_ELEMENTS = 2**20


def _fractional_step_deaths(
    grid: np.ndarray,
    sex_index: np.ndarray,
    age: np.ndarray,
    step: np.ndarray,
    m: int,
    fractional_age: str,
) -> np.ndarray:
    """The ``"udd"`` / ``"constant_force"`` step probabilities of
    :func:`step_death_probabilities` for a block of lives.

    Step ``t = k m + r`` runs from age ``x + k + f + r / m`` to ``x + k + f + (r + 1) / m``
    (``x`` the integer and ``f`` the fractional part of the age at the valuation date), so
    where it starts and ends within its years of age depends on ``r`` and ``f`` only: the
    pieces are worked out once for the ``m`` steps of a year and the rates of projection
    year ``k`` applied to them.

    Parameters
    ----------
    grid : ndarray(float64, (2, N_AGES, n_years))
        Annual rate of each sex, integer age and projection year (multiplier applied).
    sex_index : ndarray(int64, (n,))
    age : ndarray(float64, (n,))
        Ages at the valuation date.
    step : ndarray(int64, (n_steps,))
        0, 1, ..., n_steps - 1.

    Returns
    -------
    ndarray(float64, (n, n_steps))
    """
    n_years = grid.shape[2]
    whole = np.floor(age)
    fraction = _on_birthday(age - whole)  # in [0, 1]; 1 is the next birthday
    whole, fraction = whole + np.floor(fraction), fraction - np.floor(fraction)
    r = np.arange(m)
    start = _on_birthday(fraction[:, None] + r / m)  # (n, m), in [0, 2)
    end = _on_birthday(fraction[:, None] + (r + 1) / m)
    birthdays = np.floor(start)  # passed since the valuation date's age year, this year
    crosses = np.floor(end) > birthdays  # the step reaches the next integer age
    lo = start - birthdays  # where the step starts within its first year of age
    hi = np.where(crosses, 1.0, end - birthdays)  # where it ends within it
    spill = np.where(crosses, end - birthdays - 1.0, 0.0)  # its length in the next year
    k = np.arange(n_years)[None, :, None]
    first_age = whole[:, None, None] + k + birthdays[:, None, :]  # (n, n_years, m)
    rows = (sex_index[:, None, None] * N_AGES) * n_years + k  # (n, n_years, 1)
    flat = grid.reshape(-1)
    q_first = flat.take(rows + np.clip(first_age, 0, MAX_AGE).astype(np.int64) * n_years)
    q_next = flat.take(rows + np.clip(first_age + 1, 0, MAX_AGE).astype(np.int64) * n_years)
    lo, width, spill = lo[:, None, :], (hi - lo)[:, None, :], spill[:, None, :]
    if fractional_age == "udd":
        # 1 - (1 - hi q) / (1 - lo q) = (hi - lo) q / (1 - lo q); 1 - lo q > 0 as lo < 1
        dead_first = width * q_first / (1.0 - lo * q_first)
        dead_next = spill * q_next
    else:
        dead_first = _constant_force_deaths(q_first, width)
        dead_next = _constant_force_deaths(q_next, spill)
    dead = dead_first + dead_next - dead_first * dead_next
    return dead.reshape(age.shape[0], n_years * m)[:, : step.shape[0]]


#: An attained age this close to a whole number (in years, about 0.03 seconds) is taken to
#: be on that birthday, so that rounding never puts a step's end a hair into the next year
#: of age (where a rate of 1 under a constant force would end every life at once).
BIRTHDAY_TOLERANCE = 1e-9


def _on_birthday(attained: np.ndarray) -> np.ndarray:
    """``attained`` with values within :data:`BIRTHDAY_TOLERANCE` of a whole number moved
    onto it."""
    whole = np.round(attained)
    return np.where(np.abs(attained - whole) < BIRTHDAY_TOLERANCE, whole, attained)


def _constant_force_deaths(q: np.ndarray, length: np.ndarray) -> np.ndarray:
    """``1 - (1 - q) ** length`` (0 for a zero length, 1 for ``q = 1`` and a positive one)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        dead = -np.expm1(length * np.log1p(-q))
    return np.where(length > 0.0, np.where(q >= 1.0, 1.0, dead), 0.0)


# --------------------------------------------------------------------------- helpers


def _as_sex_index(sex) -> np.ndarray:
    """Validate sex codes and return them as an int64 array (any shape)."""
    sex_array = np.asarray(sex)
    if sex_array.dtype.kind == "f":
        if not np.all(sex_array == np.round(sex_array)):
            raise ValueError("mortality: sex codes must be integers 0 (male) or 1 (female)")
    elif sex_array.dtype.kind not in "iub":
        raise ValueError(
            f"mortality: sex codes must be integers 0 or 1, got dtype {sex_array.dtype}"
        )
    sex_index = sex_array.astype(np.int64)
    if np.any((sex_index != SEX_MALE) & (sex_index != SEX_FEMALE)):
        raise ValueError("mortality: sex codes must be 0 (male) or 1 (female)")
    return sex_index


def _as_age_index(age) -> np.ndarray:
    """Floor ages and clip them to 0..120, returning an int64 array (any shape)."""
    age_array = np.asarray(age, dtype=np.float64)
    if not np.all(np.isfinite(age_array)):
        raise ValueError("mortality: ages must be finite")
    return np.clip(np.floor(age_array), 0, MAX_AGE).astype(np.int64)


def _improvement_key(improvement: str) -> str:
    """Canonical improvement scale key ('G2' or 'none')."""
    if isinstance(improvement, str):
        for key in (*_SOA_IMPROVEMENT_SCALES, _NO_IMPROVEMENT):
            if improvement.strip().lower() == key.lower():
                return key
    expected = ", ".join(repr(k) for k in (*_SOA_IMPROVEMENT_SCALES, _NO_IMPROVEMENT))
    raise ValueError(
        f"unknown mortality improvement scale {improvement!r}; expected one of {expected}"
    )


def _builtin_table_key(table) -> str | None:
    """Canonical built-in table key, or None if ``table`` is not a built-in name."""
    if isinstance(table, str):
        for key in _SOA_BASE_TABLES:
            if table.strip().lower() == key.lower():
                return key
    return None


def _csv_path_or_raise(table) -> Path:
    """Interpret ``table`` as a CSV path, raising ValueError for unknown names or missing files."""
    if isinstance(table, os.PathLike):
        path = Path(table)
    elif isinstance(table, str):
        looks_like_path = table.lower().endswith(".csv") or "/" in table or os.sep in table
        if not looks_like_path:
            expected = ", ".join(repr(k) for k in _SOA_BASE_TABLES)
            raise ValueError(
                f"unknown mortality table {table!r}; "
                f"expected one of {expected} or a path to a CSV file"
            )
        path = Path(table)
    else:
        raise TypeError(f"mortality table must be a name or a CSV path, got {type(table).__name__}")
    if not path.is_file():
        raise ValueError(f"mortality CSV file not found: {path}")
    return path


@functools.lru_cache(maxsize=32)
def _load_builtin_table(table_key: str, improvement_key: str) -> MortalityTable:
    """Build (once) the MortalityTable for a built-in table and improvement scale."""
    male_id, female_id, base_year, table_name = _SOA_BASE_TABLES[table_key]
    q_base = np.stack(
        [
            _fill_to_full_age_range(*_read_soa_rates(male_id), fill_above=1.0),
            _fill_to_full_age_range(*_read_soa_rates(female_id), fill_above=1.0),
        ]
    )
    improvement_rates, improvement_name = _improvement_rates(improvement_key)
    name = table_name + (f" + {improvement_name}" if improvement_name else "")
    return MortalityTable(
        name=name, q_base=q_base, improvement=improvement_rates, base_year=base_year
    )


def _improvement_rates(improvement_key: str) -> tuple[np.ndarray, str]:
    """Improvement rates of shape (2, 121) and the scale's name ('' for none)."""
    if improvement_key == _NO_IMPROVEMENT:
        return np.zeros((N_SEXES, N_AGES)), ""
    male_id, female_id, scale_name = _SOA_IMPROVEMENT_SCALES[improvement_key]
    rates = np.stack(
        [
            _fill_to_full_age_range(*_read_soa_rates(male_id), fill_above=0.0),
            _fill_to_full_age_range(*_read_soa_rates(female_id), fill_above=0.0),
        ]
    )
    return rates, scale_name


@functools.lru_cache(maxsize=32)
def _read_soa_rates(table_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Read a one-dimensional (aggregate) SOA XTbML table shipped with pymort.

    Parameters
    ----------
    table_id : int
        SOA table identity, e.g. 2581 for ``t2581.xml``.

    Returns
    -------
    ages : np.ndarray
        int64, shape (n,): consecutive ages covered by the table.
    rates : np.ndarray
        float64, shape (n,): the table's values for those ages.
    """
    xml_resource = importlib.resources.files("pymort") / "table_xml" / f"t{table_id}.xml"
    source = f"SOA table {table_id} ({xml_resource})"
    try:
        with xml_resource.open("rb") as xml_file:
            root = ElementTree.parse(xml_file).getroot()
    except (OSError, ElementTree.ParseError) as error:
        raise ValueError(f"{source}: cannot read XML: {error}") from None

    tables = root.findall("Table")
    if len(tables) != 1:
        raise ValueError(f"{source}: expected one <Table> (aggregate table), found {len(tables)}")
    scaling_factor = tables[0].findtext("MetaData/ScalingFactor", default="0").strip() or "0"
    if float(scaling_factor) != 0.0:
        raise ValueError(f"{source}: unsupported ScalingFactor {scaling_factor}")
    axes = tables[0].findall("Values/Axis")
    if len(axes) != 1:
        raise ValueError(f"{source}: expected one <Axis> (1-D table), found {len(axes)}")
    entries = axes[0].findall("Y")
    if not entries:
        raise ValueError(f"{source}: table has no <Y> values")
    ages = np.array([int(entry.get("t")) for entry in entries], dtype=np.int64)
    rates = np.array([float(entry.text) for entry in entries], dtype=np.float64)
    if np.any(np.diff(ages) != 1):
        raise ValueError(f"{source}: ages are not consecutive integers")
    ages.flags.writeable = False
    rates.flags.writeable = False
    return ages, rates


def _fill_to_full_age_range(ages: np.ndarray, rates: np.ndarray, fill_above: float) -> np.ndarray:
    """Place rates on the 0..120 age grid.

    Parameters
    ----------
    ages : np.ndarray
        int, shape (n,): consecutive ages within 0..120.
    rates : np.ndarray
        float, shape (n,): rates for ``ages``.
    fill_above : float
        Value used for grid ages above ``ages[-1]`` (1.0 for q, 0.0 for improvement).

    Returns
    -------
    np.ndarray
        float64, shape (121,): rates by age; ages below ``ages[0]`` take ``rates[0]``.
    """
    first_age, last_age = int(ages[0]), int(ages[-1])
    full = np.empty(N_AGES, dtype=np.float64)
    full[:first_age] = rates[0]
    full[first_age : last_age + 1] = rates
    full[last_age + 1 :] = fill_above
    return full


def _rows(mask: np.ndarray, limit: int = 10) -> str:
    """1-based data rows where ``mask`` is true, as text: every row, or the first ``limit``
    and how many more."""
    rows = [str(r + 1) for r in np.flatnonzero(mask)]
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return ", ".join(rows[:limit]) + more


def _read_csv_table(path: Path) -> tuple[np.ndarray, tuple[int, int]]:
    """Read a user mortality CSV (columns age,male,female).

    Returns
    -------
    q : np.ndarray
        float64, shape (2, 121): annual q by [sex, age]; ages below the first take the
        first rate, ages above the last take 1.
    covered_ages : (int, int)
        The first age, and the last age (120 when both last rates are 1).

    Raises
    ------
    ValueError
        One line naming the file, the column and every bad data row; never the file's
        content.
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ValueError(f"mortality CSV {path}: cannot read file: {error.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ValueError(
            f"mortality CSV {path}: not UTF-8 text (byte 0x{data[error.start]:02x} on line "
            f"{line}); save the file as UTF-8"
        ) from None
    try:
        frame = pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""])
    except (ValueError, pd.errors.ParserError) as error:
        first_line = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        raise ValueError(f"mortality CSV {path}: cannot read file: {first_line}") from None
    frame.columns = [str(column).strip().lower() for column in frame.columns]
    missing = [column for column in _CSV_COLUMNS if column not in frame.columns]
    if missing:
        raise ValueError(
            f"mortality CSV {path}: missing column(s) {', '.join(missing)}; "
            f"expected comma-separated columns {','.join(_CSV_COLUMNS)}"
        )
    if frame.empty:
        raise ValueError(f"mortality CSV {path}: no data rows")

    numeric = frame[list(_CSV_COLUMNS)].apply(pd.to_numeric, errors="coerce")
    problems = []
    for column in _CSV_COLUMNS:
        bad = ~np.isfinite(numeric[column].to_numpy(dtype=np.float64))
        if bad.any():
            problems.append(
                f"column {column} is blank or not a finite number on row(s) {_rows(bad)}"
            )
    age_values = numeric["age"].to_numpy(dtype=np.float64)
    fractional = np.isfinite(age_values) & (age_values != np.round(age_values))
    if fractional.any():
        problems.append(f"ages must be whole numbers (row(s) {_rows(fractional)})")
    for column in ("male", "female"):
        rates = numeric[column].to_numpy(dtype=np.float64)
        out_of_range = (rates < 0.0) | (rates > 1.0)
        if np.any(out_of_range):
            problems.append(f"column {column}: q outside [0, 1] on row(s) {_rows(out_of_range)}")
    if problems:
        raise ValueError(f"mortality CSV {path}: " + "; ".join(problems))
    ages = age_values.astype(np.int64)
    steps = np.diff(ages) != 1
    if np.any(steps):
        raise ValueError(
            f"mortality CSV {path}: ages must be consecutive increasing integers "
            f"(row(s) {_rows(np.concatenate([[False], steps]))})"
        )
    if ages[0] < 0 or ages[-1] > MAX_AGE:
        raise ValueError(
            f"mortality CSV {path}: ages {ages[0]}..{ages[-1]} "
            f"outside the supported range 0..{MAX_AGE}"
        )
    q_by_sex = []
    closes = True
    for column in ("male", "female"):
        rates = numeric[column].to_numpy(dtype=np.float64)
        closes = closes and rates[-1] == 1.0
        q_by_sex.append(_fill_to_full_age_range(ages, rates, fill_above=1.0))
    covered = (int(ages[0]), MAX_AGE if closes else int(ages[-1]))
    return np.stack(q_by_sex), covered
