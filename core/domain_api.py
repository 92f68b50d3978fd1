"""What a domain plugin declares, and what it is given to compute with.

A domain is one improvement area (safeguarding recording, incident learning, provider oversight,
or one of a provider's own). It declares:

- the record kinds it reads and the evidence category each source counts as;
- its measurable targets: a numerator over a denominator per review period, a threshold and its
  direction; ``rate`` targets count records, ``cadence`` targets count expected checks;
- its early-warning signals: facts computed per service for the current period, each the
  collection of record ids behind it (a bare count still works) and a sentence that says it;
- its outcome measures: results for people over time it derives from records (CQC's outcomes
  evidence category);
- its default escalation rules, written in the ruleset trigger language;
- its parameters (a pydantic model with defaults; a ruleset may change any of them);
- its place in the CQC framework.

The core does the rest: periods, locations, statuses, triangulation, the rule engine and levels.
A domain computes *outcomes* (one per record or expected check: pass, fail or pending) and
*signals*, in bulk, from the store; it never runs per-record rules in the rule engine.

This module is the whole API for domain authors (``__all__``): the specs, :class:`Context`, the
outcome constants, and the helpers the built-in domains share (stored dates, phrase matching,
feedback sources, repeats, statutory rules). docs/plugins/domain-tutorial.md builds a domain
with it step by step.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable, Iterator, Literal, Mapping, NamedTuple

from pydantic import BaseModel, ConfigDict

from carecheck.dates import LONDON, WorkingDays
from carecheck.domainkit.cadence import FAIL, PASS, PENDING, cadence_slots
from carecheck.domainkit.evidence import EvidenceSource  # noqa: F401 (part of this API)
from carecheck.plugin.declared_reads import vet
from carecheck.periods import Period, PeriodKind

if TYPE_CHECKING:
    from sqlite_utils import Database


# SQLite's own function names a domain's function may not take.
_SQLITE_FUNCTIONS = frozenset(
    "abs changes char coalesce count date datetime glob group_concat hex ifnull iif instr json json_array "
    "json_extract json_object julianday length like lower ltrim max min nullif printf quote random replace "
    "round rtrim sign strftime substr substring sum time total trim typeof unicode upper".split())


class DomainParameters(BaseModel):
    """Base for a domain's parameters: unknown keys in a ruleset are refused."""

    model_config = ConfigDict(extra="forbid")

    #: Parameters a domain no longer takes, each with what replaces it: a ruleset that sets one
    #: gets that message rather than "extra inputs are not permitted".
    replaced: ClassVar[dict[str, str]] = {}


@dataclass(frozen=True)
class TargetSpec:
    """A measurable target a domain declares: its id (unique across domains, used in rulesets,
    waivers and history), a title readers see, its ``kind`` (``rate``: the share of units that
    pass each period; ``cadence``: an expected check in each slot), the ``threshold`` that meets it
    (a share, 0 to 1, which a ruleset may change), the record kinds it is computed from, a
    description for docs, and whether higher or lower is better (``direction``)."""

    id: str
    title: str
    kind: Literal["rate", "cadence"]
    threshold: float
    #: record kinds the target is computed from; a stale one makes the status insufficient_evidence
    sources: tuple[str, ...]
    description: str
    direction: Literal["at_least", "at_most"] = "at_least"
    #: for cadences: who checks what, how often
    cadence: str | None = None
    #: How an escalation says the target was missed; fields {title}, {numerator}, {denominator},
    #: {value}, {threshold}, {period}. Default: "TITLE: 3 of 8 in 2026-08, below 95%".
    sentence: str | None = None
    #: ``location``: judged at each location from its own records. ``provider``: judged once, from
    #: records at the provider's own row or at any location, and the result applies to every
    #: location (a nominated individual's review covers them all). A ruleset may change it.
    scope: Literal["location", "provider"] = "location"
    #: Its units are exceptions (actions that went overdue): a period with none is the good case, so
    #: a location without any is not judged and its warnings say nothing of it.
    exceptions: bool = False

    def say(self, numerator: int, denominator: int, period: str) -> str:
        value, threshold = _percent(numerator / denominator if denominator else None), _percent(self.threshold)
        template = self.sentence or ("{title}: {numerator} of {denominator} in {period}, "
                                     + ("below" if self.direction == "at_least" else "above") + " {threshold}")
        return template.format(title=self.title, numerator=numerator, denominator=denominator, value=value,
                               threshold=threshold, period=period)


