"""Service-level targets on a case, counted in the handling team's working time.

Three clocks run from the moment a case opens:
- first response: until a person on the staff first acts on the case (a comment, a move, a
  decision, a request for evidence);
- next response: from a buyer's message after that, until a person answers again;
- resolution: until the case reaches an outcome (declined, refunded, exchange shipped, resolved
  without a return, closed or canceled); an outcome also ends the response clocks.
Every clock stops while the case waits on the buyer or the carrier (needs evidence, awaiting
the return, in transit): the minutes spent paused are added to each target, so pausing and
resuming neither loses nor gains working minutes. A clock warns once 80% of its target is used
and breaches at its due time, each once per run of the clock (a new wait for an answer is a
new run of the next-response clock).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from returndesk.domain.business_time import BusinessCalendar
from returndesk.domain.cases.status import CaseStatus
from returndesk.domain.errors import ValidationFailed

MAX_TARGET_MINUTES = 60 * 24 * 90
WARN_SHARE = 0.8

PAUSED = frozenset({CaseStatus.needs_evidence, CaseStatus.awaiting_return, CaseStatus.in_transit})
OUTCOMES = frozenset(
    {
        CaseStatus.declined,
        CaseStatus.refunded,
        CaseStatus.exchange_shipped,
        CaseStatus.resolved_without_return,
        CaseStatus.closed,
        CaseStatus.canceled,
    }
)


class SlaClock(StrEnum):
    first_response = "first_response"
    next_response = "next_response"
    resolution = "resolution"


class SlaAlert(StrEnum):
    warning = "warning"
    breach = "breach"


@dataclass(frozen=True, slots=True)
class SlaTargets:
    """Working minutes allowed per clock."""

    first_response_minutes: int = 240
    next_response_minutes: int = 480
    resolution_minutes: int = 2880

    def __post_init__(self) -> None:
        for name in ("first_response_minutes", "next_response_minutes", "resolution_minutes"):
            value = getattr(self, name)
            if not 1 <= value <= MAX_TARGET_MINUTES:
                raise ValidationFailed(
                    f"{name} is 1 to {MAX_TARGET_MINUTES} working minutes", code="invalid_sla"
                )

    def minutes(self, clock: SlaClock) -> int:
        match clock:
            case SlaClock.first_response:
                return self.first_response_minutes
            case SlaClock.next_response:
                return self.next_response_minutes
            case SlaClock.resolution:
                return self.resolution_minutes


@dataclass(slots=True)
class CaseSla:
    case_id: str
    targets: SlaTargets
    started_at: datetime
    paused_minutes: float = 0.0  # working minutes spent paused, over the case's life
    paused_since: datetime | None = None
    first_responded_at: datetime | None = None
    waiting_since: datetime | None = None  # the buyer's unanswered message, after a response
    paused_at_wait: float = 0.0  # paused_minutes when waiting_since began
    resolved_at: datetime | None = None
    due: dict[SlaClock, datetime] = field(default_factory=dict)
    warn_at: dict[SlaClock, datetime] = field(default_factory=dict)
    warned: set[SlaClock] = field(default_factory=set)  # warned in the clock's current run
    alerted: set[SlaClock] = field(default_factory=set)  # breach raised in its current run
    breached: set[SlaClock] = field(default_factory=set)  # ever missed (for the figures)

    @property
    def paused(self) -> bool:
        return self.paused_since is not None

    def running(self) -> Iterator[tuple[SlaClock, datetime, float]]:
        """The clocks still counting: (clock, counted from, paused minutes to add)."""
        if self.resolved_at is not None:
            return
        if self.first_responded_at is None:
            yield SlaClock.first_response, self.started_at, self.paused_minutes
        elif self.waiting_since is not None:
            yield (
                SlaClock.next_response,
                self.waiting_since,
                self.paused_minutes - self.paused_at_wait,
            )
        yield SlaClock.resolution, self.started_at, self.paused_minutes

    def recompute(self, calendar: BusinessCalendar) -> None:
        self.due.clear()
        self.warn_at.clear()
        if self.paused:
            return
        # Clocks counting from the same moment share one walk over the working time.
        by_start: dict[datetime, list[tuple[SlaClock, float]]] = {}
        for clock, since, paused in self.running():
            by_start.setdefault(since, []).append((clock, paused))
        for since, clocks in by_start.items():
            minutes: list[float] = []
            for clock, paused in clocks:
                target = self.targets.minutes(clock)
                minutes += [target + paused, target * WARN_SHARE + paused]
            moments = calendar.add_minutes_each(since, minutes)
            for n, (clock, _paused) in enumerate(clocks):
                self.due[clock], self.warn_at[clock] = moments[2 * n], moments[2 * n + 1]

    @property
    def next_check_at(self) -> datetime | None:
        """When the sweep must look at this case again (None: nothing pending)."""
        pending = [at for clock, at in self.warn_at.items() if clock not in self.warned]
        pending += [at for clock, at in self.due.items() if clock not in self.alerted]
        return min(pending, default=None)

    def follow(self, status: CaseStatus, now: datetime, calendar: BusinessCalendar) -> None:
        """The case moved to `status` at `now`."""
        if status in OUTCOMES:
            if self.resolved_at is None:
                self._resume(now, calendar)
                self.resolved_at = now
        elif status in PAUSED:
            if self.paused_since is None and self.resolved_at is None:
                self.paused_since = now
        else:
            self._resume(now, calendar)
            self.resolved_at = None  # reopened
        self.recompute(calendar)

    def staff_responded(self, now: datetime, calendar: BusinessCalendar) -> None:
        if self.first_responded_at is None:
            self.first_responded_at = now
        self.waiting_since = None
        self.recompute(calendar)

    def buyer_wrote(self, now: datetime, calendar: BusinessCalendar) -> None:
        if self.first_responded_at is not None and self.waiting_since is None:
            self.waiting_since = now
            self.paused_at_wait = self.paused_minutes
            # A new wait for an answer: its own warning and breach.
            self.warned.discard(SlaClock.next_response)
            self.alerted.discard(SlaClock.next_response)
            self.recompute(calendar)

    def check(self, now: datetime) -> list[tuple[SlaClock, SlaAlert]]:
        """The warnings and breaches reached by `now` that were not raised before."""
        raised: list[tuple[SlaClock, SlaAlert]] = []
        for clock, at in self.due.items():
            if at <= now and clock not in self.alerted:
                self.alerted.add(clock)
                self.breached.add(clock)
                self.warned.add(clock)
                raised.append((clock, SlaAlert.breach))
        for clock, at in self.warn_at.items():
            if at <= now and clock not in self.warned:
                self.warned.add(clock)
                raised.append((clock, SlaAlert.warning))
        return raised

    def _resume(self, now: datetime, calendar: BusinessCalendar) -> None:
        if self.paused_since is not None:
            self.paused_minutes += calendar.minutes_between(self.paused_since, now)
            self.paused_since = None


@dataclass(slots=True)
class CaseWork:
    """Who handles a case, and its clocks."""

    case_id: str
    store_id: str
    sla: CaseSla
    team_id: str | None = None
    assignee_id: str | None = None
    assigned_at: datetime | None = None
    rule: str = "unassigned"  # how routing chose (domain/teams.route), or "manual"

    @property
    def open(self) -> bool:
        return self.sla.resolved_at is None

    @property
    def breached(self) -> bool:
        return bool(self.sla.breached)


@dataclass(slots=True)
class AnswerClock:
    """A buyer the assistant handed to people in a chat about no case (a case has clocks of its
    own): the moment a person's answer is due, which is the moment the buyer was told. It warns
    once 80 % of the working time to it is used and breaches at it, each once per wait. A
    person's answer ends the wait; the buyer writing after an answer starts a new one (on the
    next-response target)."""

    due_at: datetime | None = None
    warn_at: datetime | None = None
    warned: bool = False
    alerted: bool = False
    answered: bool = False  # a person has answered in this chat before

    @property
    def waiting(self) -> bool:
        return self.due_at is not None

    def start(self, due_at: datetime, warn_at: datetime) -> None:
        """A wait begins. One already running keeps its due time (that was the promise), unless
        it was missed: the buyer who writes again is told a new time, which is kept the same
        way."""
        if self.due_at is None or self.alerted:
            self.due_at, self.warn_at = due_at, min(warn_at, due_at)
            self.warned = self.alerted = False

    def keep_marks(self, stored: AnswerClock) -> None:
        """This copy was read before the sweep raised an alert of the same wait: keep the
        alert raised (a message saved over the sweep's write must not raise it again)."""
        if self.due_at is not None and stored.due_at == self.due_at:
            self.warned = self.warned or stored.warned
            self.alerted = self.alerted or stored.alerted

    def stop(self, *, answered: bool) -> None:
        """A person answered (or the chat was closed or handed back to the assistant)."""
        self.due_at = self.warn_at = None
        self.warned = self.alerted = False
        self.answered = self.answered or answered

    @property
    def next_check_at(self) -> datetime | None:
        if self.due_at is None or self.alerted:
            return None
        if not self.warned and self.warn_at is not None:
            return self.warn_at
        return self.due_at

    def check(self, now: datetime) -> list[SlaAlert]:
        """The alert reached by `now` that was not raised before (a breach needs no warning
        after it)."""
        if self.due_at is None or self.alerted:
            return []
        if self.due_at <= now:
            self.alerted = self.warned = True
            return [SlaAlert.breach]
        if not self.warned and self.warn_at is not None and self.warn_at <= now:
            self.warned = True
            return [SlaAlert.warning]
        return []

    def to_data(self) -> dict[str, object]:
        return {
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "warn_at": self.warn_at.isoformat() if self.warn_at else None,
            "warned": self.warned,
            "alerted": self.alerted,
            "answered": self.answered,
        }

    @classmethod
    def from_data(cls, data: dict[str, object] | None) -> AnswerClock:
        data = data or {}
        due, warn = data.get("due_at"), data.get("warn_at")
        return cls(
            due_at=datetime.fromisoformat(due) if isinstance(due, str) else None,
            warn_at=datetime.fromisoformat(warn) if isinstance(warn, str) else None,
            warned=bool(data.get("warned")),
            alerted=bool(data.get("alerted")),
            answered=bool(data.get("answered")),
        )
