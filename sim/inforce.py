"""Inforce model points: schema, loading, validation and synthetic portfolios.

Columns (CSV or Parquet); blank optional cells take the defaults below.

======================  ========  =====================================================
column                  required  meaning / default
======================  ========  =====================================================
contract_id             yes       unique integer
owner_age               yes       age now (years, may be fractional), 0-115
owner_sex               yes       M / F (also male / female)
owner_type              no        natural | non_natural | grantor_trust (natural)
spouse_age, spouse_sex  no        second life (blank = none); used from the spousal issue on
beneficiary             no        spouse | natural | non_natural | estate (estate)
spousal_protection      no        Spousal Protection Benefit Rider elected (false)
contract_value          yes       Contract Value now, > 0
fixed_value             no        part of the CV in the Standard Fixed Account (0)
fixed_guarantee_years   no        1, 5 or 7 (1)
allocation              yes       an allocation model of ``[allocations]`` or a fund name
premiums                no        purchase payments to date (contract_value)
contract_year           no        current contract year, 1-based (rider_years_elapsed + 1)
benefit_base            no        Benefit Base now (contract_value)
death_benefit_base      no        ROP or MAV guarantee now (premiums; contract_value for MAV)
rider_period            yes       Rider Period N, 7-20 years
rider_years_elapsed     no        whole rider years completed, 0 <= k < N (0)
guarantee_option        no        Guarantee Option (1)
ab_factor               no        AB Factor (from the table for option and period)
rider_fee_rate          no        Rider Fee Percentage (rider.fee_rate)
months_to_anniversary   no        months to the next contract anniversary, 1-12 (12)
payment_amount          no        one further purchase payment (0)
payment_month           no        months from now when it is paid, >= 1
annuitant_age, _sex     no        a separate annuitant of a natural owner (blank = the owner)
contingent_beneficiary  no        natural | non_natural | estate | none (none)
fixed_rate              no        current fixed account guaranteed rate (product.fixed_rate)
fixed_months_remaining  no        months left in the fixed guarantee period (to the next
                                  anniversary + 12 x (fixed_guarantee_years - 1))
policies                no        identical contracts the row stands for, a positive
                                  real number (1): every figure of the row is multiplied
======================  ========  =====================================================
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from .config import MONEY_MARKET_INDEX, Config, ConfigError, decode_utf8, read_file_bytes
from .product.rider import AccumulationBenefitRider

__all__ = [
    "COLUMNS",
    "REQUIRED",
    "read_inforce",
    "validate_inforce",
    "load_inforce",
    "synthetic_inforce",
    "allocation_weights",
]

REQUIRED = ["contract_id", "owner_age", "owner_sex", "contract_value", "allocation", "rider_period"]
OPTIONAL = [
    "owner_type",
    "spouse_age",
    "spouse_sex",
    "beneficiary",
    "spousal_protection",
    "fixed_value",
    "fixed_guarantee_years",
    "premiums",
    "contract_year",
    "benefit_base",
    "death_benefit_base",
    "rider_years_elapsed",
    "guarantee_option",
    "ab_factor",
    "rider_fee_rate",
    "months_to_anniversary",
    "payment_amount",
    "payment_month",
    "annuitant_age",
    "annuitant_sex",
    "contingent_beneficiary",
    "fixed_rate",
    "fixed_months_remaining",
    "policies",
]
COLUMNS = REQUIRED + OPTIONAL
OWNER_TYPES = {"natural", "non_natural", "grantor_trust"}
BENEFICIARIES = {"spouse", "natural", "non_natural", "estate"}
CONTINGENTS = {"natural", "non_natural", "estate", "none"}
SEXES = {"m": 0, "male": 0, "f": 1, "female": 1}
MAX_LINES_PER_RULE = 20
#: Plausible upper bound of every amount column (contract_value, premiums, benefit_base,
#: death_benefit_base, fixed_value, payment_amount), in the currency of the block.
MAX_AMOUNT = 1e9
#: Plausible upper bound of ``policies``, the contracts one row (a model point) stands for.
MAX_POLICIES = 1e9
#: Contract ids are whole numbers of at most this size (exact in a float64).
MAX_CONTRACT_ID = 2**53
MAX_QUOTED = 24  # characters of a bad cell quoted in a message


def read_inforce(path: str | Path) -> pd.DataFrame:
    """Read an inforce file (``.csv`` or ``.parquet``) without validating it.

    A CSV must be UTF-8 and comma-separated; only an empty cell is blank (the text ``nan``
    is a bad number, not a blank). Errors name the file, never quote its content.
    """
    path = Path(path)
    data = read_file_bytes(path, "inforce file")
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            return pd.read_parquet(io.BytesIO(data))
        except Exception as err:  # noqa: BLE001 - any reader failure is a bad file
            reason = str(err).splitlines()[0][:200] if str(err) else type(err).__name__
            raise ConfigError(
                [f"{path}: cannot read inforce file: not a readable Parquet file ({reason})"]
            ) from None
    text = decode_utf8(data, str(path))
    header = text.split("\n", 1)[0]
    try:
        frame = pd.read_csv(
            io.StringIO(text), skipinitialspace=True, keep_default_na=False, na_values=[""]
        )
    except Exception as err:  # noqa: BLE001 - any reader failure is a bad file
        reason = str(err).splitlines()[0][:200] if str(err) else type(err).__name__
        raise ConfigError([f"{path}: cannot read inforce file as CSV: {reason}"]) from None
    if frame.shape[1] == 1 and "," not in header:
        for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars")):
            if sep in header:
                raise ConfigError(
                    [
                        f"{path}: the columns are separated by {name}; an inforce CSV "
                        "is comma-separated: save it with commas"
                    ]
                )
    return frame


def allocation_weights(config: Config, name: str) -> dict[str, float] | None:
    """Fund weights of an allocation model or of a single fund; None if unknown."""
    if name in config.allocations:
        return dict(config.allocations[name])
    if name in {f.name for f in config.market.funds}:
        return {name: 1.0}
    return None


def _quote(value) -> str:
    """A cell for a message: at most MAX_QUOTED characters, in single quotes."""
    text = str(value)
    return repr(text if len(text) <= MAX_QUOTED else text[:MAX_QUOTED] + "...")


def _num(x: float) -> str:
    """A number for a message (never a numpy repr)."""
    return f"{float(x):.10g}"


class _Problems:
    def __init__(self, source: str, ids: np.ndarray):
        self.source, self.lines = source, []
        self.ids = [_quote(i)[1:-1] for i in ids]
        self.reported: set[tuple[int, str]] = set()  # (row, column): one problem per cell

    def add(self, mask, column: str, what):
        """Report every row where ``mask`` is true (at most MAX_LINES_PER_RULE lines); a
        cell already reported is not reported again."""
        mask = np.asarray(mask, dtype=bool).copy()
        for r, c in self.reported:
            if c == column and r < mask.size:
                mask[r] = False
        rows = np.flatnonzero(mask)
        self.reported.update((int(r), column) for r in rows)
        for r in rows[:MAX_LINES_PER_RULE]:
            text = what(r) if callable(what) else what
            self.lines.append(
                f"{self.source} row {r + 1} (contract_id {self.ids[r]}): {column}: {text}"
            )
        if rows.size > MAX_LINES_PER_RULE:
            self.lines.append(
                f"{self.source}: {column}: {rows.size - MAX_LINES_PER_RULE} more rows with the same problem"
            )


def _numeric(frame: pd.DataFrame, col: str, default, problems: _Problems) -> np.ndarray:
    if col not in frame:
        return np.full(len(frame), default, dtype=float)
    raw = frame[col]
    if raw.dtype == bool:
        raw = raw.astype(float)
    vals = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    text = raw.astype(str).str.strip()
    given = raw.notna().to_numpy() & (text != "").to_numpy()
    literal_nan = given & text.str.lower().isin(["nan", "+nan", "-nan"]).to_numpy()
    problems.add(
        np.isinf(vals) | literal_nan,
        col,
        lambda r: f"{_quote(text.iloc[r])} is not a finite number",
    )
    problems.add(np.isnan(vals) & given, col, lambda r: f"{_quote(text.iloc[r])} is not a number")
    return np.where(np.isfinite(vals), vals, default)


def _text(frame: pd.DataFrame, col: str, default: str) -> np.ndarray:
    if col not in frame:
        return np.full(len(frame), default, dtype=object)
    s = frame[col].astype("string").str.strip().str.lower()
    return s.fillna(default).replace("", default).to_numpy(dtype=object)


def _sex_text(frame: pd.DataFrame, col: str) -> np.ndarray:
    """Lower-case sex text; the integer codes of a validated frame (0 = M, 1 = F, -1 = no
    such life) read back as ``m``, ``f`` and blank, so a validated frame validates again."""
    if col in frame and pd.api.types.is_integer_dtype(frame[col]):
        codes = {0: "m", 1: "f", -1: ""}
        return np.array([codes.get(int(v), str(v)) for v in frame[col]], dtype=object)
    return _text(frame, col, "")


def _optional_sex(
    frame: pd.DataFrame, life: str, age: np.ndarray, problems: _Problems
) -> np.ndarray:
    """Sex codes (0/1, -1 = no such life) of an optional second life ``{life}_sex``, which
    must be given exactly where ``{life}_age`` is."""
    text = _sex_text(frame, f"{life}_sex")
    sex = np.array([SEXES.get(x, -1) for x in text], dtype=np.int64)
    problems.add((text != "") & (sex < 0), f"{life}_sex", lambda r: f"'{text[r]}' is not M or F")
    problems.add(
        np.isnan(age) != (sex < 0),
        f"{life}_age",
        f"{life}_age and {life}_sex must both be given or both blank",
    )
    return sex


def _whole(values: np.ndarray) -> np.ndarray:
    return np.isnan(values) | (values != np.round(values))


def validate_inforce(
    frame: pd.DataFrame, config: Config, rider: AccumulationBenefitRider, source: str = "inforce"
) -> tuple[pd.DataFrame, list[str]]:
    """Check every row and fill defaults.

    Returns
    -------
    clean : DataFrame
        One row per contract, every column of :data:`COLUMNS` filled, sexes coded 0/1.
    problems : list of str
        One line per problem naming the file, the row (1-based data row), the contract and
        the column. Empty when the frame is valid.
    """
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c).strip() for c in frame.columns]
    n = len(frame)
    head = []
    missing = [c for c in REQUIRED if c not in frame]
    if missing:
        head.append(f"{source}: missing required column(s) {', '.join(missing)}")
    unknown = [c for c in frame.columns if c not in COLUMNS]
    if len(unknown) == len(frame.columns):
        # nothing in the header is an inforce column: this is likely not an inforce file,
        # so its first line (which may be anything) is not quoted
        head = [
            f"{source}: no inforce column in the header row ({len(unknown)} column(s) found); "
            f"the first row must name the columns, at least {', '.join(REQUIRED)}"
        ]
    elif unknown:
        head.append(
            f"{source}: unknown column(s) {', '.join(_quote(c)[1:-1] for c in unknown[:20])}"
            + (f" and {len(unknown) - 20} more" if len(unknown) > 20 else "")
        )
    if n == 0:
        head.append(f"{source}: no contracts")
    if head:
        return frame, head

    p = _Problems(source, frame["contract_id"].to_numpy())
    ids_raw = _numeric(frame, "contract_id", np.nan, p)
    p.add(
        _whole(ids_raw) | (np.abs(ids_raw) > MAX_CONTRACT_ID),
        "contract_id",
        f"must be a whole number of at most {MAX_CONTRACT_ID:,} in size",
    )
    dup = pd.Series(ids_raw).duplicated(keep="first").to_numpy() & ~np.isnan(ids_raw)
    p.add(dup, "contract_id", "duplicate")

    out = pd.DataFrame({"contract_id": np.nan_to_num(ids_raw).astype(np.int64)})
    num = lambda c, d=np.nan: _numeric(frame, c, d, p)  # noqa: E731

    age = num("owner_age")
    p.add(
        np.isnan(age) | (age < 0) | (age > 115),
        "owner_age",
        lambda r: f"{_num(age[r])} not in 0-115",
    )
    sex_text = _sex_text(frame, "owner_sex")
    sex = np.array([SEXES.get(s, -1) for s in sex_text], dtype=np.int64)
    p.add(sex < 0, "owner_sex", lambda r: f"'{sex_text[r]}' is not M or F")
    owner_type = _text(frame, "owner_type", "natural")
    p.add(
        ~np.isin(owner_type, list(OWNER_TYPES)),
        "owner_type",
        lambda r: f"'{owner_type[r]}' not one of {', '.join(sorted(OWNER_TYPES))}",
    )
    spouse_age = num("spouse_age")
    p.add(
        (spouse_age < 0) | (spouse_age > 115),
        "spouse_age",
        lambda r: f"{_num(spouse_age[r])} not in 0-115",
    )
    spouse_sex = _optional_sex(frame, "spouse", spouse_age, p)
    beneficiary = _text(frame, "beneficiary", "estate")
    p.add(
        ~np.isin(beneficiary, list(BENEFICIARIES)),
        "beneficiary",
        lambda r: f"'{beneficiary[r]}' not one of {', '.join(sorted(BENEFICIARIES))}",
    )
    sp_text = _text(frame, "spousal_protection", "false")
    truth = {
        "true": True,
        "1": True,
        "yes": True,
        "1.0": True,
        "false": False,
        "0": False,
        "no": False,
        "0.0": False,
    }
    p.add(
        ~np.isin(sp_text, list(truth)),
        "spousal_protection",
        lambda r: f"'{sp_text[r]}' is not true/false",
    )
    spousal = np.array([truth.get(s, False) for s in sp_text])
    p.add(
        spousal & np.isnan(spouse_age),
        "spousal_protection",
        "needs a spouse (spouse_age, spouse_sex)",
    )
    p.add(
        spousal & (beneficiary != "spouse"),
        "spousal_protection",
        "the co-annuitant spouse must be the sole primary beneficiary (beneficiary = spouse) [004 I]",
    )
    p.add(
        spousal & (owner_type != "natural"),
        "spousal_protection",
        "needs a natural-person owner [004 I]",
    )
    p.add(
        (beneficiary == "spouse") & np.isnan(spouse_age),
        "beneficiary",
        "'spouse' needs spouse_age and spouse_sex",
    )
    contingent = _text(frame, "contingent_beneficiary", "none")
    p.add(
        ~np.isin(contingent, list(CONTINGENTS)),
        "contingent_beneficiary",
        lambda r: f"'{contingent[r]}' not one of {', '.join(sorted(CONTINGENTS))}",
    )
    ann_age = num("annuitant_age")
    p.add(
        (ann_age < 0) | (ann_age > 115),
        "annuitant_age",
        lambda r: f"{_num(ann_age[r])} not in 0-115",
    )
    ann_sex = _optional_sex(frame, "annuitant", ann_age, p)
    p.add(
        ~np.isnan(ann_age) & (owner_type != "natural"),
        "annuitant_age",
        "a non-natural owner's annuitant is the life in owner_age / owner_sex; leave annuitant_* blank",
    )

    cv = num("contract_value")
    p.add(
        np.isnan(cv) | (cv <= 0) | (cv > MAX_AMOUNT),
        "contract_value",
        lambda r: f"{_num(cv[r])} must be > 0 and <= {MAX_AMOUNT:g}",
    )
    fixed = num("fixed_value", 0.0)
    p.add(
        (fixed < 0) | (fixed > cv),
        "fixed_value",
        lambda r: f"{_num(fixed[r])} not in 0-contract_value",
    )
    fgy = num("fixed_guarantee_years", 1.0)
    p.add(
        ~np.isin(fgy, [1, 5, 7]), "fixed_guarantee_years", lambda r: f"{_num(fgy[r])} not 1, 5 or 7"
    )
    fixed_rate = num("fixed_rate", config.product.fixed_rate)
    p.add(
        (fixed_rate < 0) | (fixed_rate > 0.2),
        "fixed_rate",
        lambda r: f"{_num(fixed_rate[r])} not in 0-0.2",
    )
    fixed_months = num("fixed_months_remaining")
    premiums = num("premiums")
    premiums = np.where(np.isnan(premiums), cv, premiums)
    p.add(
        (premiums < 0) | (premiums > MAX_AMOUNT),
        "premiums",
        lambda r: f"{_num(premiums[r])} must be >= 0 and <= {MAX_AMOUNT:g}",
    )

    period = num("rider_period")
    p.add(
        np.isnan(period) | _whole(period) | (period < 7) | (period > 20),
        "rider_period",
        lambda r: f"{_num(period[r])} not a whole number of years in 7-20",
    )
    elapsed = num("rider_years_elapsed", 0.0)
    p.add(
        _whole(elapsed) | (elapsed < 0) | (elapsed >= np.nan_to_num(period, nan=99)),
        "rider_years_elapsed",
        lambda r: f"{_num(elapsed[r])} must be a whole number in 0-(rider_period - 1)",
    )
    cy = num("contract_year")
    cy = np.where(np.isnan(cy), elapsed + 1, cy)
    p.add(
        _whole(cy) | (cy < elapsed + 1) | (cy > 100),
        "contract_year",
        lambda r: f"{_num(cy[r])} must be a whole number >= rider_years_elapsed + 1 and <= 100",
    )
    months = num("months_to_anniversary", 12.0)
    p.add(
        _whole(months) | (months < 1) | (months > 12),
        "months_to_anniversary",
        lambda r: f"{_num(months[r])} not a whole number in 1-12",
    )
    spy = config.run.steps_per_year
    p.add(
        (months * spy) % 12 != 0 if spy % 12 else np.zeros(n, bool),
        "months_to_anniversary",
        lambda r: f"{_num(months[r])} months is not a whole number of steps at {spy} steps a year",
    )
    # the current guarantee period started on the last anniversary unless stated
    fixed_months = np.where(
        np.isnan(fixed_months), months + 12 * (np.nan_to_num(fgy, nan=1) - 1), fixed_months
    )
    p.add(
        _whole(fixed_months) | (fixed_months < 1) | (fixed_months > 84),
        "fixed_months_remaining",
        lambda r: f"{_num(fixed_months[r])} not a whole number of months in 1-84",
    )
    bb = num("benefit_base")
    bb = np.where(np.isnan(bb), cv, bb)
    p.add(
        (bb < 0) | (bb > MAX_AMOUNT),
        "benefit_base",
        lambda r: f"{_num(bb[r])} must be >= 0 and <= {MAX_AMOUNT:g}",
    )
    option = num("guarantee_option", 1.0)
    p.add(
        _whole(option) | (option < 1) | (option > 100),
        "guarantee_option",
        lambda r: f"{_num(option[r])} not a whole number >= 1 and <= 100",
    )
    ab = num("ab_factor")
    from_table = np.array(
        [
            rider.ab_factors.lookup(int(g), int(k)) if not (np.isnan(g) or np.isnan(k)) else None
            for g, k in zip(option, period, strict=False)
        ],
        dtype=object,
    )
    need_table = np.isnan(ab)
    p.add(
        need_table & np.equal(from_table, None) & ~_whole(period) & ~_whole(option),
        "ab_factor",
        lambda r: (
            f"blank and the AB factor table ({rider.ab_factors.source}) has no option "
            f"{int(option[r])}, period {int(period[r])}"
        ),
    )
    ab = np.where(need_table, np.array([np.nan if v is None else v for v in from_table], float), ab)
    p.add(
        ~need_table & ((ab < 0.5) | (ab > 3.0)),
        "ab_factor",
        lambda r: f"{_num(ab[r])} not in 0.50-3.00",
    )
    fee = num("rider_fee_rate", rider.fee_rate)
    p.add((fee < 0) | (fee > 0.2), "rider_fee_rate", lambda r: f"{_num(fee[r])} not in 0-0.2")
    db_default = cv if config.product.death_benefit == "max_anniversary_value" else premiums
    dbb = num("death_benefit_base")
    dbb = np.where(np.isnan(dbb), db_default, dbb)
    p.add(
        (dbb < 0) | (dbb > MAX_AMOUNT),
        "death_benefit_base",
        lambda r: f"{_num(dbb[r])} must be >= 0 and <= {MAX_AMOUNT:g}",
    )
    pay = num("payment_amount", 0.0)
    p.add(
        (pay < 0) | (pay > MAX_AMOUNT),
        "payment_amount",
        lambda r: f"{_num(pay[r])} must be >= 0 and <= {MAX_AMOUNT:g}",
    )
    pay_month = num("payment_month", 0.0)
    p.add(
        (pay > 0) & (_whole(pay_month) | (pay_month < 1) | (pay_month > 1200)),
        "payment_month",
        lambda r: (
            f"{_num(pay_month[r])} must be a whole number of months >= 1 and <= 1200 when payment_amount > 0"
        ),
    )
    p.add(
        (pay > 0) & (spy % 12 != 0) & ((pay_month * spy) % 12 != 0),
        "payment_month",
        lambda r: (
            f"{_num(pay_month[r])} months is not a whole number of steps at {spy} steps a year"
        ),
    )

    policies = num("policies", 1.0)
    p.add(
        (policies <= 0) | (policies > MAX_POLICIES),
        "policies",
        lambda r: f"{_num(policies[r])} must be > 0 and <= {MAX_POLICIES:g}",
    )

    allocation = _text(frame, "allocation", "")
    alloc_raw = frame["allocation"].astype("string").str.strip().fillna("").to_numpy(dtype=object)
    weights = [allocation_weights(config, a) for a in alloc_raw]
    p.add(
        np.array([w is None for w in weights]),
        "allocation",
        lambda r: f"'{alloc_raw[r]}' is neither an allocation model nor a fund",
    )
    limit_msgs = [
        rider.allocation_problems(int(g), w)
        if (w is not None and not _whole(np.array([g]))[0])
        else []
        for g, w in zip(option, weights, strict=False)
    ]
    p.add(
        np.array([bool(m) for m in limit_msgs]),
        "allocation",
        lambda r: f"'{alloc_raw[r]}' breaks the investment limits: {'; '.join(limit_msgs[r])}",
    )
    del allocation

    out["owner_age"] = age
    out["owner_sex"] = sex
    out["owner_type"] = owner_type
    out["spouse_age"] = spouse_age
    out["spouse_sex"] = spouse_sex
    out["beneficiary"] = beneficiary
    out["spousal_protection"] = spousal
    out["contract_value"] = cv
    out["fixed_value"] = fixed
    out["fixed_guarantee_years"] = np.nan_to_num(fgy, nan=1).astype(np.int64)
    out["allocation"] = alloc_raw
    out["premiums"] = premiums
    out["contract_year"] = np.nan_to_num(cy, nan=1).astype(np.int64)
    out["benefit_base"] = bb
    out["death_benefit_base"] = dbb
    out["rider_period"] = np.nan_to_num(period, nan=7).astype(np.int64)
    out["rider_years_elapsed"] = np.nan_to_num(elapsed).astype(np.int64)
    out["guarantee_option"] = np.nan_to_num(option, nan=1).astype(np.int64)
    out["ab_factor"] = ab
    out["rider_fee_rate"] = fee
    out["months_to_anniversary"] = np.nan_to_num(months, nan=12).astype(np.int64)
    out["payment_amount"] = pay
    out["payment_month"] = np.nan_to_num(pay_month).astype(np.int64)
    out["annuitant_age"] = ann_age
    out["annuitant_sex"] = ann_sex
    out["contingent_beneficiary"] = contingent
    out["fixed_rate"] = fixed_rate
    out["fixed_months_remaining"] = np.nan_to_num(fixed_months).astype(np.int64)
    out["policies"] = policies
    return out, p.lines


def load_inforce(config: Config, rider: AccumulationBenefitRider | None = None) -> pd.DataFrame:
    """The config's inforce (file or synthetic), validated; raises ConfigError listing every problem."""
    rider = rider or AccumulationBenefitRider.from_config(config)
    if config.inforce.file is not None:
        path = config.resolve(config.inforce.file)
        frame, source = read_inforce(path), str(path)
    else:
        syn = config.inforce.synthetic
        frame, source = (
            synthetic_inforce(syn.contracts, syn.seed, config, rider),
            "synthetic inforce",
        )
    clean, problems = validate_inforce(frame, config, rider, source)
    if problems:
        raise ConfigError(problems)
    return clean


