"""A call's record (domain/calls.py): seats, who is present, when it started and ended, the
buyer's answer about recording."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from returndesk.domain.calls import (
    Call,
    CallRole,
    CallStatus,
    Consent,
    Participant,
    check_link_minutes,
    guest_name,
)
from returndesk.domain.errors import Conflict, ValidationFailed

T0 = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)


def a_call() -> Call:
    call = Call("c1", "s1", "case1", "staff1", "Ana", T0, T0 + timedelta(hours=1))
    call.add_seat(Participant("a", CallRole.agent, "Ana"))
    call.add_seat(Participant("b", CallRole.buyer, "Mariana"))
    return call


def test_a_call_starts_when_two_are_present_and_counts_from_then() -> None:
    call = a_call()
    assert call.join("a", T0 + timedelta(minutes=1)) is False
    assert (
        call.status is CallStatus.waiting and call.duration(T0 + timedelta(hours=1)) == timedelta()
    )
    assert call.join("b", T0 + timedelta(minutes=3)) is True
    assert call.status is CallStatus.active and call.started_at == T0 + timedelta(minutes=3)
    # A reload: the buyer leaves and comes back; the call goes on.
    call.leave("b", T0 + timedelta(minutes=4))
    assert call.join("b", T0 + timedelta(minutes=4, seconds=5)) is False
    assert call.seat("b") is not None and call.seat("b").joined_at == T0 + timedelta(minutes=3)
    assert call.end(T0 + timedelta(minutes=8)) is True
    assert call.status is CallStatus.ended and call.duration(T0) == timedelta(minutes=5)
    assert call.end(T0 + timedelta(minutes=9)) is False
    assert not any(p.present for p in call.participants)
    summary = call.summary(T0 + timedelta(minutes=9))
    assert summary["duration_seconds"] == 300
    assert [p["role"] for p in summary["participants"]] == ["agent", "buyer"]


def test_a_call_nobody_had_is_expired_and_takes_no_one() -> None:
    call = a_call()
    call.join("a", T0)
    call.end(T0 + timedelta(minutes=10))
    assert call.status is CallStatus.expired
    with pytest.raises(Conflict) as refused:
        call.join("b", T0 + timedelta(minutes=11))
    assert refused.value.code == "call_expired"
    late = a_call()
    with pytest.raises(Conflict) as too_late:
        late.join("a", T0 + timedelta(hours=1))
    assert too_late.value.code == "call_expired"
    with pytest.raises(ValidationFailed):
        a_call().join("nobody", T0)


def test_consent_must_be_granted_and_may_be_withdrawn() -> None:
    call = a_call()
    with pytest.raises(Conflict) as refused:
        call.require_consent()
    assert refused.value.code == "recording_not_consented"
    assert call.answer_consent(Consent.granted, T0) is True
    assert call.answer_consent(Consent.granted, T0) is False
    call.require_consent()
    assert call.answer_consent(Consent.declined, T0 + timedelta(minutes=1)) is True
    with pytest.raises(Conflict):
        call.require_consent()


def test_seats_are_limited() -> None:
    call = a_call()
    call.add_seat(Participant("g1", CallRole.guest, "Keiko"))
    call.add_seat(Participant("g2", CallRole.guest, "Jonas"))
    with pytest.raises(Conflict) as full:
        call.add_seat(Participant("g3", CallRole.guest, "Third"))
    assert full.value.code == "call_full"
    assert guest_name("  Keiko \n Sato ") == "Keiko Sato"
    with pytest.raises(ValidationFailed):
        guest_name("   ")
    with pytest.raises(ValidationFailed):
        check_link_minutes(4)
    assert check_link_minutes(60) == 60
