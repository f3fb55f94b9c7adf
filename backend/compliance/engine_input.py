"""The engine's input records: one plan year's census, as plain frozen dataclasses (no database).

Money is integer cents; ownership is a Decimal percent (10% is Decimal("10")). Compensation is the plan
year's 414(s) pay before the 401(a)(17) cap: the engine applies the cap where the Code says so and leaves it
off where it does not (HCE and key-employee status use uncapped 415(c)(3) pay).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from datetime import date
from decimal import Decimal

TESTING_METHODS = ("current", "prior")
# IRC 401(k)(12) basic and enhanced match, 3% non-elective; 401(k)(13) QACA match and non-elective.
SAFE_HARBOR_KINDS = ("basic_match", "enhanced_match", "nonelective", "qaca_match", "qaca_nonelective")
# The kinds whose match is a 401(m)(11) safe-harbor match, so the ACP test on matches is deemed met.
SAFE_HARBOR_MATCH_KINDS = ("basic_match", "enhanced_match", "qaca_match")
# IRC 318(a)(1)(A): the family whose stock an individual is treated as owning.
RELATIONSHIPS = ("spouse", "parent", "child", "grandparent", "grandchild")

_CENT_FIELDS = (
    "compensation_cents",
    "pretax_cents",
    "roth_cents",
    "catch_up_cents",
    "match_cents",
    "after_tax_cents",
    "nonelective_cents",
    "qnec_cents",
    "account_balance_cents",
    "prior_year_distributions_cents",
    "outside_deferrals_cents",
    "other_plan_deferrals_cents",
)


@dataclass(frozen=True)
class Participant:
    """One employee for one plan year (the engine assumes a calendar plan year).

    `pretax_cents`, `roth_cents` and `catch_up_cents` are the columns payroll put the deferrals in. The engine
    adds them up and lets the rule decide what is catch-up (26 CFR 1.414(v)-1(a)(1), backend.irs.deferrals):
    the same dollars give the same results whichever column holds them.
    """

    employee_id: str
    # IRC 414(v)(5)(A), 414(v)(2)(E): catch-up looks at the age attained by December 31, so the year of birth is
    # all the engine reads of a date of birth, and all it is given.
    birth_year: int
    hire_date: date
    compensation_cents: int
    pretax_cents: int = 0
    roth_cents: int = 0
    catch_up_cents: int = 0  # payroll's label only: see the class docstring
    match_cents: int = 0
    after_tax_cents: int = 0
    nonelective_cents: int = 0  # employer non-elective (profit sharing, safe-harbor 3%), not a QNEC
    qnec_cents: int = 0  # qualified non-elective, counted in the ADP test (26 CFR 1.401(k)-2(a)(6))
    account_balance_cents: int = 0  # on the top-heavy determination date
    prior_year_distributions_cents: int = 0  # added back to the balance, IRC 416(g)(3)
    ownership_percent: Decimal = Decimal(0)  # direct ownership during the plan year
    prior_year_ownership_percent: Decimal | None = None  # None: the same as ownership_percent
    prior_year_compensation_cents: int | None = None  # None: not employed in the look-back year
    officer: bool = False
    eligible: bool = True  # may defer for any part of the year, even if suspended or opted out
    excludable: bool = False  # under the plan's age/service conditions, union or non-resident alien (410(b)(3), (4))
    employed_at_year_end: bool = True
    former_key_employee: bool = False  # key in an earlier year, not now: IRC 416(g)(4)(B)
    # IRC 416(g)(4)(E): performed services in the year ending on the determination date. None: inferred
    # from prior-year pay (or True in a first plan year, when the determination date ends this year).
    served_in_prior_year: bool | None = None
    outside_deferrals_cents: int = 0  # other employers' plans: counted only against the personal 402(g) limit
    # The same employer's other 401(k) plans: part of an HCE's ratio (IRC 401(k)(3)(A), flush language) and of
    # 402(g), but never refundable by this plan.
    other_plan_deferrals_cents: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.employee_id, str) or not self.employee_id.strip():
            raise ValueError("employee_id must be a non-empty string")
        if type(self.birth_year) is not int:
            raise TypeError(f"{self.employee_id}: birth_year must be an int year")
        if not isinstance(self.hire_date, date):
            raise TypeError(f"{self.employee_id}: hire_date must be a date")
        # A live recompute builds 20,000 of these: the common case (a plain non-negative int) is checked inline.
        for name in _CENT_FIELDS:
            value = getattr(self, name)
            if type(value) is not int or value < 0:
                _check_cents(self.employee_id, name, value)
        if self.prior_year_compensation_cents is not None:
            _check_cents(self.employee_id, "prior_year_compensation_cents", self.prior_year_compensation_cents)
        _check_percent(self.employee_id, "ownership_percent", self.ownership_percent)
        if self.prior_year_ownership_percent is not None:
            _check_percent(self.employee_id, "prior_year_ownership_percent", self.prior_year_ownership_percent)
        for name in ("officer", "eligible", "excludable", "employed_at_year_end", "former_key_employee"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{self.employee_id}: {name} must be a bool")
        if self.served_in_prior_year is not None and not isinstance(self.served_in_prior_year, bool):
            raise TypeError(f"{self.employee_id}: served_in_prior_year must be a bool or None")

    @classmethod
    def from_mapping(cls, values: Mapping) -> Participant:
        """The same as `Participant(**values)`, checked the same way, in one step: a live recompute builds 20,000
        of these, and a frozen dataclass's `__init__` sets its 27 fields one call at a time (40% slower). It
        writes `__dict__` directly, so the dataclass must keep one (no `slots=True`)."""
        if not _REQUIRED_FIELDS <= values.keys() <= _FIELD_NAMES:
            return cls(**values)  # the usual constructor says what is missing or unknown
        self = object.__new__(cls)
        self.__dict__.update(_DEFAULTS)
        self.__dict__.update(values)
        self.__post_init__()
        return self

    def age_at_end_of(self, year: int) -> int:
        """Age attained by December 31 of `year` (IRC 414(v)(5)(A) and 414(v)(2)(E) look at the year's end)."""
        return year - self.birth_year

    @property
    def ownership_in_prior_year(self) -> Decimal:
        if self.prior_year_ownership_percent is None:
            return self.ownership_percent
        return self.prior_year_ownership_percent

    @property
    def elsewhere_deferrals_cents(self) -> int:
        """Deferrals to every other plan this year, the employer's own and other employers': one 402(g) limit."""
        return self.other_plan_deferrals_cents + self.outside_deferrals_cents

    @property
    def plan_deferrals_cents(self) -> int:
        """Every elective deferral to this plan, whatever column payroll put it in."""
        return self.pretax_cents + self.roth_cents + self.catch_up_cents


_FIELD_NAMES = frozenset(f.name for f in fields(Participant))
_REQUIRED_FIELDS = frozenset(f.name for f in fields(Participant) if f.default is MISSING)
_DEFAULTS = {f.name: f.default for f in fields(Participant) if f.default is not MISSING}


@dataclass(frozen=True)
class FamilyTie:
    """`relative_id` is the `relationship` of `employee_id`.

    FamilyTie("emp_son", "emp_dad", "parent") says emp_dad is emp_son's parent. One tie is enough for both
    directions: the engine derives that emp_son is emp_dad's child. The relative may be a participant or an
    `OutsideOwner`.
    """

    employee_id: str
    relative_id: str
    relationship: str

    def __post_init__(self) -> None:
        if self.relationship not in RELATIONSHIPS:
            raise ValueError(f"relationship must be one of {', '.join(RELATIONSHIPS)}, got {self.relationship!r}")
        if self.employee_id == self.relative_id:
            raise ValueError(f"{self.employee_id} cannot be their own {self.relationship}")


@dataclass(frozen=True)
class OutsideOwner:
    """An owner who is not an employee (a founder's spouse, say), present only so ownership can be attributed."""

    owner_id: str
    ownership_percent: Decimal
    prior_year_ownership_percent: Decimal | None = None

    def __post_init__(self) -> None:
        _check_percent(self.owner_id, "ownership_percent", self.ownership_percent)
        if self.prior_year_ownership_percent is not None:
            _check_percent(self.owner_id, "prior_year_ownership_percent", self.prior_year_ownership_percent)

    @property
    def ownership_in_prior_year(self) -> Decimal:
        if self.prior_year_ownership_percent is None:
            return self.ownership_percent
        return self.prior_year_ownership_percent


@dataclass(frozen=True)
class PlanTestInput:
    """Everything the annual tests need for one plan year.

    Under the prior-year method `prior_nhce_adp` / `prior_nhce_acp` are last year's NHCE averages (percent).
    In the first plan year under the prior-year method they are deemed 3% and must be left out.
    """

    year: int
    participants: tuple[Participant, ...]
    method: str = "current"
    prior_nhce_adp: Decimal | None = None
    prior_nhce_acp: Decimal | None = None
    first_plan_year: bool = False
    safe_harbor: str | None = None
    top_paid_group_election: bool = False
    eaca: bool = False  # an eligible automatic contribution arrangement: 6 months to refund, IRC 4979(f)(1)
    family_ties: tuple[FamilyTie, ...] = ()
    outside_owners: tuple[OutsideOwner, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.year, bool) or not isinstance(self.year, int):
            raise TypeError("year must be an int")
        object.__setattr__(self, "participants", tuple(self.participants))
        object.__setattr__(self, "family_ties", tuple(self.family_ties))
        object.__setattr__(self, "outside_owners", tuple(self.outside_owners))
        if self.method not in TESTING_METHODS:
            raise ValueError(f"method must be one of {', '.join(TESTING_METHODS)}, got {self.method!r}")
        if self.safe_harbor is not None and self.safe_harbor not in SAFE_HARBOR_KINDS:
            raise ValueError(f"safe_harbor must be one of {', '.join(SAFE_HARBOR_KINDS)} or None")
        for name in ("prior_nhce_adp", "prior_nhce_acp"):
            value = getattr(self, name)
            if value is None:
                continue
            if self.method != "prior":
                raise ValueError(f"{name} is only used by the prior-year method")
            if self.first_plan_year:
                raise ValueError(f"{name} cannot be given for a first plan year: it is deemed 3%")
            _check_percent("plan", name, value)
        ids = [p.employee_id for p in self.participants]
        if len(set(ids)) != len(ids):
            seen: set[str] = set()
            duplicates = sorted({i for i in ids if i in seen or seen.add(i)})
            raise ValueError(f"duplicate employee ids: {', '.join(duplicates)}")
        owner_ids = [o.owner_id for o in self.outside_owners]
        if set(owner_ids) & set(ids) or len(set(owner_ids)) != len(owner_ids):
            raise ValueError("outside owner ids must be unique and differ from employee ids")
        known = set(ids) | set(owner_ids)
        for tie in self.family_ties:
            for person in (tie.employee_id, tie.relative_id):
                if person not in known:
                    raise ValueError(f"family tie names unknown person {person!r}")


def _check_cents(owner: str, name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{owner}: {name} must be an int number of cents, got {value!r}")
    if value < 0:
        raise ValueError(f"{owner}: {name} cannot be negative")


def _check_percent(owner: str, name: str, value: object) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise TypeError(f"{owner}: {name} must be a finite Decimal percent, got {value!r}")
    if not Decimal(0) <= value <= Decimal(100):
        raise ValueError(f"{owner}: {name} must be between 0 and 100")