@dataclass(frozen=True)
class SignalSpec:
    """An early-warning signal a domain counts per location for the current period (a number, or a
    yes/no): escalation rules name it in their ``when`` condition, and the verdict says it in words
    with the record ids behind it."""

    name: str
    title: str
    description: str
    type: Literal["number", "bool"] = "number"
    #: How the verdict says the signal; fields {n} (the count), {s} ("s" unless n is 1), {period},
    #: and any word the domain gives with the value (a dict: ``{"records": ids, "since": day}``).
    #: The record ids follow it. Default: "TITLE: 2 in 2026-08".
    sentence: str | None = None

    def say(self, count: int, period: str, **words: str) -> str:
        template = self.sentence or "{title}: {n} in {period}"
        return template.format(**words, title=self.title, n=count, s="" if count == 1 else "s", period=period)


def _percent(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.1f}".rstrip("0").rstrip(".") + "%"


@dataclass(frozen=True)
class EscalationSpec:
    """A default escalation rule: when its ``when`` condition (the trigger language, over the
    domain's signals and target figures) holds at a location, the verdict raises an escalation with
    this ``action`` for this ``owner`` role, due in ``due_working_days``. A ruleset may change or
    switch off a rule by its ``id``, or add its own."""

    id: str
    title: str
    when: str
    action: str
    owner: str
    due_working_days: int


@dataclass(frozen=True)
class OutcomeMeasure:
    """A result for people over time that a domain derives from records (a repeat-incident rate,
    an audit score trend): evidence in CQC's outcomes category, for the service types that use it.

    The domain's :meth:`Domain.measure_values` computes it per location over the window.
    """

    name: str
    title: str
    #: How it is computed, in words.
    description: str
    #: Which way is better.
    direction: Literal["at_least", "at_most"] = "at_most"
    #: The record kind it is computed from, and the parameter naming its look-back in days (a
    #: repeat within 30 days needs 30 days of records before the window): with both, its trend is
    #: judged against its value over the location's first full window.
    kind: str | None = None
    lookback_param: str | None = None
    #: A measure that is itself a change (an audit score's rise or fall): its trend is its value.
    change: bool = False
    #: How far it may move the wrong way before it is worsening (a share: 0.05; a score: 5 points).
    tolerance: float = 0.05


class Outcome(NamedTuple):
    """One unit of a target: a record, or an expected check (a day, week, month or quarter)."""

    target: str
    service: str
    day: date  # places the unit in a period
    unit: str  # record id, or the label of the expected check
    status: str  # pass, fail or pending
    shift: str | None = None


