"""Exchanges executed: the replacement order, and the card hold of an instant exchange.

Like refunds, every call that reaches outside is made between two transactions, so nothing is
done twice: the exchange is written `pending` first; the card hold (instant exchanges) and the
store's order are asked for outside any transaction with keys derived from the exchange's id
(`returndesk-hold-<id>`, `returndesk-exchange-<id>`); the answer is written in a second one. A
retry repeats the steps not yet done with the same keys.

The hold follows the parcel (`follow_up`, run after each scan and swept every minute): the
first carrier scan or the warehouse's receipt releases it; a return closed without its parcel
(not sent in time, or withdrawn) after the replacement went out captures it. docs/logistics.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

from returndesk.domain.access import Permission, has_permission
from returndesk.domain.carriers import CarrierStatus
from returndesk.domain.cases.model import Actor, ReturnCase, TransitionRequest
from returndesk.domain.cases.status import CaseStatus, Resolution
from returndesk.domain.cases.transitions import SENIORS
from returndesk.domain.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    ProviderFailed,
    StaleVersion,
    ValidationFailed,
)
from returndesk.domain.exchanges import (
    ENDED,
    EXPORT,
    RUN_SECONDS,
    Exchange,
    ExchangeLine,
    ExchangeStatus,
    HoldStatus,
    exchange_window,
)
from returndesk.domain.ids import new_id
from returndesk.domain.orders import Order
from returndesk.services.ports import (
    Clock,
    HoldingProvider,
    PaymentFailed,
    PaymentHold,
    ReplacementLine,
    ReplacementRequest,
    StoreFailed,
    StoreOrders,
    UnitOfWork,
    UnitOfWorkFactory,
)
from returndesk.services.principal import Principal
from returndesk.services.returns import load_case
from returndesk.services.work import keep_up

_SYSTEM = "Exchanges"
# A carrier's scan that shows the buyer really handed the parcel over (the buyer's own word,
# "I sent it", does not release a hold).
_HANDED_OVER = frozenset(
    {
        CarrierStatus.accepted,
        CarrierStatus.in_transit,
        CarrierStatus.out_for_delivery,
        CarrierStatus.delivered,
    }
)
_ARRIVED = frozenset(
    {
        CaseStatus.partially_received,
        CaseStatus.received,
        CaseStatus.inspected,
        CaseStatus.exchange_shipped,
        CaseStatus.closed,
    }
)


@dataclass(frozen=True, slots=True)
class OrderExchange:
    case_id: str
    # (sku, quantity, replacement sku); None: every returned unit, for the same sku
    lines: tuple[tuple[str, int, str], ...] | None = None
    instant: bool = False


@dataclass(frozen=True, slots=True)
class ExchangeResult:
    exchange: Exchange
    replayed: bool  # an earlier request had already done it


def get_exchange(
    uow_factory: UnitOfWorkFactory, principal: Principal, case_id: str
) -> Exchange | None:
    principal.require(Permission.case_read)
    with uow_factory() as uow:
        load_case(uow, principal, case_id)
        return uow.logistics.exchange(case_id)


def order_exchange(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    principal: Principal,
    holders: Mapping[str, HoldingProvider],
    store_orders: StoreOrders | None,
    command: OrderExchange,
) -> ExchangeResult:
    """Make the replacement order of a case resolved as an exchange (and, for an instant one,
    hold what was paid for the exchanged units on the buyer's card first). Asked again: the
    same exchange (finished, or its missing steps retried by this run alone)."""
    principal.require(Permission.refund_write)
    with uow_factory(write=True) as uow:
        case = load_case(uow, principal, command.case_id)
        if case.preferred_resolution is not Resolution.exchange:
            raise Conflict(
                f"the buyer asked for {case.preferred_resolution}, not an exchange",
                code="resolution_mismatch",
            )
        lines = _lines(case, command.lines)
        now = clock()
        exchange = uow.logistics.exchange(case.id, for_update=True)
        if exchange is not None:
            if exchange.instant != command.instant or not exchange.same_lines(lines):
                raise Conflict("this return already has another exchange", code="exchange_exists")
            if exchange.status in (ExchangeStatus.ordered, ExchangeStatus.to_ship):
                return ExchangeResult(exchange, replayed=True)
            _check_still_open(uow, case)
            _claim(exchange, now)  # one run at a time: another one in flight is refused
            uow.logistics.save_exchange(exchange)
        else:
            exchange = _new_exchange(
                uow, case, principal, holders, store_orders, command, lines, now
            )
        uow.commit()
    return _execute(uow_factory, clock, holders, store_orders, exchange)


def _claim(exchange: Exchange, now: datetime) -> None:
    """Take the exchange for this run: a pending one touched in the last RUN_SECONDS is being
    run by another request (a double click, a client's retry): that one finishes it."""
    running = exchange.status is ExchangeStatus.pending and now - exchange.updated_at < timedelta(
        seconds=RUN_SECONDS
    )
    if running:
        raise Conflict(
            "this exchange is being made right now: look again in a moment",
            code="exchange_in_progress",
        )
    exchange.status = ExchangeStatus.pending
    exchange.updated_at = now


def _check_still_open(uow: UnitOfWork, case: ReturnCase) -> None:
    """An exchange goes on only while the return may still end in one: not held for review,
    not ended another way, and no money refunded instead."""
    if case.status is CaseStatus.escalated:
        raise Conflict(
            "the exchange is held while a person reviews this return",
            code="exchange_held",
            case_status=case.status.value,
        )
    if case.status in ENDED or any(r.counts for r in uow.logistics.refunds(case.id)):
        raise Conflict(
            f"a {case.status.value} return takes no exchange (or it was refunded instead)",
            code="exchange_not_allowed",
            case_status=case.status.value,
        )


def retry_exchange(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    principal: Principal,
    holders: Mapping[str, HoldingProvider],
    store_orders: StoreOrders | None,
    case_id: str,
) -> ExchangeResult:
    """Finish a failed (or interrupted) exchange: the same exchange, the same keys."""
    exchange = _existing(uow_factory, principal, case_id)
    command = OrderExchange(
        case_id,
        tuple((ln.sku, ln.quantity, ln.replacement_sku) for ln in exchange.lines),
        exchange.instant,
    )
    return order_exchange(uow_factory, clock, principal, holders, store_orders, command)


def _existing(uow_factory: UnitOfWorkFactory, principal: Principal, case_id: str) -> Exchange:
    """The case's exchange, for a principal who may move money on it."""
    principal.require(Permission.refund_write)
    with uow_factory() as uow:
        load_case(uow, principal, case_id)
        exchange = uow.logistics.exchange(case_id)
    if exchange is None:
        raise NotFound("this return has no exchange", code="exchange_not_found")
    return exchange


def record_replacement(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    principal: Principal,
    case_id: str,
    order_reference: str,
) -> Exchange:
    """A store without an adapter: staff made the replacement order in their shop system (from
    the export) and say which it is."""
    principal.require(Permission.refund_write)
    reference = order_reference.strip()
    if not 1 <= len(reference) <= 200:
        raise ValidationFailed(
            "name the replacement order (1-200 characters)", code="order_reference_required"
        )
    with uow_factory(write=True) as uow:
        case = load_case(uow, principal, case_id)
        exchange = uow.logistics.exchange(case_id, for_update=True)
        if exchange is None:
            raise NotFound("this return has no exchange", code="exchange_not_found")
        if exchange.status is ExchangeStatus.ordered:
            if exchange.order_reference == reference:
                return exchange
            raise Conflict(
                "the replacement order is already recorded", code="exchange_already_ordered"
            )
        if exchange.status is not ExchangeStatus.to_ship:
            raise Conflict(
                "the exchange is not waiting for an order made by hand",
                code="exchange_not_exported",
                exchange_status=exchange.status.value,
            )
        _check_still_open(uow, case)
        version = case.version
        _ordered(case, exchange, reference, reference, principal.actor(), clock())
        _save(uow, case, version, exchange)
        uow.commit()
        return exchange


def exchanges_to_ship(
    uow_factory: UnitOfWorkFactory, principal: Principal
) -> list[tuple[Exchange, ReturnCase, Order]]:
    """What staff export to make by hand: exchanges waiting for their replacement order."""
    principal.require(Permission.refund_write)
    with uow_factory() as uow:
        found: list[tuple[Exchange, ReturnCase, Order]] = []
        for exchange in uow.logistics.exchanges(principal.store_id, ExchangeStatus.to_ship):
            case = uow.cases.get(exchange.case_id)
            if case is None or case.status is CaseStatus.escalated or case.status in ENDED:
                continue  # held for review, or the return ended another way
            order = uow.orders.get(case.order_id)
            if order is not None:
                found.append((exchange, case, order))
        return found


@dataclass(frozen=True, slots=True)
class ExchangeOptions:
    """What the console offers on a case: an exchange now, and whether it may be instant."""

    plain: bool  # the return is inspected: the replacement may be ordered
    instant: bool  # not yet scanned, and the policy offers instant exchanges


def exchange_options(
    uow_factory: UnitOfWorkFactory, principal: Principal, case: ReturnCase
) -> ExchangeOptions:
    if case.preferred_resolution is not Resolution.exchange or not has_permission(
        principal.role, Permission.refund_write
    ):
        return ExchangeOptions(False, False)
    instant = False
    if case.status in exchange_window(instant=True):
        with uow_factory() as uow:
            try:
                _check_instant_offered(uow, case)
                instant = True
            except Conflict:
                instant = False
    return ExchangeOptions(case.status in exchange_window(instant=False), instant)


# --- the steps ------------------------------------------------------------------------------


def _lines(
    case: ReturnCase, asked: tuple[tuple[str, int, str], ...] | None
) -> tuple[ExchangeLine, ...]:
    by_sku = {line.sku: line for line in case.lines}
    arrived = any(line.received_quantity for line in case.lines)
    if asked is None:  # every unit returned (that arrived, once any did), for the same sku
        return tuple(
            ExchangeLine(
                line.sku,
                line.received_quantity if arrived else line.quantity,
                line.sku,
                line.title,
            )
            for line in case.lines
            if line.received_quantity or not arrived
        )
    if not asked:
        raise ValidationFailed("an exchange has at least one line", code="no_lines")
    seen: set[str] = set()
    lines = []
    for sku, quantity, replacement in asked:
        line = by_sku.get(sku)
        if line is None or sku in seen:
            raise ValidationFailed(
                f"{sku} is not a line of this return (or is named twice)",
                code="unknown_line",
                sku=sku,
            )
        if not 1 <= quantity <= line.quantity:
            raise ValidationFailed(
                f"{sku}: 1 to {line.quantity} units are returned",
                code="invalid_quantity",
                sku=sku,
            )
        seen.add(sku)
        lines.append(ExchangeLine(sku, quantity, replacement.strip() or sku, line.title))
    return tuple(lines)


def _value_of(case: ReturnCase, lines: tuple[ExchangeLine, ...]) -> int:
    """What the buyer paid for the units exchanged (what an instant exchange holds)."""
    paid = {line.sku: line for line in case.lines}
    return sum(
        paid[ln.sku].refundable_amount * ln.quantity // paid[ln.sku].quantity for ln in lines
    )


def _new_exchange(
    uow: UnitOfWork,
    case: ReturnCase,
    principal: Principal,
    holders: Mapping[str, HoldingProvider],
    store_orders: StoreOrders | None,
    command: OrderExchange,
    lines: tuple[ExchangeLine, ...],
    now: datetime,
) -> Exchange:
    if case.status is CaseStatus.escalated:
        raise Conflict(
            "the exchange is held while a person reviews this return",
            code="exchange_held",
            case_status=case.status.value,
        )
    _check_still_open(uow, case)
    if case.status not in exchange_window(command.instant):
        raise Conflict(
            "an instant exchange ships before the parcel is scanned; an exchange otherwise "
            "waits until the return is inspected",
            code="exchange_not_allowed",
            case_status=case.status.value,
            instant=command.instant,
        )
    hold_provider = ""
    if command.instant:
        _check_instant_offered(uow, case)
        order = uow.orders.get(case.order_id)
        if order is None or order.payment_provider not in holders or not order.payment_reference:
            raise Conflict(
                "an instant exchange needs the order's card payment to hold",
                code="no_card_to_hold",
                available=sorted(holders),
            )
        hold_provider = order.payment_provider
    exchange = Exchange(
        id=new_id(),
        store_id=case.store_id,
        case_id=case.id,
        lines=lines,
        instant=command.instant,
        channel=store_orders.name if store_orders is not None else EXPORT,
        status=ExchangeStatus.pending,
        currency=case.currency,
        created_by=principal.actor().name[:200],
        created_at=now,
        updated_at=now,
        hold_provider=hold_provider,
        hold_status=HoldStatus.pending if command.instant else HoldStatus.none,
        hold_amount=_value_of(case, lines) if command.instant else 0,
    )
    # A new version of the case first: of two requests at once, the second waits for the
    # first's row lock and is refused (version_mismatch) before it writes an exchange.
    uow.cases.save(case, case.version)
    uow.logistics.add_exchange(exchange)
    return exchange


def _check_instant_offered(uow: UnitOfWork, case: ReturnCase) -> None:
    """The policy version that decided the return offers instant exchanges."""
    version = (case.decision or {}).get("policy_version")
    policy = uow.policies.compiled(case.store_id, int(version)) if version is not None else None
    if policy is None or not policy.exchange_instant:
        raise Conflict(
            "the store's return policy does not offer instant exchanges",
            code="instant_exchange_not_offered",
        )


_Step = Callable[[ReturnCase, Exchange, datetime], None]


def _execute(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    holders: Mapping[str, HoldingProvider],
    store_orders: StoreOrders | None,
    exchange: Exchange,
) -> ExchangeResult:
    """The steps not done yet, each between two transactions; this run holds the claim."""
    with uow_factory() as uow:
        case = uow.cases.get(exchange.case_id)
        order = uow.orders.get(case.order_id) if case else None
    if case is None or order is None:  # pragma: no cover - cases and orders are never deleted
        raise NotFound("case not found", code="case_not_found")
    if exchange.needs_hold:  # never again once it was placed, let go or taken
        holder = holders.get(exchange.hold_provider)
        try:
            if holder is None:
                raise PaymentFailed(
                    "provider_not_configured",
                    f"{exchange.hold_provider} is not set up",
                    retryable=True,
                )
            held = holder.hold(
                PaymentHold(
                    payment_reference=order.payment_reference,
                    amount=exchange.hold_amount,
                    currency=exchange.currency,
                    idempotency_key=exchange.hold_key,
                    metadata={"rma": case.rma, "case_id": case.id, "exchange_id": exchange.id},
                )
            )
        except PaymentFailed as exc:
            failure = _failed(uow_factory, clock, exchange, exc.code, exc.message, exc.retryable)
            raise failure from None
        exchange = _write(uow_factory, clock, exchange, _hold_placed(held.reference))
    # The store's adapter makes the order when it knows the original one (its shipping address
    # and customer); an order it did not take (paid elsewhere) is made by hand from the export.
    if store_orders is None or order.payment_provider != store_orders.name:
        return ExchangeResult(_write(uow_factory, clock, exchange, _to_ship), replayed=False)
    request = ReplacementRequest(
        idempotency_key=f"returndesk-exchange-{exchange.id}",
        rma=case.rma,
        order_number=order.number,
        order_reference=order.payment_reference,
        email=order.email,
        buyer_name=order.buyer_name,
        market=order.market,
        currency=order.currency,
        lines=tuple(
            ReplacementLine(ln.replacement_sku, _replacement_title(ln), ln.quantity)
            for ln in exchange.lines
        ),
        note=f"Exchange for order {order.number} (return {case.rma})",
    )
    try:
        made = store_orders.create_replacement(request)
    except StoreFailed as exc:
        failure = _failed(uow_factory, clock, exchange, exc.code, exc.message, exc.retryable)
        raise failure from None

    def ordered(case: ReturnCase, current: Exchange, now: datetime) -> None:
        if current.status is ExchangeStatus.pending:
            _ordered(case, current, made.reference, made.name, Actor.system(_SYSTEM), now)

    return ExchangeResult(_write(uow_factory, clock, exchange, ordered), replayed=False)


def _replacement_title(line: ExchangeLine) -> str:
    """What the store's order line says: the product, and the new sku when it is another one
    (another size or colour), so the warehouse picks the right unit."""
    if line.replacement_sku == line.sku:
        return line.title or line.sku
    return f"{line.title or line.sku} → {line.replacement_sku}"


def _failed(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    exchange: Exchange,
    code: str,
    message: str,
    retryable: bool,
) -> ProviderFailed:
    """Write the failure on the exchange and the case (staff see it and retry); the error."""
    hold = exchange.needs_hold

    def step(case: ReturnCase, current: Exchange, now: datetime) -> None:
        if current.status is not ExchangeStatus.pending:
            return  # another run finished it meanwhile: nothing to mark failed
        current.status = ExchangeStatus.failed
        if hold and current.needs_hold:
            current.hold_status = HoldStatus.pending if retryable else HoldStatus.failed
            if not retryable:  # a refusal: the next try is a new hold, with a new key
                current.hold_tries += 1
        current.error_code = code[:60]
        current.error = message[:2000]
        case.record_exchange(
            "exchange_failed",
            {
                "exchange_id": current.id,
                "step": "hold" if hold else "order",
                "code": current.error_code,
                "error": current.error,
                "retryable": retryable,
            },
            Actor.system(_SYSTEM),
            now,
        )

    _write(uow_factory, clock, exchange, step)
    what = "the card hold" if hold else "the replacement order"
    return ProviderFailed(
        f"{what} did not go through: {message}",
        code="exchange_failed",
        exchange_id=exchange.id,
        step="hold" if hold else "order",
        provider_code=code,
        retryable=retryable,
    )


def _hold_placed(reference: str) -> _Step:
    def step(case: ReturnCase, current: Exchange, now: datetime) -> None:
        if not current.needs_hold:
            return  # placed by another run meanwhile
        current.hold_status = HoldStatus.authorised
        current.hold_reference = reference
        current.error_code = current.error = ""
        case.record_exchange(
            "exchange_hold_placed",
            {
                "exchange_id": current.id,
                "amount": current.hold_amount,
                "currency": current.currency,
                "provider": current.hold_provider,
            },
            Actor.system(_SYSTEM),
            now,
        )

    return step


def _to_ship(case: ReturnCase, current: Exchange, now: datetime) -> None:
    if current.status is ExchangeStatus.pending:
        current.status = ExchangeStatus.to_ship
        current.error_code = current.error = ""


def _ordered(
    case: ReturnCase, exchange: Exchange, reference: str, name: str, actor: Actor, now: datetime
) -> None:
    exchange.status = ExchangeStatus.ordered
    exchange.order_reference = reference[:200]
    exchange.order_name = (name or reference)[:200]
    exchange.error_code = exchange.error = ""
    exchange.updated_at = now
    case.record_exchange(
        "exchange_ordered",
        {
            "exchange_id": exchange.id,
            "order": exchange.order_name,
            "channel": exchange.channel,
            "instant": exchange.instant,
            "lines": [
                {"sku": ln.sku, "quantity": ln.quantity, "replacement_sku": ln.replacement_sku}
                for ln in exchange.lines
            ],
        },
        actor,
        now,
    )
    ship_if_settled(case, exchange, now)


def ship_if_settled(case: ReturnCase, exchange: Exchange | None, now: datetime) -> None:
    """The replacement is out and the return is inspected: the case is exchange_shipped (called
    in the transaction that made either true: the order, or the warehouse's grading)."""
    if exchange is not None and exchange.ordered and case.status is CaseStatus.inspected:
        # no note: the buyer reads the order on the exchange_ordered entry, in their language
        move = TransitionRequest(CaseStatus.exchange_shipped, None)
        case.transition(Actor.system(_SYSTEM), move, now)


def _write(
    uow_factory: UnitOfWorkFactory, clock: Clock, exchange: Exchange, step: _Step
) -> Exchange:
    """Apply one step to the stored exchange (and its case, when the step wrote on it) in one
    transaction; a case changed meanwhile by someone else is read again and the step redone."""
    for attempt in range(3):
        try:
            with uow_factory(write=True) as uow:
                current = uow.logistics.exchange(exchange.case_id, for_update=True)
                case = uow.cases.get(exchange.case_id)
                if current is None or case is None:  # pragma: no cover - never deleted
                    raise NotFound("exchange not found", code="exchange_not_found")
                now = clock()
                version, status, events = case.version, case.status, len(case.new_events)
                current.attempts += 1
                current.updated_at = now
                step(case, current, now)
                if case.status is not status or len(case.new_events) != events:
                    _save(uow, case, version, current)
                else:  # nothing for the case (an error kept for the sweep): its version stays
                    uow.logistics.save_exchange(current)
                uow.commit()
                return current
        except StaleVersion:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _save(uow: UnitOfWork, case: ReturnCase, version: int, exchange: Exchange) -> None:
    uow.logistics.save_exchange(exchange)
    keep_up(uow, case)
    uow.cases.save(case, version)


# --- the hold follows the parcel --------------------------------------------------------------


def follow_up(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    holders: Mapping[str, HoldingProvider],
    case_id: str,
) -> Exchange | None:
    """After the parcel moved (or the return closed): release or capture an instant exchange's
    hold, and settle an inspected case whose replacement is out. Safe to run again."""
    with uow_factory() as uow:
        exchange = uow.logistics.exchange(case_id)
        case = uow.cases.get(case_id)
        if exchange is None or case is None:
            return None
        scanned = case.status in _ARRIVED or any(
            e.status in _HANDED_OVER for e in uow.logistics.carrier_events(case_id)
        )
        expired = case.status is CaseStatus.canceled and any(
            e.kind == "return_expired" for e in uow.cases.timeline(case_id)
        )
    if exchange.ordered and case.status is CaseStatus.inspected:
        with suppress(DomainError):  # moved meanwhile (a person did it): nothing to settle
            exchange = _write(uow_factory, clock, exchange, _settle_step)
    if not exchange.hold_open:
        return exchange
    holder = holders.get(exchange.hold_provider)
    if holder is None:
        return exchange
    if scanned:
        capture, reason = False, "scanned"
    elif case.status is CaseStatus.canceled and exchange.ordered:
        # the replacement went out and the return will not come: not sent in time, or withdrawn
        capture, reason = True, "not_sent" if expired else "withdrawn"
    elif case.status in (CaseStatus.canceled, CaseStatus.declined) and exchange.status in (
        ExchangeStatus.pending,
        ExchangeStatus.failed,
    ):
        capture, reason = False, "closed"  # no replacement was made: nothing to secure
    else:  # waiting for the parcel; or a person decides (a replacement may have gone out)
        return exchange
    return _settle_hold(
        uow_factory, clock, holder, exchange, capture, Actor.system(_SYSTEM), reason
    )


def settle_hold_by_hand(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    principal: Principal,
    holders: Mapping[str, HoldingProvider],
    case_id: str,
    capture: bool,
) -> Exchange:
    """A person decides an open hold: a parcel graded fake, empty or wrong keeps its hold for
    the review, which then charges it (capture) or lets it go (release)."""
    exchange = _existing(uow_factory, principal, case_id)
    with uow_factory() as uow:
        case = load_case(uow, principal, case_id)
    if case.status is CaseStatus.escalated and principal.role not in SENIORS:
        raise PermissionDenied("a supervisor decides the hold of a return under review")
    if not exchange.hold_open:
        raise Conflict(
            "no money is held for this exchange",
            code="no_open_hold",
            hold_status=exchange.hold_status.value,
        )
    holder = holders.get(exchange.hold_provider)
    if holder is None:
        raise ValidationFailed(
            f"{exchange.hold_provider} is not set up", code="provider_not_configured"
        )
    settled = _settle_hold(
        uow_factory, clock, holder, exchange, capture, principal.actor(), "review"
    )
    if settled.hold_open:  # the provider refused: said on the exchange, retried by sweeps
        raise ProviderFailed(
            f"the hold was not settled: {settled.error}",
            code="hold_failed",
            provider_code=settled.error_code,
        )
    return settled


def _settle_hold(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    holder: HoldingProvider,
    exchange: Exchange,
    capture: bool,
    actor: Actor,
    reason: str,
) -> Exchange:
    if capture:
        action, kind, status = holder.capture, "exchange_hold_captured", HoldStatus.captured
    else:
        action, kind, status = holder.release, "exchange_hold_released", HoldStatus.released
    try:
        answer = action(exchange.hold_reference, f"returndesk-{status.value}-{exchange.id}")
    except PaymentFailed as exc:
        return _write(uow_factory, clock, exchange, _hold_error(exc))

    def settled(case: ReturnCase, current: Exchange, now: datetime) -> None:
        if current.hold_status is not HoldStatus.authorised:
            return  # a concurrent run settled it
        current.hold_status = status
        current.error_code = current.error = ""
        data = {
            "exchange_id": current.id,
            "amount": answer.amount if status is HoldStatus.captured else current.hold_amount,
            "currency": current.currency,
            "reason": reason,  # scanned, closed, not_sent, withdrawn, review
        }
        case.record_exchange(kind, data, actor, now)

    return _write(uow_factory, clock, exchange, settled)


def _settle_step(case: ReturnCase, current: Exchange, now: datetime) -> None:
    ship_if_settled(case, current, now)


def _hold_error(exc: PaymentFailed) -> _Step:
    def step(case: ReturnCase, current: Exchange, now: datetime) -> None:
        current.error_code = exc.code[:60]  # shown to staff; the sweep tries again
        current.error = exc.message[:2000]

    return step


def sweep_holds(
    uow_factory: UnitOfWorkFactory, clock: Clock, holders: Mapping[str, HoldingProvider]
) -> int:
    """Every open hold whose parcel was scanned (or whose return closed) since: settle it (the
    dispatcher runs this every minute for any a stopped process missed)."""
    if not holders:
        return 0
    with uow_factory() as uow:
        case_ids = uow.logistics.open_holds()
    settled = 0
    for case_id in case_ids:
        try:
            after = follow_up(uow_factory, clock, holders, case_id)
        except DomainError:
            continue
        if after is not None and not after.hold_open:
            settled += 1
    return settled
