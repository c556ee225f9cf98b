"""Live video inspection calls on a case: who may join, who is in, consent to record, the end.

A call belongs to one case. Staff start it; the buyer, the agent and guests (an interpreter,
a local agent abroad) join it through single-call links. Nobody is recorded before the buyer
said yes, and that answer is on the case's timeline first. The media itself never passes
through here: this is the call's record, whatever carries the video (two browsers talking
directly, a TURN relay, or a forwarding unit later).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from returndesk.domain.errors import Conflict, ValidationFailed

MAX_PARTICIPANTS = 4  # every browser sends to every other one: four is where that still holds
MAX_GUESTS = 2
LINK_MINUTES = (5, 24 * 60)  # how long the join links of a call may live


class CallStatus(StrEnum):
    waiting = "waiting"  # started; not two people in it yet
    active = "active"  # two or more people have been in it together
    ended = "ended"  # hung up by staff, or everyone left
    expired = "expired"  # the links ran out before anyone had a call


class CallRole(StrEnum):
    agent = "agent"
    buyer = "buyer"
    guest = "guest"


class Consent(StrEnum):
    granted = "granted"
    declined = "declined"


OPEN = frozenset({CallStatus.waiting, CallStatus.active})


@dataclass(slots=True)
class Participant:
    """One seat of the call: the person behind a join link, across reloads and reconnects."""

    id: str
    role: CallRole
    name: str
    joined_at: datetime | None = None  # first time in the call
    left_at: datetime | None = None  # None while connected
    present: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "role": self.role.value,
            "name": self.name,
            "joined_at": self.joined_at.isoformat() if self.joined_at else None,
            "left_at": self.left_at.isoformat() if self.left_at else None,
            "present": self.present,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Participant:
        return cls(
            id=str(data["id"]),
            role=CallRole(data["role"]),
            name=str(data.get("name") or ""),
            joined_at=_when(data.get("joined_at")),
            left_at=_when(data.get("left_at")),
            present=bool(data.get("present")),
        )


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(slots=True)
class Call:
    id: str
    store_id: str
    case_id: str
    started_by: str  # the staff user's id
    started_by_name: str
    created_at: datetime
    expires_at: datetime  # the links stop working then
    status: CallStatus = CallStatus.waiting
    started_at: datetime | None = None  # when two people were first in it together
    ended_at: datetime | None = None
    consent: Consent | None = None
    consent_at: datetime | None = None
    participants: list[Participant] = field(default_factory=list)
    recording_ids: list[str] = field(default_factory=list)
    still_ids: list[str] = field(default_factory=list)
    version: int = 0  # optimistic concurrency: saved only over the version it was read at

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def usable(self, now: datetime) -> bool:
        return self.is_open and now < self.expires_at

    def seat(self, participant_id: str) -> Participant | None:
        return next((p for p in self.participants if p.id == participant_id), None)

    def seat_of(self, role: CallRole) -> Participant | None:
        return next((p for p in self.participants if p.role is role), None)

    def add_seat(self, participant: Participant) -> None:
        if len(self.participants) >= MAX_PARTICIPANTS:
            raise Conflict("this call is full", code="call_full")
        guests = sum(1 for p in self.participants if p.role is CallRole.guest)
        if participant.role is CallRole.guest and guests >= MAX_GUESTS:
            raise Conflict("this call has all the guests it can take", code="call_full")
        self.participants.append(participant)

    def check_open(self, now: datetime) -> None:
        if self.status is CallStatus.ended:
            raise Conflict("this call has ended", code="call_ended")
        if self.status is CallStatus.expired or now >= self.expires_at:
            raise Conflict("this call's links have expired", code="call_expired")

    def join(self, participant_id: str, now: datetime) -> bool:
        """Someone connected (again). True when this makes two people present for the first
        time: the call has started."""
        self.check_open(now)
        seat = self.seat(participant_id)
        if seat is None:
            raise ValidationFailed("not a seat of this call", code="invalid_join_token")
        seat.present = True
        seat.left_at = None
        if seat.joined_at is None:
            seat.joined_at = now
        if self.started_at is None and sum(p.present for p in self.participants) >= 2:
            self.started_at = now
            self.status = CallStatus.active
            return True
        return False

    def leave(self, participant_id: str, now: datetime) -> None:
        seat = self.seat(participant_id)
        if seat is None or not seat.present:
            return
        seat.present = False
        seat.left_at = now

    def everyone_left(self) -> bool:
        return self.started_at is not None and not any(p.present for p in self.participants)

    def end(self, now: datetime) -> bool:
        """Hang up for everyone; False when it had already ended."""
        if not self.is_open:
            return False
        for seat in self.participants:
            if seat.present:
                seat.present = False
                seat.left_at = now
        self.ended_at = now
        self.status = CallStatus.ended if self.started_at is not None else CallStatus.expired
        return True

    def answer_consent(self, answer: Consent, now: datetime) -> bool:
        """The buyer's answer to recording. They may withdraw a yes (recording stops) or give
        one later; the same answer twice changes nothing (False)."""
        self.check_open(now)
        if self.consent is answer:
            return False
        self.consent = answer
        self.consent_at = now
        return True

    def require_consent(self) -> None:
        if self.consent is not Consent.granted:
            raise Conflict(
                "the buyer has not agreed to be recorded", code="recording_not_consented"
            )

    def duration(self, now: datetime) -> timedelta:
        if self.started_at is None:
            return timedelta()
        return (self.ended_at or now) - self.started_at

    def summary(self, now: datetime) -> dict[str, Any]:
        """What the timeline says when the call ends."""
        return {
            "call_id": self.id,
            "status": self.status.value,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "duration_seconds": int(self.duration(now).total_seconds()),
            "participants": [
                {"role": p.role.value, "name": p.name}
                for p in self.participants
                if p.joined_at is not None
            ],
            "recording_ids": list(self.recording_ids),
            "still_ids": list(self.still_ids),
            "consent": self.consent.value if self.consent else None,
        }


def check_link_minutes(minutes: int) -> int:
    low, high = LINK_MINUTES
    if not low <= minutes <= high:
        raise ValidationFailed(
            f"links may live between {low} and {high} minutes", code="invalid_link_minutes"
        )
    return minutes


def guest_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not 1 <= len(cleaned) <= 100:
        raise ValidationFailed("a guest needs a name of 1 to 100 characters", code="invalid_name")
    return cleaned
