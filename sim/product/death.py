"""Beneficiaries, Death of Owner, Death of Annuitant and death proceeds [002] (SPEC section 4).

Pure-Python rules of the amendatory endorsement [002]:

* (a) the Beneficiary provision: order of payment by class (Primary, then Contingent,
  then the default order spouse / surviving children / estate), equal or directed shares,
  the pro-rata division of a predeceased beneficiary's share within its class, and the
  "one non-natural beneficiary makes all non-natural" rule -- :func:`settle`;
* (b) a Grantor Trust owner is a non-natural person -- :func:`owner_is_natural`;
* (c) the options of the new Owner on the Death of Owner -- :func:`death_of_owner_options`;
* (d) the options of the Owner on the Death of Annuitant -- :func:`death_of_annuitant_options`;
* (c)/(d) "Death Proceeds": the Death Benefit within 180 days, else max(CV, Settlement
  Value) -- :func:`death_proceeds`.

The engine does not carry named persons; it maps the inforce columns ``beneficiary`` and
``contingent_beneficiary`` to the class of the new Owner through
:func:`engine_beneficiary_class`, which drives the Option D spousal continuation (see also
the Spousal Protection rider [004], which requires the spouse to be the sole Primary
Beneficiary).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "BENEFICIARY_CLASSES",
    "DEATH_CLAIM_WINDOW_DAYS",
    "ENGINE_BENEFICIARIES",
    "ENGINE_CONTINGENTS",
    "NON_NATURAL_RELATIONS",
    "RELATIONS",
    "Beneficiaries",
    "Designation",
    "Payee",
    "Person",
    "Settlement",
    "death_of_annuitant_options",
    "death_of_owner_options",
    "death_proceeds",
    "claim_proceeds",
    "claim_within_window",
    "continuation_step_up",
    "engine_beneficiary_class",
    "owner_is_natural",
    "settle",
]

#: Relations of a person to the Owner.
RELATIONS = frozenset({"spouse", "child", "other", "estate", "trust", "corporation"})
#: Relations that are always non-natural persons [002 (a), (b)].
NON_NATURAL_RELATIONS = frozenset({"estate", "trust", "corporation"})
#: Classes of the new Owner that select the Death of Owner options [002 (c) 1.-3.].
BENEFICIARY_CLASSES = ("spouse", "natural", "non_natural")
#: Values of the inforce column ``beneficiary``.
ENGINE_BENEFICIARIES = frozenset({"spouse", "natural", "non_natural", "estate"})
#: Values of the inforce column ``contingent_beneficiary``.
ENGINE_CONTINGENTS = frozenset({"natural", "non_natural", "estate", "none"})
#: Days after death within which a complete claim earns the Death Benefit [002 (c), (d)].
DEATH_CLAIM_WINDOW_DAYS = 180

OWNER_TYPES = {"natural": True, "non_natural": False, "grantor_trust": False}


@dataclass(frozen=True)
class Person:
    """A person who can own the Contract or be a Beneficiary.

    Parameters
    ----------
    name : str
        Identifies the person; :func:`settle` matches it against its ``alive`` set.
    natural : bool
        True for a natural person. Estates, trusts and corporations are non-natural
        persons [002 (a): "a corporation or other type of non-natural person"]; a
        ``relation`` of ``"estate"``, ``"trust"`` or ``"corporation"`` therefore requires
        ``natural=False``, and ``"spouse"`` or ``"child"`` requires ``natural=True``.
    relation : str
        Relation to the Owner: spouse, child, other, estate, trust or corporation.
    """

    name: str
    natural: bool = True
    relation: str = "other"

    def __post_init__(self) -> None:
        if self.relation not in RELATIONS:
            raise ValueError(
                f"relation {self.relation!r} not one of {', '.join(sorted(RELATIONS))}"
            )
        if self.relation in NON_NATURAL_RELATIONS and self.natural:
            raise ValueError(f"a {self.relation} is a non-natural person: pass natural=False")
        if self.relation in ("spouse", "child") and not self.natural:
            raise ValueError(f"a {self.relation} is a natural person: pass natural=True")


@dataclass(frozen=True)
class Designation:
    """A Beneficiary named by the Owner, with the share directed to him or her.

    Parameters
    ----------
    person : Person
    share : float or None
        Directed share (any positive weight; normalised within the class). None for
        "equal shares": "Unless you have provided directions to the contrary, the
        Beneficiaries will take equal shares" [002 (a)]. Within one class either every
        share is directed or none is.
    """

    person: Person
    share: float | None = None

    def __post_init__(self) -> None:
        if self.share is not None and not (math.isfinite(self.share) and self.share > 0.0):
            raise ValueError(
                f"share of {self.person.name!r} must be a positive number, got {self.share!r}"
            )


@dataclass(frozen=True)
class Beneficiaries:
    """The Primary and Contingent Beneficiary classes [002 (a)].

    Parameters
    ----------
    primary : tuple of Designation
        "first entitled to receive benefits ... upon the death of the sole surviving
        Owner" [002 (a)].
    contingent : tuple of Designation
        "entitled to receive benefits ... when all Primary Beneficiary(ies) predecease
        the Owner(s)" [002 (a)].
    """

    primary: tuple[Designation, ...] = ()
    contingent: tuple[Designation, ...] = ()

    def __post_init__(self) -> None:
        for label, cls in (("primary", self.primary), ("contingent", self.contingent)):
            directed = [d.share is not None for d in cls]
            if any(directed) and not all(directed):
                raise ValueError(f"{label} class: direct a share for every beneficiary or for none")
            names = [d.person.name for d in cls]
            if len(set(names)) != len(names):
                raise ValueError(f"{label} class names a beneficiary twice")


@dataclass(frozen=True)
class Payee:
    """A new Owner and the fraction of the death proceeds he, she or it takes.

    Each Beneficiary taking a share "will be treated as a separate and independent owner
    of his or her respective share" [002 (a)].
    """

    person: Person
    share: float


@dataclass(frozen=True)
class Settlement:
    """Who becomes the new Owner on the death of an Owner before the Payout Start Date.

    Parameters
    ----------
    payees : tuple of Payee
        The new Owner(s); shares sum to 1.
    beneficiary_class : str
        ``"spouse"`` when the spouse is the sole new Owner (sole surviving Owner, or sole
        Beneficiary if no surviving Owner) [002 (c) 1.]; ``"non_natural"`` when any new
        Owner is a non-natural person, which makes all of them non-natural [002 (a),
        (c) 3.]; ``"natural"`` otherwise [002 (c) 2.].
    new_owner_is_spouse : bool
        The spouse is the sole new Owner (the condition for Option D continuation).
    source : str
        ``"surviving_owner"``, ``"primary"``, ``"contingent"``, ``"default: spouse"``,
        ``"default: children"`` or ``"default: estate"``.
    """

    payees: tuple[Payee, ...]
    beneficiary_class: str
    new_owner_is_spouse: bool
    source: str


def _is_spouse(person: Person, spouse: Person | None) -> bool:
    return person.relation == "spouse" or (spouse is not None and person.name == spouse.name)


def _exists(person: Person, alive: set[str]) -> bool:
    """A natural person takes only if living; a non-natural person (estate, trust,
    corporation) does not die and is taken to exist."""
    return (not person.natural) or person.name in alive


def _class_payees(designations: tuple[Designation, ...], alive: set[str]) -> tuple[Payee, ...]:
    """Payees of one class: living beneficiaries with normalised shares.

    "If there is more than one Beneficiary in a class and one of the Beneficiaries
    predeceases the Owner, the remaining Beneficiaries in that class will divide the
    deceased Beneficiary share in proportion to the original share of the remaining
    Beneficiaries" [002 (a)] -- i.e. the survivors' original shares are renormalised.
    """
    living = [d for d in designations if _exists(d.person, alive)]
    if not living:
        return ()
    weights = [1.0 if d.share is None else float(d.share) for d in living]
    total = sum(weights)
    return tuple(Payee(d.person, w / total) for d, w in zip(living, weights, strict=False))


def _settlement(payees: tuple[Payee, ...], spouse: Person | None, source: str) -> Settlement:
    # "If there is more than one Beneficiary and one of the Beneficiaries is a corporation
    # or other type of non-natural person, all Beneficiaries will be considered to be
    # non-natural persons" [002 (a)]; "If any new Owner is a non-natural person, all new
    # Owners will be considered to be non-natural persons" [002 (c) 3.].
    is_spouse = len(payees) == 1 and _is_spouse(payees[0].person, spouse)
    if any(not p.person.natural for p in payees):
        cls = "non_natural"
    elif is_spouse:
        cls = "spouse"
    else:
        cls = "natural"
    return Settlement(
        payees=payees, beneficiary_class=cls, new_owner_is_spouse=is_spouse, source=source
    )


def settle(
    beneficiaries: Beneficiaries,
    alive: set[str],
    spouse: Person | None,
    children: tuple[Person, ...] = (),
    surviving_owner: Person | None = None,
) -> Settlement:
    """New Owner(s) on the death of an Owner before the Payout Start Date [002 (a), (c)].

    Order [002 (c)]: "the new Owner will be the surviving Owner. If there is no surviving
    Owner, the new Owner will be the Beneficiary(ies) as described in the Beneficiary
    provision", whose order of classes [002 (a)] is:

    1. the Primary Beneficiary(ies), if any is living;
    2. if all Primary Beneficiaries predeceased (or none was named), the Contingent
       Beneficiary(ies), if any is living;
    3. "If no named Beneficiary is living ..., or if a Beneficiary has not been named":
       i. the spouse, or if no longer living, ii. the surviving children equally, or if
       none, iii. the estate (a non-natural person).

    Within a class shares are as directed (normalised) or equal, and a predeceased
    beneficiary's share goes to the remaining ones of the class in proportion to their
    original shares [002 (a)].

    Parameters
    ----------
    beneficiaries : Beneficiaries
    alive : set of str
        Names of the natural persons living at the Owner's death. Non-natural persons
        (estate, trust, corporation) are always taken to exist.
    spouse : Person or None
        The Owner's spouse (None if never married); living only if named in ``alive``.
    children : tuple of Person
        The Owner's children; only those in ``alive`` take, in equal shares.
    surviving_owner : Person or None
        The surviving joint Owner, if any. A natural surviving owner absent from ``alive``
        is treated as no surviving owner.

    Returns
    -------
    Settlement
    """
    if surviving_owner is not None and _exists(surviving_owner, alive):
        return _settlement((Payee(surviving_owner, 1.0),), spouse, "surviving_owner")
    for source, cls in (
        ("primary", beneficiaries.primary),
        ("contingent", beneficiaries.contingent),
    ):
        payees = _class_payees(cls, alive)
        if payees:
            return _settlement(payees, spouse, source)
    if spouse is not None and spouse.name in alive:
        return _settlement((Payee(spouse, 1.0),), spouse, "default: spouse")
    living_children = [c for c in children if c.name in alive]
    if living_children:
        n = len(living_children)
        return _settlement(
            tuple(Payee(c, 1.0 / n) for c in living_children), spouse, "default: children"
        )
    estate = Person("estate", natural=False, relation="estate")
    return _settlement((Payee(estate, 1.0),), spouse, "default: estate")


def owner_is_natural(owner_type: str) -> bool:
    """Whether an Owner of the inforce ``owner_type`` is a natural person.

    "If the Owner is a Grantor Trust, the Owner will be considered a non-natural person
    for purposes of the Death of Owner and Death of Annuitant provisions" [002 (b)].

    Parameters
    ----------
    owner_type : str
        ``"natural"`` (True), ``"non_natural"`` or ``"grantor_trust"`` (False).
    """
    try:
        return OWNER_TYPES[owner_type]
    except KeyError:
        raise ValueError(
            f"owner_type {owner_type!r} not one of {', '.join(sorted(OWNER_TYPES))}"
        ) from None


def death_of_owner_options(settlement: Settlement) -> tuple[str, ...]:
    """Options of the new Owner on the Death of Owner before the Payout Start Date [002 (c)].

    * 1. spouse as sole surviving Owner or sole Beneficiary: (a) lump sum, (b) Income
      Plan starting within one year, (c) continuation in the Accumulation Phase (Option D);
    * 2. natural person, not the spouse: (a) lump sum, (b) Income Plan within one year,
      (c) Contract Value payable within 5 years of death (the 5-year rule);
    * 3. corporation or other non-natural person: (a) lump sum, (b) the 5-year rule.

    Returns
    -------
    tuple of str
        Among ``"lump_sum"``, ``"income_plan"``, ``"continuation"``, ``"five_year_rule"``.
    """
    cls = settlement.beneficiary_class
    if cls == "spouse":
        return ("lump_sum", "income_plan", "continuation")
    if cls == "natural":
        return ("lump_sum", "income_plan", "five_year_rule")
    if cls == "non_natural":
        return ("lump_sum", "five_year_rule")
    raise ValueError(f"beneficiary_class {cls!r} not one of {', '.join(BENEFICIARY_CLASSES)}")


def death_of_annuitant_options(owner_natural: bool) -> tuple[str, ...]:
    """Options of the Owner on the death of an Annuitant who is not an Owner [002 (d)].

    * 1. natural Owner: (a) continue as if the death had not occurred (the new Annuitant
      is the youngest Owner), or on due proof of death (b) 1. lump sum, (b) 2. Income
      Plan beginning within one year;
    * 2. non-natural Owner (including a Grantor Trust [002 (b)]): (a) lump sum, (b) the
      Contract Value payable within 5 years of the Annuitant's death.

    Returns
    -------
    tuple of str
        Among ``"continue"``, ``"lump_sum"``, ``"income_plan"``, ``"five_year_rule"``.
    """
    if owner_natural:
        return ("continue", "lump_sum", "income_plan")
    return ("lump_sum", "five_year_rule")


def death_proceeds(
    death_benefit: float,
    contract_value: float,
    settlement_value: float,
    claim_delay_days: float,
    window_days: float = DEATH_CLAIM_WINDOW_DAYS,
) -> float:
    """Death proceeds on the Death of Owner or Annuitant [002 (c), (d) "Death Proceeds"].

    "If we receive a complete request for settlement of the death proceeds within 180
    days of the date of your death, the death proceeds are equal to the Death Benefit
    ... Otherwise, the death proceeds are equal to the greater of the Contract Value or
    the Settlement Value." A claim on day 180 exactly is within the window. The company
    may extend the window ("reserve the right to extend") -- pass ``window_days``.

    Parameters
    ----------
    death_benefit, contract_value, settlement_value : float
        Values at the date the complete claim is received.
    claim_delay_days : float
        Days from death to the receipt of the complete claim, >= 0.
    window_days : float
        The claim window, 180 days unless extended.
    """
    if claim_delay_days < 0:
        raise ValueError(f"claim_delay_days must be >= 0, got {claim_delay_days}")
    if claim_within_window(claim_delay_days, window_days):
        return float(death_benefit)
    return float(max(contract_value, settlement_value))


def claim_within_window(claim_delay_days, window_days=DEATH_CLAIM_WINDOW_DAYS):
    """Whether a complete claim received ``claim_delay_days`` after the death earns the
    Death Benefit: within the window, the day it ends included [002 (c), (d) "Death
    Proceeds": "within 180 days of the date of death"; the company may extend the 180 days,
    ``product.death_claim_window_days``].

    Parameters
    ----------
    claim_delay_days : float
        Days from the death to the receipt of the complete claim, >= 0.
    window_days : float
        The window's length in days (180 unless extended).
    """
    return claim_delay_days <= window_days


def engine_beneficiary_class(beneficiary: str, spouse_alive: bool, contingent: str = "none") -> str:
    """Class of the new Owner for the engine, from the inforce beneficiary columns.

    Builds the designations the columns stand for and applies :func:`settle` [002 (a)]:

    * ``beneficiary``: ``"spouse"`` -- the spouse is the sole Primary Beneficiary (as the
      Spousal Protection rider requires [004 I.]); ``"natural"`` / ``"non_natural"`` -- one
      named natural person / corporation, assumed living at the Owner's death;
      ``"estate"`` -- no Primary Beneficiary named, so the default order applies.
    * ``contingent``: ``"natural"`` / ``"non_natural"`` -- one named Contingent
      Beneficiary, assumed living; ``"estate"`` -- the Owner's estate named as Contingent
      Beneficiary (a non-natural person); ``"none"`` -- no Contingent Beneficiary. The
      contingent class matters only when no Primary Beneficiary takes (primary
      ``"spouse"`` with the spouse dead, or ``"estate"``).

    The Owner is the sole Owner (no surviving joint Owner). Children are not modelled in
    the engine: the default order (spouse, then surviving children, then estate) falls
    to the estate when the spouse is dead, giving ``"non_natural"``.

    Parameters
    ----------
    beneficiary : str
        spouse | natural | non_natural | estate.
    spouse_alive : bool
        Whether the Owner's spouse is living at the Owner's death (False if no spouse).
    contingent : str
        natural | non_natural | estate | none.

    Returns
    -------
    str
        ``"spouse"``, ``"natural"`` or ``"non_natural"`` (selects the options of
        :func:`death_of_owner_options`).
    """
    if beneficiary not in ENGINE_BENEFICIARIES:
        raise ValueError(
            f"beneficiary {beneficiary!r} not one of {', '.join(sorted(ENGINE_BENEFICIARIES))}"
        )
    if contingent not in ENGINE_CONTINGENTS:
        raise ValueError(
            f"contingent {contingent!r} not one of {', '.join(sorted(ENGINE_CONTINGENTS))}"
        )
    spouse = Person("spouse", natural=True, relation="spouse")
    named = {
        "natural": lambda label: Person(label, natural=True, relation="other"),
        "non_natural": lambda label: Person(label, natural=False, relation="corporation"),
        "estate": lambda label: Person(label, natural=False, relation="estate"),
    }
    alive = {"primary beneficiary", "contingent beneficiary"}
    if spouse_alive:
        alive.add(spouse.name)
    if beneficiary == "spouse":
        primary = (Designation(spouse),)
    elif beneficiary == "estate":
        primary = ()
    else:
        primary = (Designation(named[beneficiary]("primary beneficiary")),)
    contingent_cls = (
        () if contingent == "none" else (Designation(named[contingent]("contingent beneficiary")),)
    )
    return settle(Beneficiaries(primary, contingent_cls), alive, spouse).beneficiary_class


def claim_proceeds(contract_value, death_benefit_base, within_180_days, death_benefit_code):
    """Death proceeds of a claim as the engine pays them: the Death Benefit (the greater of
    the CV and the death benefit base) when the claim is received within 180 days of death,
    else the CV (the Settlement Value never exceeds it) [002 (c) "Death Proceeds"; SPEC 1.4].
    :func:`death_proceeds` is the clause itself, with the Settlement Value and the window
    in days. ``death_benefit_code`` 0 = a contract value death benefit."""
    if within_180_days and death_benefit_code > 0 and death_benefit_base > contract_value:
        return death_benefit_base
    return contract_value


def continuation_step_up(variable, money_market, fixed, excess):
    """Account values of a contract continued by the spouse (Option D) after the Contract
    Value is raised to the death proceeds: the ``excess`` over the CV goes to the variable
    sub-accounts pro rata, the part due to the fixed account to the Money Market
    sub-account [002 (c) 1.c]; with no Contract Value it all goes to the Money Market.

    Returns (variable, money_market) after the step-up; the fixed account is unchanged.
    """
    cv = variable + money_market + fixed
    if cv > 0.0:
        return variable + excess * variable / cv, money_market + excess * (
            money_market + fixed
        ) / cv
    return variable, money_market + excess
