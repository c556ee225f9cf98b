"""Which buyer emails a change on a case calls for, and when they may go out.

One transaction on a case (opening it, deciding, a status change) becomes at most one email to
the buyer, made of the sections that transaction touched: a return that is opened and approved
at once gets one message ("received" + "decision" + "how to send it back"), not three. An EU
or UK statutory withdrawal gets its acknowledgment on a durable medium (CRD Art. 11(3), CCR
reg. 32(5)): that section is urgent and ignores quiet hours; everything else waits for the
morning in the buyer's time zone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from returndesk.domain.errors import ValidationFailed
from returndesk.domain.policy.law import region_of


class Section(StrEnum):
    received = "received"  # we have your request
    withdrawal_ack = "withdrawal_ack"  # acknowledgment of a statutory withdrawal, timestamped
    decision = "decision"  # approved / declined / need evidence / a person is looking
    return_instructions = "return_instructions"  # where and how to send it back
    item_received = "item_received"  # the warehouse has it
    refund_issued = "refund_issued"  # the money is on its way
    exchange_hold = "exchange_hold"  # an instant exchange: the value is held on the card
    exchange_ordered = "exchange_ordered"  # the replacement order is made: on its way
    exchange_hold_released = "exchange_hold_released"  # the parcel was scanned: hold let go
    exchange_charged = "exchange_charged"  # the parcel never left: the hold was charged
    video_call = "video_call"  # an agent is waiting in a video call: join now
    call_offer = "call_offer"  # an agent asks the buyer to pick a time for a call
    call_booked = "call_booked"  # the buyer's call is booked (or moved) for a time
    call_reminder = "call_reminder"  # the booked call is tomorrow / in a quarter of an hour
    call_cancelled = "call_cancelled"  # the booked call will not take place
    return_reminder = "return_reminder"  # the parcel is not sent yet: send it by a date
    return_expired = "return_expired"  # not sent in time: the return is closed


# The order sections appear in an email; the subject follows the last one present.
ORDER = tuple(Section)
URGENT = frozenset(
    {
        Section.withdrawal_ack,
        Section.video_call,
        Section.call_booked,
        Section.call_reminder,
        Section.call_cancelled,
    }
)
ACK_REGIONS = frozenset({"EU", "UK"})
DECISION_STATUSES = frozenset({"approved", "declined", "needs_evidence"})
AWAITING_PEOPLE = frozenset({"requested", "under_review", "escalated"})


def buyer_sees_decision(status: str) -> bool:
    """Whether a buyer is told the decision on a case in this status. While the case waits
    for a person (the store's automation off, or a review), the engine's decision is advice
    for staff: the buyer hears of it when a person moves the case on (page and email alike)."""
    return status not in AWAITING_PEOPLE


_BY_EVENT = {
    "exchange_hold_placed": Section.exchange_hold,
    "exchange_ordered": Section.exchange_ordered,
    "exchange_hold_released": Section.exchange_hold_released,
    "exchange_hold_captured": Section.exchange_charged,
}
_BY_BOOKING = {
    "call_booking_offered": Section.call_offer,
    "call_booked": Section.call_booked,
    "call_reminder": Section.call_reminder,
    "call_booking_cancelled": Section.call_cancelled,
}
_BY_STATUS = {
    "awaiting_return": Section.return_instructions,
    "received": Section.item_received,
    "partially_received": Section.item_received,
    "refunded": Section.refund_issued,
}


@dataclass(frozen=True, slots=True)
class EmailPlan:
    sections: tuple[Section, ...]
    decision: Mapping[str, Any] | None  # the decision this transaction made, as data
    status: str  # the case's status after the transaction
    at: datetime  # when the transaction happened
    due_at: datetime | None = None  # a reminder's last day to send the parcel
    exchange: Mapping[str, Any] | None = None  # the exchange entries' data (order, amount)
    booking: Mapping[str, Any] | None = None  # a booked call's data (starts_at, timezone)

    @property
    def primary(self) -> Section:
        if Section.withdrawal_ack in self.sections:
            return Section.withdrawal_ack
        return self.sections[-1]

    @property
    def urgent(self) -> bool:
        """Urgent messages are sent at once, whatever the hour (a legal acknowledgment, an
        agent waiting in a video call, or a call the buyer booked: its time is theirs)."""
        return bool(URGENT.intersection(self.sections))


def is_withdrawal(market: str, decision: Mapping[str, Any] | None) -> bool:
    """A statutory change-of-mind withdrawal in a market whose law wants it acknowledged."""
    if decision is None or region_of(market) not in ACK_REGIONS:
        return False
    rights = decision.get("rights") or {}
    return any(right == "withdrawal" for right in rights.values())


def plan_email(market: str, events: Sequence[Mapping[str, Any]]) -> EmailPlan | None:
    """The email for one transaction's events of one case (outbox payloads), if any."""
    if not events:
        return None
    sections: set[Section] = set()
    decision: Mapping[str, Any] | None = None
    due_at: datetime | None = None
    exchange: dict[str, Any] = {}
    booking: dict[str, Any] = {}
    for event in events:
        kind = event.get("kind")
        if kind in _BY_BOOKING:
            sections.add(_BY_BOOKING[str(kind)])
            booking.update(event.get("data") or {})
        elif kind in _BY_EVENT:
            sections.add(_BY_EVENT[str(kind)])
            exchange.update(event.get("data") or {})
        elif kind == "case_opened":
            sections.add(Section.received)
        elif kind in ("decision_made", "decision_overridden"):
            decision = event.get("data") or {}
            sections.add(Section.decision)
        elif kind == "call_started":
            sections.add(Section.video_call)
        elif kind == "return_reminder":
            sections.add(Section.return_reminder)
            due = (event.get("data") or {}).get("due_at")
            due_at = datetime.fromisoformat(str(due)) if due else None
        elif kind == "return_expired":
            sections.add(Section.return_expired)
        elif kind == "status_changed":
            to_status = str(event.get("to_status") or "")
            if to_status in DECISION_STATUSES:
                sections.add(Section.decision)
            if to_status in _BY_STATUS:
                sections.add(_BY_STATUS[to_status])
    last = events[-1]
    status = str(last.get("status") or "")
    if not buyer_sees_decision(status):
        sections.discard(Section.decision)
    if Section.received in sections and is_withdrawal(market, decision):
        sections.add(Section.withdrawal_ack)
    if not sections:
        return None
    return EmailPlan(
        sections=tuple(s for s in ORDER if s in sections),
        decision=decision,
        status=status,
        at=datetime.fromisoformat(str(last["at"])),
        due_at=due_at,
        exchange=exchange or None,
        booking=booking or None,
    )


class StaffNotice(StrEnum):
    """Emails to staff about a case: the agent of a booked call; the case's agent before a
    service level runs out (its team's supervisors when nobody has it); supervisors of a
    breach."""

    call_booked = "staff_call_booked"
    call_reminder = "staff_call_reminder"
    call_cancelled = "staff_call_cancelled"
    sla_warning = "staff_sla_warning"
    sla_breached = "staff_sla_breached"
    # a chat handed to people about no case (console notifications only, no email)
    chat_warning = "staff_chat_warning"
    chat_breached = "staff_chat_breached"


STAFF_NOTICES = {
    "call_booked": StaffNotice.call_booked,
    "call_reminder": StaffNotice.call_reminder,
    "call_booking_cancelled": StaffNotice.call_cancelled,
    "sla_warning": StaffNotice.sla_warning,
    "sla_breached": StaffNotice.sla_breached,
}


@dataclass(frozen=True, slots=True)
class StaffEmailFacts:
    notice: StaffNotice
    data: Mapping[str, Any]  # the timeline entry's data
    store_name: str
    case_id: str
    case_number: str
    name: str  # the recipient's
    language: str  # the recipient's console language
    timezone: str  # the recipient's, for the times the email shows
    link: str  # the case in the console


@dataclass(frozen=True, slots=True)
class StaffNotification:
    """One entry of a member of staff's inbox in the console: the same notice as their email."""

    id: str
    notice: StaffNotice
    case_id: str | None  # None: about a chat (conversation_id)
    case_number: str | None
    data: Mapping[str, Any]
    created_at: datetime
    read_at: datetime | None = None
    conversation_id: str | None = None


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window (in the buyer's time zone) when non-urgent email waits."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours | None:
        """`"21:00-08:00"`; empty means no quiet hours."""
        text = text.strip()
        if not text:
            return None
        try:
            first, second = text.split("-")
            start, end = time.fromisoformat(first.strip()), time.fromisoformat(second.strip())
        except ValueError:
            raise ValidationFailed(
                f"quiet hours must look like 21:00-08:00, not {text!r}", code="invalid_quiet_hours"
            ) from None
        return cls(start, end) if start != end else None

    def _quiet(self, moment: time) -> bool:
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end  # the window crosses midnight

    def release(self, now: datetime, tz: ZoneInfo) -> datetime:
        """When a non-urgent message created at `now` may go out: now, or the window's end."""
        local = now.astimezone(tz)
        if not self._quiet(local.time()):
            return now
        day = local.date()
        if self.start >= self.end and local.time() >= self.start:
            day += timedelta(days=1)  # evening: the window ends tomorrow morning
        end = datetime.combine(day, self.end, tzinfo=tz)
        return end.astimezone(now.tzinfo)


@dataclass(frozen=True, slots=True)
class EmailLine:
    title: str
    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class EmailFacts:
    """Everything a buyer email says, gathered when its events are fanned out."""

    plan: EmailPlan
    store_name: str
    case_id: str
    case_number: str
    order_number: str
    language: str
    timezone: str  # the buyer's (by market), for the times the email shows
    link: str  # the buyer's case page
    currency: str
    lines: tuple[EmailLine, ...]
    requested_at: datetime  # when the request reached the store (the acknowledgment's time)
    refund_amount: int | None
    refunded_amount: int | None
    current_decision: Mapping[str, Any] | None = None  # the case's decision now (its address)


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@dataclass(frozen=True, slots=True)
class EmailView:
    """One buyer email as staff see it (the console's outbox)."""

    id: str
    store_id: str
    case_id: str
    case_number: str
    kind: str
    sections: tuple[str, ...]
    urgent: bool
    to_address: str
    language: str
    subject: str
    status: str  # pending | sent | dead
    attempts: int
    not_before: datetime
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    text_body: str = ""
    html_body: str = ""

    @property
    def to_buyer(self) -> bool:
        return not self.kind.startswith("staff_")

    @property
    def held_for_quiet_hours(self) -> bool:
        return self.status == "pending" and self.not_before > self.created_at