@dataclass
class Context:
    """What a domain computes with: its parameters, the run's time frame, and read-only queries
    (:meth:`rows`) over the record kinds it declares in ``reads``."""

    params: Any
    as_of: date
    period_kind: PeriodKind
    periods: list[Period]
    current: Period | None
    services: dict[str, str | None]  # canonical name -> service type
    aliases: dict[str, str]  # any name, id or alias -> canonical name
    working_days: WorkingDays
    shift_hours: tuple[int, int] = (7, 20)
    targets: dict[str, TargetSpec] = field(default_factory=dict)
    #: The signals the run's escalation rules use (None: all of them).
    signals: frozenset[str] | None = None
    #: The last ``sustained`` complete periods: outcome measures are computed over them.
    window: tuple[Period, ...] = ()
    #: kind -> import id -> the fields that import's source supplied (see :meth:`supplied`).
    supplied_fields: Mapping[str, Mapping[int, frozenset[str]]] = field(default_factory=dict)
    #: The provider's own row in the service register (its canonical name), if it has one:
    #: :meth:`service` names it, and only provider-level targets count its records.
    provider: str | None = None
    #: The connection the run gives the domain; reach it through rows() and function() only.
    _db: "Database | None" = field(default=None, repr=False)
    _gaps: set[tuple[str | None, str, str | None]] = field(default_factory=set, repr=False)
    _left_out: dict[tuple[str, str, str], list[str]] = field(default_factory=dict, repr=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)
    _shifts: dict[str, str] = field(default_factory=dict, repr=False)
    _days: dict[str, date] = field(default_factory=dict, repr=False)
    #: Set by the run for carecheck's own domains, which pass a cadence's outcomes on unchanged: its
    #: slots come as one outcome per service (:data:`SLOTS`). Other domains get one per slot.
    _slots_at_once: bool = field(default=False, repr=False)

    @property
    def start(self) -> date:
        return self.periods[0].start

    def service(self, raw: str | None) -> str | None:
        """The canonical name of an in-scope location, or of the provider's own row (the run counts
        its records only for provider-level targets), or None."""
        name = self.aliases.get(raw, raw) if raw is not None else None
        return name if name in self.services or (name is not None and name == self.provider) else None

    def provider_level(self, target_id: str) -> bool:
        """Whether a target is judged once for the provider (:attr:`TargetSpec.scope`)."""
        spec = self.targets.get(target_id)
        return spec is not None and spec.scope == "provider"

    def day(self, value: str | None) -> date | None:
        """The calendar date of a stored date or time (None for None). A year of records holds few
        distinct days, so each is parsed once and the same date object shared by every record."""
        if not value:
            return None
        text = value[:10]
        found = self._days.get(text)
        if found is None:
            found = self._days[text] = date.fromisoformat(text)
        return found

    def done(self, value: str | None) -> date | None:
        """The day something was done (a review, referral, notification, follow-up), or None when it
        was not done by ``as_of``: a completion dated after the run's date counts as not done then,
        so a run as of a past date reads as the provider was on that date."""
        day = self.day(value)
        return day if day is not None and day <= self.as_of else None

    def supplied(self, kind: str, name: str, import_id: int | None) -> bool:
        """Whether the import that last wrote a record of ``kind`` had a column or key for field
        ``name`` (whether or not the record has a value). A check that needs a field its record's
        source never supplied judges the record on the fields it has and reports :meth:`gap`; a
        supplied field left blank is the record's own gap, and fails."""
        if import_id is None:
            return name in self._unimported(kind)
        fields = self.supplied_fields.get(kind, {}).get(import_id)
        return fields is None or name in fields

    def _unimported(self, kind: str) -> frozenset[str]:
        """The fields supplied to records written with no import (by hand, or by another tool): those
        at least one such record has a value for, as for imports made before supplied fields were
        recorded."""
        key = f"carecheck.unimported.{kind}"
        if key not in self._cache:
            columns = [column[0] for column in self._db.execute(f"SELECT * FROM [{kind}] LIMIT 0").description]
            checks = ", ".join(f"max([{column}] IS NOT NULL)" for column in columns)
            values = self._db.execute(f"SELECT {checks} FROM [{kind}] WHERE import_id IS NULL").fetchone()
            self._cache[key] = frozenset(column for column, has in zip(columns, values) if has)
        return self._cache[key]

    def gap(self, service: str | None, kind: str, name: str | None = None) -> None:
        """Report evidence a check needed and could not have: field ``name`` of ``kind`` never
        supplied at ``service``, or (``name`` None) no ``kind`` records at all (``service`` None:
        at any location). The run raises one ``data_gap`` escalation for each, and never fails or
        caps a level for it."""
        self._gaps.add((service, kind, name))

    def left_out(self, target: str, service: str, record_id: str, reason: str) -> None:
        """Note a record a target could not judge and so leaves out of its denominator (an incident
        with no person reference cannot be matched to a care plan review): the verdict's
        ``data_quality.left_out`` counts them by target, location and ``reason``, with their ids."""
        self._left_out.setdefault((target, service, reason), []).append(record_id)

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()``, worked out once per run for this domain: work its outcomes, signals and
        duties share (its statutory findings, say)."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def wants(self, target_id: str) -> bool:
        return target_id in self.targets

    def signal_wanted(self, name: str) -> bool:
        """Whether a rule of this run uses the signal; a domain may skip computing the others."""
        return self.signals is None or name in self.signals

    def shift(self, moment: datetime | str | None) -> str | None:
        """``weekend``, ``day`` or ``night`` for a recorded time; ``unknown`` for a date with no time
        of day (never counted as night); None without a value."""
        if moment is None:
            return None
        if isinstance(moment, str):
            # Stored times are ISO 8601 in Europe/London local time: the date and hour are in the text.
            if len(moment) <= 10:
                return "unknown"
            found = self._shifts.get(moment[:13])
            if found is None:
                found = self._shifts[moment[:13]] = self._shift_of(self.day(moment).weekday(), int(moment[11:13]))
            return found
        local = moment.astimezone(LONDON)
        return self._shift_of(local.weekday(), local.hour)

    def _shift_of(self, weekday: int, hour: int) -> str:
        if weekday >= 5:
            return "weekend"
        day_start, night_start = self.shift_hours
        return "day" if day_start <= hour < night_start else "night"

    def rows(self, sql: str, params: Iterable[Any] = ()) -> Iterator[tuple]:
        """The rows of a query, one at a time (iterate once; wrap in ``list`` to keep them).

        The query may read only the record kinds in the domain's ``reads`` (each a table named
        after the kind) and never write: anything else stops the run with an error naming the
        domain and the table. Parameters are ``?`` placeholders.
        """
        params = list(params)
        vet(self._db.conn, sql, params)
        return iter(self._db.execute(sql, params))

    def function(self, name: str, fn: Callable[..., Any], arguments: int = -1) -> None:
        """Make ``fn`` callable from this domain's SQL as ``name`` (SQLite lacks regular
        expressions, for one). The function must be deterministic: same arguments, same answer.
        Give it a name of your own (prefix it with the domain's) so it cannot replace SQLite's."""
        if not name.isidentifier() or name.lower() in _SQLITE_FUNCTIONS:
            raise ValueError(f"SQL function name {name!r} must be an identifier not used by SQLite")
        self._db.conn.create_function(name, arguments, fn, deterministic=True)

    def cadence(
        self, target: str, every: Literal["day", "week", "month", "quarter"], done: dict[str, list[date]],
        minimum: int = 1, lookback_days: int | None = None,
    ) -> Iterable[Outcome]:
        """Outcomes of a cadence: each expected slot passes with ``minimum`` checks in it, else fails.

        A slot belongs to the period that holds its last day; a slot not yet over at ``as_of``
        is pending. Every in-scope service is expected to do the check, so a service with no
        record of it fails every slot. With ``lookback_days``, a slot passes when the checks fall
        within that many days up to its end (a quarterly review, checked every month).

        A provider-level target's checks are one series: those at the provider's row and at every
        location together, named after the provider (the run gives every location the result).
        """
        if self.provider_level(target):
            done = {PROVIDER_KEY: [day for days in done.values() for day in days]}
            expected: Iterable[str] = (PROVIDER_KEY,)
        else:
            expected = self.services
        first, last = self.start, self.periods[-1].end
        for service in expected:
            slots = cadence_slots(first, last, self.as_of, every, done.get(service, []), minimum, lookback_days)
            if self._slots_at_once:  # a year of daily checks at 300 homes is 100,000 outcomes: counted in bulk
                yield Outcome(target, service, first, tuple(slots), SLOTS)
                continue
            for slot_end, label, status in slots:
                yield Outcome(target, service, slot_end, label, status)


