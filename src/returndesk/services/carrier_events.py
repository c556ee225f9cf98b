"""A carrier's scan of a return parcel: recorded once, and the case moved on by it.

The event names its parcel by tracking number; a first scan of a number the case does not
know yet names the case by its RMA (`reference`, which carriers carry from the label).
The same scan again (same number, status and time) changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from returndesk.domain.access import Permission
from returndesk.domain.carriers import (
    CarrierEvent,
    CarrierStatus,
    check_carrier,
    check_tracking,
    move_for,
)
from returndesk.domain.cases.model import Actor, ReturnCase, TransitionRequest
from returndesk.domain.cases.status import CaseStatus
from returndesk.domain.errors import Conflict, DomainError, NotFound, ValidationFailed
from returndesk.domain.ids import new_id
from returndesk.domain.logistics import clean_scan
from returndesk.services.ports import Clock, UnitOfWork, UnitOfWorkFactory
from returndesk.services.principal import Principal
from returndesk.services.returns import load_case
from returndesk.services.work import keep_up


@dataclass(frozen=True, slots=True)
class Scan:
    tracking_number: str
    carrier: str
    status: CarrierStatus
    occurred_at: datetime
    location: str = ""
    reference: str = ""  # the RMA printed on the label, for a tracking number not known yet


@dataclass(frozen=True, slots=True)
class Scanned:
    case: ReturnCase
    event: CarrierEvent | None  # None: a duplicate, nothing changed
    moved_to: str | None


def _case_for(uow: UnitOfWork, principal: Principal, store_id: str, scan: Scan) -> ReturnCase:
    case_id = uow.cases.id_by_tracking(store_id, scan.tracking_number)
    if case_id is None and scan.reference:
        case_id = uow.cases.id_by_number(store_id, clean_scan(scan.reference))
    if case_id is None:
        raise NotFound(
            f"no return has the tracking number {scan.tracking_number}",
            code="unknown_tracking_number",
            tracking_number=scan.tracking_number,
        )
    return load_case(uow, principal, case_id)


def record_scan(
    uow_factory: UnitOfWorkFactory, clock: Clock, principal: Principal, scan: Scan
) -> Scanned:
    principal.require(Permission.carrier_event_write)
    if principal.store_id is None:
        raise ValidationFailed("carrier events belong to a store", code="store_required")
    tracking = check_tracking(scan.tracking_number)
    carrier = check_carrier(scan.carrier)
    if scan.occurred_at.utcoffset() is None:
        raise ValidationFailed("occurred_at needs a time zone", code="naive_datetime")
    location = scan.location.strip()[:200]
    scan = Scan(tracking, carrier, scan.status, scan.occurred_at, location, scan.reference)
    store_id = principal.store_id
    with uow_factory(write=True) as uow:
        case = _case_for(uow, principal, store_id, scan)
        if uow.logistics.has_carrier_event(store_id, tracking, scan.status.value, scan.occurred_at):
            return Scanned(case, None, None)
        version = case.version
        now = clock()
        event = CarrierEvent(
            new_id(), store_id, case.id, tracking, carrier, scan.status, scan.occurred_at,
            location, now,
        )  # fmt: skip
        actor = Actor.system(carrier)  # the carrier's scan, reported by the integration
        case.record_parcel(
            tracking,
            carrier,
            {
                "tracking_number": tracking,
                "carrier": carrier,
                "status": scan.status.value,
                "occurred_at": scan.occurred_at.isoformat(),
                "location": location,
                "reported_by": principal.name,
            },
            actor,
            now,
        )
        target = move_for(scan.status, case.status)
        if target is not None:
            note = f"{carrier} {scan.status.value}" + (f" at {location}" if location else "")
            case.transition(actor, TransitionRequest(target, None, note), now)
        uow.logistics.add_carrier_event(event)
        keep_up(uow, case)
        uow.cases.save(case, version)
        uow.commit()
        return Scanned(case, event, target.value if target else None)


def declare_sent(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    principal: Principal,
    case_id: str,
    carrier: str,
    tracking_number: str,
) -> ReturnCase:
    """The buyer (or staff for them) says the parcel left, with the carrier's tracking number:
    the case moves to in_transit (the time to send it stops) and the carrier's scans of that
    number find the case."""
    principal.require(Permission.case_transition)
    tracking = check_tracking(tracking_number)
    name = check_carrier(carrier)
    with uow_factory(write=True) as uow:
        case = load_case(uow, principal, case_id)
        if case.status is not CaseStatus.awaiting_return:
            raise Conflict(
                f"return {case.rma} is {case.status.value}: no parcel to send now",
                code="not_awaiting_parcel",
                case_status=case.status.value,
            )
        other = uow.cases.id_by_tracking(case.store_id, tracking)
        if other is not None and other != case.id:
            raise Conflict(
                "that tracking number belongs to another return", code="tracking_number_in_use"
            )
        version = case.version
        now = clock()
        actor = principal.actor()
        data = {"tracking_number": tracking, "carrier": name}
        case.record_parcel(tracking, name, data, actor, now, kind="parcel_sent")
        exchange = uow.logistics.exchange(case.id)
        if exchange is None or not exchange.hold_open:
            note = f"Sent with {name}, tracking number {tracking}."
            case.transition(
                Actor.system(name), TransitionRequest(CaseStatus.in_transit, None, note), now
            )
        # else: an instant exchange's card hold waits for the carrier's own scan, and the time
        # to send the parcel keeps running until then (the buyer's word alone moves nothing)
        keep_up(uow, case)
        uow.cases.save(case, version)
        uow.commit()
        return case


def list_scans(
    uow_factory: UnitOfWorkFactory, principal: Principal, case_id: str
) -> list[CarrierEvent]:
    principal.require(Permission.case_read)
    with uow_factory() as uow:
        load_case(uow, principal, case_id)
        return uow.logistics.carrier_events(case_id)


CSV_COLUMNS = ("tracking_number", "carrier", "status", "occurred_at", "location", "reference")


@dataclass(slots=True)
class ImportReport:
    recorded: int = 0
    moved: int = 0
    duplicates: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (row, code, detail)


def import_scans(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    principal: Principal,
    rows: Iterable[Mapping[str, str | None]],
    limit: int = 100_000,
) -> ImportReport:
    """A carrier's CSV export (columns CSV_COLUMNS), row by row: each row stands alone, so a
    bad row is reported and the others are still recorded; running it twice changes nothing."""
    report = ImportReport()
    for number, raw in enumerate(rows, start=2):  # row 1 is the header
        # a CSV may carry NUL characters, which no text column takes: dropped
        row = {key: (value or "").replace("\x00", "") for key, value in raw.items() if key}
        if number - 1 > limit:
            report.errors.append((number, "too_many_rows", f"at most {limit} rows"))
            break
        try:
            occurred = datetime.fromisoformat((row.get("occurred_at") or "").strip())
            status = CarrierStatus((row.get("status") or "").strip())
        except ValueError:
            report.errors.append((number, "invalid_row", "status or occurred_at is not valid"))
            continue
        scan = Scan(
            tracking_number=row.get("tracking_number") or "",
            carrier=row.get("carrier") or "",
            status=status,
            occurred_at=occurred,
            location=row.get("location") or "",
            reference=row.get("reference") or "",
        )
        try:
            done = record_scan(uow_factory, clock, principal, scan)
        except DomainError as exc:
            report.errors.append((number, exc.code, exc.detail))
            continue
        if done.event is None:
            report.duplicates += 1
        else:
            report.recorded += 1
            report.moved += done.moved_to is not None
    return report
