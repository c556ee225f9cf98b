"""Returns whose parcel never left: remind the buyer, then close the return.

An approved return waits for the buyer's parcel for `ship_days` from the moment it was
approved (a carrier's first scan moves it on and stops the clock). `remind_days` before the
end the buyer is emailed the last day; after it the return is canceled by the system, with an
email saying so. The server runs this every few minutes; `returndesk returns sweep-unsent`
runs it once (cron, where no server runs the jobs).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from returndesk.domain.cases.model import Actor, ReturnCase, TimelineEvent, TransitionRequest
from returndesk.domain.cases.status import CaseStatus
from returndesk.domain.errors import DomainError
from returndesk.services.ports import Clock, UnitOfWorkFactory
from returndesk.services.work import keep_up

_ACTOR = "Return window"
HOLD_SHIP_DAYS = 6  # a card authorisation lapses after about seven days (Stripe)


@dataclass(slots=True)
class SweepResult:
    checked: int = 0
    reminded: int = 0
    expired: int = 0


def _entered(events: list[TimelineEvent]) -> datetime | None:
    """When the case last started waiting for the parcel."""
    for event in reversed(events):
        if event.kind == "status_changed" and event.to_status is CaseStatus.awaiting_return:
            return event.at
    return None


def _reminded_since(events: list[TimelineEvent], since: datetime) -> bool:
    return any(e.kind == "return_reminder" and e.at >= since for e in events)


def sweep_unsent(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    ship_days: int,
    remind_days: int,
    limit: int = 500,
    hold_days: int = HOLD_SHIP_DAYS,
) -> SweepResult:
    """`hold_days`: an instant exchange's parcel is due this many days after its card hold was
    placed, if that comes first (a card authorisation lapses after about seven days: the hold
    must be captured before, should the parcel never leave)."""
    now = clock()
    result = SweepResult()
    window = timedelta(days=ship_days)
    remind_days = min(remind_days, ship_days)
    remind_at = window - timedelta(days=remind_days)
    with uow_factory() as uow:
        candidates = uow.cases.awaiting_parcel(now - remind_at, limit)
        seen = set(candidates)
        held = [c for c in uow.logistics.open_holds() if c not in seen]
    deadlines = Deadlines(window, timedelta(days=hold_days), timedelta(days=remind_days))
    for case_id in [*candidates, *held]:
        result.checked += 1
        try:
            done = _one(uow_factory, case_id, now, deadlines, remind_days > 0)
        except DomainError:  # changed meanwhile (a scan, the buyer canceled): next sweep
            continue
        if done == "reminded":
            result.reminded += 1
        elif done == "expired":
            result.expired += 1
    return result


@dataclass(frozen=True, slots=True)
class Deadlines:
    window: timedelta  # from when the parcel became due
    hold_window: timedelta  # from an instant exchange's card hold, if sooner
    remind_before: timedelta


def _one(
    uow_factory: UnitOfWorkFactory,
    case_id: str,
    now: datetime,
    deadlines: Deadlines,
    remind: bool,
) -> str | None:
    with uow_factory(write=True) as uow:
        case = uow.cases.get(case_id)
        if case is None or case.status is not CaseStatus.awaiting_return:
            return None
        events = uow.cases.timeline(case_id)
        entered = _entered(events) or case.created_at
        due = entered + deadlines.window
        exchange = uow.logistics.exchange(case_id)
        if exchange is not None and exchange.hold_open:
            placed = [e.at for e in events if e.kind == "exchange_hold_placed"]
            if placed:
                due = min(due, placed[-1] + deadlines.hold_window)
        version = case.version
        actor = Actor.system(_ACTOR)
        remind_from = min(due - deadlines.remind_before, due)
        if now >= due:
            _expire(case, due, actor, now)
            done = "expired"
        elif remind and now >= remind_from and not _reminded_since(events, entered):
            case.record_return_window("return_reminder", {"due_at": due.isoformat()}, actor, now)
            done = "reminded"
        else:
            return None
        keep_up(uow, case)
        uow.cases.save(case, version)
        uow.commit()
        return done


def _expire(case: ReturnCase, due: datetime, actor: Actor, now: datetime) -> None:
    case.record_return_window("return_expired", {"due_at": due.isoformat()}, actor, now)
    note = f"The parcel was not sent by {due.date().isoformat()}: the return is closed."
    case.transition(actor, TransitionRequest(CaseStatus.canceled, None, note), now)