#: The status of an outcome that carries a service's every cadence slot as its ``unit``: (last day,
#: label, status) each. Only the run asks for them, and only of carecheck's own domains.
SLOTS = "slots"

#: The service an outcome of a provider-level target is counted under, before the run gives every
#: location the result.
PROVIDER_KEY = "(provider)"


class Domain(ABC):
    """Base class for domain plugins. Register instances through ``carecheck_register_domains``."""

    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str] = ""
    #: the seed example or baseline issue the domain measures recovery from
    baseline_issue: ClassVar[str] = ""
    reads: ClassVar[tuple[str, ...]] = ()
    parameters_model: ClassVar[type[DomainParameters]] = DomainParameters
    targets: ClassVar[tuple[TargetSpec, ...]] = ()
    signals: ClassVar[tuple[SignalSpec, ...]] = ()
    escalations: ClassVar[tuple[EscalationSpec, ...]] = ()
    evidence: ClassVar[tuple[EvidenceSource, ...]] = ()
    measures: ClassVar[tuple[OutcomeMeasure, ...]] = ()
    key_questions: ClassVar[tuple[str, ...]] = ()
    quality_statements: ClassVar[tuple[str, ...]] = ()
    regulations: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def outcomes(self, ctx: Context) -> Iterable[Outcome]:
        """Every unit of every target in ``ctx.targets``, for all periods and in-scope services."""

    @abstractmethod
    def signal_values(self, ctx: Context) -> dict[str, dict[str, Any]]:
        """For each in-scope service, the value of every signal in the current period.

        A value is the collection (set, list or tuple) of the record ids behind the signal, whose
        count is its size; a bare count (or true/false) still works, without ids. A dict gives the
        ids under ``"records"`` and words the signal's sentence names (``{"since": "2026-06-02"}``). Services
        without any value may be left out: the core fills in zero (or false).
        """

    def measure_values(self, ctx: Context) -> dict[str, dict[str, float | None]]:
        """For each in-scope service, the value of each of :attr:`measures` over ``ctx.window``
        (None, or left out, where the records give none)."""
        return {}

    def duties(self, ctx: Context) -> Iterable["Breach | Undetermined"]:
        """The statutory duties this domain owns, as found over the evaluated periods up to
        ``ctx.as_of``: every :class:`Breach` (due before ``as_of``, not done by its deadline; the
        run keeps those still outstanding or made late in the current period) and every
        :class:`Undetermined` record in the window. Computed whatever targets a run chose: a
        breach caps the domain's level at its location whatever else the figures say."""
        return ()