def synthetic_inforce(
    n_contracts: int,
    seed: int,
    config: Config | None = None,
    rider: AccumulationBenefitRider | None = None,
) -> pd.DataFrame:
    """A realistic synthetic block of ``n_contracts`` model points.

    Ages 45-80 at the rider date, both sexes, lognormal contract values (median 100,000),
    a fixed account share for a third of contracts, rider periods 7-20, guarantee options
    1-3 with an allocation that meets the option's limits, half new business and half in
    force part-way through the rider period, 60 % with a spouse (a third of those with the
    Spousal Protection rider). Without a config the guarantee options are 1-3 and the
    allocation is drawn uniformly from the models the option allows under the investment
    limits of configs/example.toml: ``conservative`` (option 1), also ``balanced``
    (option 2), also ``growth`` (option 3).
    """
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
    n = int(n_contracts)
    if config is not None:
        rider = rider or AccumulationBenefitRider.from_config(config)
        models = list(config.allocations) or [
            f.name for f in config.market.funds if f.name != MONEY_MARKET_INDEX
        ]
        options = sorted(rider.ab_factors.options)
    else:
        models, options = ["conservative", "balanced", "growth"], [1, 2, 3]
    period = rng.integers(7, 21, n)
    in_force = rng.random(n) < 0.5
    elapsed = np.where(in_force, np.floor(rng.random(n) * period), 0).astype(np.int64)
    issue_age = rng.uniform(45, 80, n)
    age = np.round(issue_age + elapsed, 1)
    sex = np.where(rng.random(n) < 0.5, "M", "F")
    cv = np.round(np.exp(rng.normal(np.log(100_000), 0.8, n)).clip(10_000, 2_000_000), 2)
    fixed = np.round(np.where(rng.random(n) < 1 / 3, cv * rng.uniform(0.05, 0.3, n), 0.0), 2)
    growth = np.exp(rng.normal(0.03 * elapsed, 0.15 * np.sqrt(elapsed)))
    bb = np.round(np.where(in_force, cv / growth, cv), 2)
    option = rng.choice(options, n)
    allocation = np.empty(n, dtype=object)
    for i in range(n):
        if config is not None:
            ok = [
                m
                for m in models
                if not rider.allocation_problems(int(option[i]), allocation_weights(config, m))
            ]
            allocation[i] = rng.choice(ok) if ok else models[0]
    if config is None:
        # the three model names, drawn from a stream of their own so that every other
        # column is the same as before; the riskier the model, the higher the Guarantee
        # Option it needs (the investment limits of configs/example.toml)
        own = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 1])))
        allowed = {1: 1, 2: 2, 3: 3}  # option -> how many of the models, safest first
        draws = own.random(n)
        for i in range(n):
            k = allowed.get(int(option[i]), len(models))
            allocation[i] = models[int(draws[i] * k)]
    has_spouse = rng.random(n) < 0.6
    spouse_age = np.where(has_spouse, np.round(age + rng.normal(-2, 4, n), 1).clip(30, 100), np.nan)
    spouse_sex = np.where(has_spouse, np.where(sex == "M", "F", "M"), "")
    return pd.DataFrame(
        {
            "contract_id": np.arange(1, n + 1),
            "owner_age": age,
            "owner_sex": sex,
            "owner_type": "natural",
            "spouse_age": spouse_age,
            "spouse_sex": spouse_sex,
            "beneficiary": np.where(has_spouse, "spouse", "natural"),
            "spousal_protection": has_spouse & (rng.random(n) < 1 / 3),
            "contract_value": cv,
            "fixed_value": fixed,
            "fixed_guarantee_years": rng.choice([1, 5, 7], n),
            "allocation": allocation,
            "premiums": bb,
            "contract_year": elapsed + 1 + rng.integers(0, 3, n) * (~in_force | (elapsed > 0)),
            "benefit_base": bb,
            "death_benefit_base": bb,
            "rider_period": period,
            "rider_years_elapsed": elapsed,
            "guarantee_option": option,
            "months_to_anniversary": np.where(in_force, rng.integers(1, 13, n), 12),
        }
    )