# The helpers domains share, importable from here (they import this module, so they come last).
from carecheck.dates import stored_day  # noqa: E402
from carecheck.domainkit.helpers import (  # noqa: E402
    MeasureValue, activity_days, feedback_sources, poisson_at_least, repeat_share,
)
from carecheck.domainkit.statutory import (  # noqa: E402
    ABUSE_ALLEGATION, CANDOUR, DEATH, POLICE_INCIDENT, REFERRAL, SERIOUS_INJURY, Breach, Undetermined, candour_required,
    cqc_notified, incident_notifications, late, notification_due, notified_on,
)
from carecheck.domainkit.textcheck import DEFAULT_TIMELINE_PATTERN, contains_phrase, has_timeline, phrase_list, word_count  # noqa: E402
from carecheck.vocabulary import INCIDENT_CAUSES, INCIDENT_TYPES  # noqa: E402

__all__ = [
    # what a domain declares
    "Domain", "DomainParameters", "TargetSpec", "SignalSpec", "EscalationSpec", "EvidenceSource", "OutcomeMeasure",
    # what it computes with and returns
    "Context", "Outcome", "MeasureValue", "PASS", "FAIL", "PENDING", "Period",
    # shared helpers
    "stored_day", "activity_days", "feedback_sources", "repeat_share", "poisson_at_least",
    "contains_phrase", "phrase_list", "has_timeline", "word_count", "DEFAULT_TIMELINE_PATTERN",
    "candour_required", "incident_notifications", "notification_due", "cqc_notified", "notified_on", "late",
    "Breach", "Undetermined", "DEATH", "SERIOUS_INJURY", "POLICE_INCIDENT", "ABUSE_ALLEGATION", "REFERRAL", "CANDOUR",
    # the built-in kinds' vocabularies
    "INCIDENT_TYPES", "INCIDENT_CAUSES",
]
