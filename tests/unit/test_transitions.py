"""The case lifecycle table: every move, who may make it, its guards, and what it records."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime, timedelta

import pytest

from returndesk.domain.access import Role
from returndesk.domain.cases.model import (
    MAX_NOTE,
    Actor,
    LineRequest,
    ReceiptLine,
    ReturnCase,
    TransitionRequest,
)
from returndesk.domain.cases.reasons import ReasonCode
from returndesk.domain.cases.status import (
    RELEASES_QUANTITY,
    TERMINAL,
    CaseStatus,
    ReceiptCondition,
    Resolution,
)
from returndesk.domain.cases.transitions import TRANSITIONS, allowed_targets, guards_for
from returndesk.domain.errors import InvalidTransition, PermissionDenied, ValidationFailed
from returndesk.domain.orders import Order, OrderLine, Shipment

S = CaseStatus
T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
OPENED = T0 + timedelta(days=2)
LATER = OPENED + timedelta(hours=1)
SYSTEM = Actor.system()

MOVES = [(src, dst) for src, targets in TRANSITIONS.items() for dst in targets]
NOT_MOVES = [(src, dst) for src in S for dst in S if dst not in TRANSITIONS[src]]
PERMITTED = [(src, dst, role) for src, dst in MOVES for role in TRANSITIONS[src][dst].roles]
FORBIDDEN = [
    (src, dst, role)
    for src, dst in MOVES
    for role in Role
    if role not in TRANSITIONS[src][dst].roles
]


def _id(value: object) -> str:
    return str(value)


def actor(role: Role | None) -> Actor:
    if role is None:
        return SYSTEM
    kind = "buyer" if role is Role.buyer else "staff"
    return Actor(kind, f"{role}-1", f"A {role}", role)


def make_order() -> Order:
    lines = [
        OrderLine("line-a", "A", "Jacket", quantity=3, unit_price=50, paid_amount=100),
        OrderLine("line-b", "B", "Scarf", quantity=2, unit_price=1000, paid_amount=2000),
    ]
    return Order(
        id="order-1",
        store_id="store-1",
        number="1001",
        email="ana@example.com",
        market="FR",
        currency="EUR",
        language="fr",
        placed_at=T0 - timedelta(days=3),
        lines=lines,
        shipments=[Shipment("s1", "Colissimo", "X1", delivered_at=T0)],
    )


def new_case(resolution: Resolution = Resolution.refund, *, both_lines: bool = False) -> ReturnCase:
    requests = [LineRequest("A", 3, ReasonCode.defective)]
    if both_lines:
        requests.append(LineRequest("B", 2, ReasonCode.changed_mind))
    return ReturnCase.open(
        order=make_order(),
        requests=requests,
        preferred_resolution=resolution,
        usage={},
        actor=actor(Role.buyer),
        now=OPENED,
    )


def path_to(target: S) -> list[S]:
    """Shortest list of statuses from `requested` to target (inclusive), over the table."""
    previous: dict[S, S | None] = {S.requested: None}
    queue = deque([S.requested])
    while queue:
        here = queue.popleft()
        for nxt in TRANSITIONS[here]:
            if nxt not in previous:
                previous[nxt] = here
                queue.append(nxt)
    path: list[S] = []
    step: S | None = target
    while step is not None:
        path.append(step)
        step = previous[step]
    return path[::-1]


def satisfying(dst: S, role: Role | None) -> TransitionRequest:
    """A request that meets every guard of a move into dst (given a case walked as below)."""
    receipt = (ReceiptLine("A", 1),) if dst is S.partially_received else ()
    return TransitionRequest(dst, role, note="  checked by hand  ", receipt=receipt)


def case_at(status: S, then: S | None = None) -> ReturnCase:
    """A case walked by the system actor from `requested` to status, fit to move on to `then`."""
    route = path_to(status)
    exchange = S.exchange_shipped in (*route, then)
    case = new_case(Resolution.exchange if exchange else Resolution.refund)
    for dst in route[1:]:
        case.transition(SYSTEM, satisfying(dst, None), OPENED)
    assert case.status is status
    return case


def expect_code(code: str) -> pytest.RaisesExc[ValidationFailed]:
    return pytest.raises(ValidationFailed, check=lambda e: e.code == code)


def move(case: ReturnCase, req: TransitionRequest, who: Actor | None = None) -> None:
    case.transition(who or actor(req.actor_role), req, LATER)


# --- the table as a whole ----------------------------------------------------------------------


def test_the_table_names_every_status() -> None:
    assert set(TRANSITIONS) == set(S)


@pytest.mark.parametrize(("src", "dst"), NOT_MOVES, ids=_id)
def test_a_move_not_in_the_table_is_invalid(src: S, dst: S) -> None:
    case = case_at(src)
    before = len(case.new_events)
    for role in (None, Role.platform_admin, Role.buyer):
        with pytest.raises(InvalidTransition) as info:
            move(case, TransitionRequest(dst, role, note="why not"))
        assert info.value.code == "invalid_transition"
        assert info.value.data == {"from": src.value, "to": dst.value}
    assert case.status is src
    assert len(case.new_events) == before


@pytest.mark.parametrize(("src", "dst", "role"), PERMITTED, ids=_id)
def test_a_listed_move_succeeds_for_each_role_it_names(src: S, dst: S, role: Role) -> None:
    case = case_at(src, dst)
    move(case, satisfying(dst, role))
    assert case.status is dst


@pytest.mark.parametrize(("src", "dst", "role"), FORBIDDEN, ids=_id)
def test_a_listed_move_is_forbidden_to_roles_it_does_not_name(src: S, dst: S, role: Role) -> None:
    case = case_at(src, dst)
    before = len(case.new_events)
    with pytest.raises(PermissionDenied) as info:
        move(case, satisfying(dst, role))
    assert info.value.code == "transition_not_permitted"
    assert case.status is src
    assert len(case.new_events) == before


@pytest.mark.parametrize(("src", "dst"), MOVES, ids=_id)
def test_the_system_may_make_every_listed_move(src: S, dst: S) -> None:
    case = case_at(src, dst)
    move(case, satisfying(dst, None), SYSTEM)
    assert case.status is dst
    assert dst in allowed_targets(src, None)


@pytest.mark.parametrize(("src", "dst"), MOVES, ids=_id)
def test_each_move_appends_exactly_one_event_and_leaves_the_version_alone(src: S, dst: S) -> None:
    case = case_at(src, dst)
    before = list(case.new_events)
    version = case.version
    role = sorted(TRANSITIONS[src][dst].roles)[0]
    who = actor(role)
    returned = case.transition(who, satisfying(dst, role), LATER)
    assert case.new_events[: len(before)] == before
    assert case.new_events[len(before) :] == [returned]
    assert returned.kind == "status_changed"
    assert returned.case_id == case.id
    assert (returned.from_status, returned.to_status) == (src, dst)
    assert returned.actor == who
    assert returned.note == "checked by hand"
    assert returned.at == LATER
    assert case.updated_at == LATER
    assert case.version == version == 1


@pytest.mark.parametrize(("src", "dst"), MOVES, ids=_id)
def test_only_cancel_and_decline_release_the_units(src: S, dst: S) -> None:
    case = case_at(src, dst)
    held = case.holds_quantity
    move(case, satisfying(dst, None), SYSTEM)
    assert case.holds_quantity is (held and dst not in RELEASES_QUANTITY)


def test_canceled_and_declined_release_the_units() -> None:
    assert {S.canceled, S.declined} == RELEASES_QUANTITY
    canceled = new_case()
    move(canceled, TransitionRequest(S.canceled, Role.buyer))
    assert canceled.holds_quantity is False
    declined = new_case()
    move(declined, TransitionRequest(S.declined, Role.agent, note="worn"))
    assert declined.holds_quantity is False
    move(declined, TransitionRequest(S.closed, Role.agent))
    assert declined.holds_quantity is False


@pytest.mark.parametrize("terminal", sorted(TERMINAL), ids=_id)
def test_terminal_statuses_have_no_way_out(terminal: S) -> None:
    assert {S.closed, S.canceled} == TERMINAL
    assert TRANSITIONS[terminal] == {}
    assert allowed_targets(terminal, None) == []
    case = case_at(terminal)
    for dst in S:
        with pytest.raises(InvalidTransition):
            move(case, satisfying(dst, None), SYSTEM)


def test_only_terminal_statuses_are_dead_ends() -> None:
    assert {s for s in S if not TRANSITIONS[s]} == TERMINAL


def test_every_status_is_reachable_from_requested() -> None:
    seen = {S.requested}
    queue = deque([S.requested])
    while queue:
        for nxt in TRANSITIONS[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    assert seen == set(S)


@pytest.mark.parametrize("status", list(S), ids=_id)
def test_every_status_can_reach_a_terminal_status(status: S) -> None:
    seen = {status}
    queue = deque([status])
    while queue:
        for nxt in TRANSITIONS[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    assert seen & TERMINAL


@pytest.mark.parametrize("role", [*Role, None], ids=_id)
def test_allowed_targets_match_the_table(role: Role | None) -> None:
    for src, targets in TRANSITIONS.items():
        expected = [t for t, m in targets.items() if role is None or role in m.roles]
        assert allowed_targets(src, role) == expected


def test_permission_is_checked_before_guards() -> None:
    case = new_case()
    with pytest.raises(PermissionDenied):
        move(case, TransitionRequest(S.declined, Role.buyer))  # no note either


def test_a_note_is_stored_stripped_and_may_not_be_too_long() -> None:
    case = new_case()
    with expect_code("note_too_long"):
        move(case, TransitionRequest(S.under_review, Role.agent, note="x" * (MAX_NOTE + 1)))
    move(case, TransitionRequest(S.under_review, Role.agent, note="x" * MAX_NOTE))
    assert case.new_events[-1].note == "x" * MAX_NOTE


# --- note guards -------------------------------------------------------------------------------


def _names(src: S, dst: S) -> list[str]:
    return [g.__name__ for g in TRANSITIONS[src][dst].guards]


NOTE_MOVES = [(src, dst) for src, dst in MOVES if "note_required" in _names(src, dst)]


def test_note_guarded_moves_are_the_documented_ones() -> None:
    assert (S.requested, S.declined) in NOTE_MOVES
    assert (S.requested, S.needs_evidence) in NOTE_MOVES
    assert (S.escalated, S.canceled) in NOTE_MOVES
    assert (S.partially_received, S.inspected) in NOTE_MOVES
    assert (S.requested, S.approved) not in NOTE_MOVES


@pytest.mark.parametrize(("src", "dst"), NOTE_MOVES, ids=_id)
@pytest.mark.parametrize("note", ["", "   ", "\n\t"], ids=["empty", "spaces", "whitespace"])
def test_note_required_moves_refuse_a_blank_note(src: S, dst: S, note: str) -> None:
    case = case_at(src, dst)
    req = satisfying(dst, None)
    with expect_code("note_required"):
        move(case, TransitionRequest(dst, None, note=note, receipt=req.receipt), SYSTEM)
    assert case.status is src


def test_moves_without_a_note_guard_need_no_note() -> None:
    case = new_case()
    move(case, TransitionRequest(S.under_review, Role.agent))
    move(case, TransitionRequest(S.approved, Role.agent))
    move(case, TransitionRequest(S.awaiting_return, Role.agent))
    assert case.status is S.awaiting_return


CANCELABLE = [src for src, dst in MOVES if dst is S.canceled and src is not S.escalated]


@pytest.mark.parametrize("src", CANCELABLE, ids=_id)
def test_a_buyer_may_cancel_without_a_note(src: S) -> None:
    case = case_at(src)
    move(case, TransitionRequest(S.canceled, Role.buyer))
    assert case.status is S.canceled
    assert case.new_events[-1].note == ""


@pytest.mark.parametrize("src", CANCELABLE, ids=_id)
@pytest.mark.parametrize("role", [Role.agent, Role.supervisor, Role.admin, Role.platform_admin])
def test_staff_canceling_must_say_why(src: S, role: Role) -> None:
    case = case_at(src)
    with expect_code("note_required"):
        move(case, TransitionRequest(S.canceled, role, note=" "))
    move(case, TransitionRequest(S.canceled, role, note="buyer phoned"))
    assert case.status is S.canceled


def test_an_escalated_case_is_canceled_only_by_seniors_with_a_note() -> None:
    case = case_at(S.escalated)
    for role in (Role.buyer, Role.agent, Role.warehouse):
        with pytest.raises(PermissionDenied):
            move(case, TransitionRequest(S.canceled, role, note="please"))
    with expect_code("note_required"):
        move(case, TransitionRequest(S.canceled, Role.supervisor))
    move(case, TransitionRequest(S.canceled, Role.supervisor, note="fraud ring"))
    assert case.status is S.canceled


# --- receipt guards ----------------------------------------------------------------------------


def awaiting(*, both_lines: bool = True) -> ReturnCase:
    case = new_case(both_lines=both_lines)
    move(case, TransitionRequest(S.approved, Role.agent))
    move(case, TransitionRequest(S.awaiting_return, Role.agent))
    return case


def received_of(case: ReturnCase) -> dict[str, int]:
    return {line.sku: line.received_quantity for line in case.lines}


def test_partial_receipts_accumulate_until_everything_arrived() -> None:
    case = awaiting()
    w = Role.warehouse
    move(case, TransitionRequest(S.partially_received, w, receipt=(ReceiptLine("A", 1),)))
    assert received_of(case) == {"A": 1, "B": 0}
    move(case, TransitionRequest(S.partially_received, w, receipt=(ReceiptLine("A", 1),)))
    move(case, TransitionRequest(S.partially_received, w, receipt=(ReceiptLine("B", 2),)))
    assert received_of(case) == {"A": 2, "B": 2}
    event = case.new_events[-1]
    assert event.data == {"received": [{"sku": "B", "quantity": 2, "condition": "intact"}]}
    # The last unit completes it: a "partial" receipt is refused, "received" is accepted.
    with expect_code("receipt_complete"):
        move(case, TransitionRequest(S.partially_received, w, receipt=(ReceiptLine("A", 1),)))
    move(case, TransitionRequest(S.received, w, receipt=(ReceiptLine("A", 1),)))
    assert received_of(case) == {"A": 3, "B": 2}


def test_a_partial_receipt_must_list_what_arrived() -> None:
    case = awaiting()
    with expect_code("receipt_required"):
        move(case, TransitionRequest(S.partially_received, Role.warehouse))


def test_a_partial_receipt_that_completes_the_return_is_refused() -> None:
    case = awaiting()
    full = (ReceiptLine("A", 3), ReceiptLine("B", 2))
    with expect_code("receipt_complete"):
        move(case, TransitionRequest(S.partially_received, Role.warehouse, receipt=full))
    assert received_of(case) == {"A": 0, "B": 0}


def test_received_with_listed_lines_must_cover_every_unit() -> None:
    case = awaiting()
    with expect_code("receipt_incomplete") as info:
        move(case, TransitionRequest(S.received, Role.warehouse, receipt=(ReceiptLine("A", 3),)))
    assert info.value.data == {"outstanding": {"B": 2}}
    assert received_of(case) == {"A": 0, "B": 0}
    full = (ReceiptLine("A", 3), ReceiptLine("B", 2, ReceiptCondition.damaged))
    move(case, TransitionRequest(S.received, Role.warehouse, receipt=full))
    assert received_of(case) == {"A": 3, "B": 2}
    assert case.lines[1].condition is ReceiptCondition.damaged


def test_received_without_lines_records_every_outstanding_unit() -> None:
    case = awaiting()
    w = Role.warehouse
    move(case, TransitionRequest(S.partially_received, w, receipt=(ReceiptLine("A", 2),)))
    move(case, TransitionRequest(S.received, w))
    assert received_of(case) == {"A": 3, "B": 2}
    assert [line.condition for line in case.lines] == [ReceiptCondition.intact] * 2
    assert case.new_events[-1].data == {
        "received": [
            {"sku": "A", "quantity": 1, "condition": "intact"},
            {"sku": "B", "quantity": 2, "condition": "intact"},
        ]
    }


@pytest.mark.parametrize("src", [S.awaiting_return, S.in_transit, S.partially_received])
def test_received_without_lines_is_accepted_from_every_receiving_status(src: S) -> None:
    case = case_at(src)
    move(case, TransitionRequest(S.received, Role.warehouse))
    assert all(line.received_quantity == line.quantity for line in case.lines)


def test_a_worse_condition_is_not_overwritten_by_a_later_intact_unit() -> None:
    case = awaiting()
    w = Role.warehouse
    bad = (ReceiptLine("A", 1, ReceiptCondition.damaged),)
    move(case, TransitionRequest(S.partially_received, w, receipt=bad))
    move(case, TransitionRequest(S.received, w))
    assert case.lines[0].condition is ReceiptCondition.damaged
    assert case.has_receipt_problem()


@pytest.mark.parametrize(
    ("receipt", "code"),
    [
        ((ReceiptLine("Z", 1),), "unknown_sku"),
        ((ReceiptLine("A", 1), ReceiptLine("A", 1)), "duplicate_sku"),
        ((ReceiptLine("A", 0),), "quantity_exceeds_returned"),
        ((ReceiptLine("A", 4),), "quantity_exceeds_returned"),
    ],
)
def test_receipt_lines_must_match_the_return(receipt: tuple[ReceiptLine, ...], code: str) -> None:
    case = awaiting()
    with expect_code(code):
        move(case, TransitionRequest(S.partially_received, Role.warehouse, receipt=receipt))
    assert received_of(case) == {"A": 0, "B": 0}


def test_a_receipt_cannot_exceed_the_units_still_due() -> None:
    case = awaiting()
    w = Role.warehouse
    move(case, TransitionRequest(S.partially_received, w, receipt=(ReceiptLine("A", 2),)))
    with expect_code("quantity_exceeds_returned"):
        move(case, TransitionRequest(S.received, w, receipt=(ReceiptLine("A", 2),)))


def test_inspection_needs_something_received() -> None:
    case = awaiting()
    case.status = S.received  # a state the table cannot produce: nothing actually arrived
    with expect_code("nothing_received"):
        move(case, TransitionRequest(S.inspected, Role.warehouse))
    case.lines[0].received_quantity = 1
    move(case, TransitionRequest(S.inspected, Role.warehouse))
    assert case.status is S.inspected


def test_inspecting_a_partial_receipt_needs_a_note() -> None:
    case = case_at(S.partially_received)
    with expect_code("note_required"):
        move(case, TransitionRequest(S.inspected, Role.warehouse))
    move(case, TransitionRequest(S.inspected, Role.warehouse, note="the rest is lost"))
    assert case.status is S.inspected


RECEIPT_TARGETS = {S.partially_received, S.received}


@pytest.mark.parametrize(
    ("src", "dst"), [(s, d) for s, d in MOVES if d not in RECEIPT_TARGETS], ids=_id
)
def test_receipt_lines_are_refused_outside_receiving_moves(src: S, dst: S) -> None:
    case = case_at(src, dst)
    req = satisfying(dst, None)
    bad = TransitionRequest(dst, None, note=req.note, receipt=(ReceiptLine("A", 1),))
    # A receipt for a case whose units all arrived fails its own check first.
    all_in = case.lines[0].received_quantity == case.lines[0].quantity
    with expect_code("quantity_exceeds_returned" if all_in else "unexpected_receipt"):
        move(case, bad, SYSTEM)
    assert case.status is src


@pytest.mark.parametrize(
    ("src", "dst"), [(s, d) for s, d in MOVES if d is not S.refund_pending], ids=_id
)
def test_a_refund_amount_is_refused_outside_refund_pending(src: S, dst: S) -> None:
    case = case_at(src, dst)
    req = satisfying(dst, None)
    bad = TransitionRequest(dst, None, note=req.note, receipt=req.receipt, refund_amount=0)
    with expect_code("unexpected_refund"):
        move(case, bad, SYSTEM)
    assert case.status is src


def test_shared_guards_are_added_to_every_move() -> None:
    for src, dst in MOVES:
        names = [g.__name__ for g in guards_for(src, dst)]
        assert ("no_receipt_lines" in names) is (dst not in RECEIPT_TARGETS)
        assert ("no_refund_amount" in names) is (dst is not S.refund_pending)


# --- resolution guards -------------------------------------------------------------------------


def approved(resolution: Resolution) -> ReturnCase:
    case = new_case(resolution)
    move(case, TransitionRequest(S.approved, Role.agent))
    return case


@pytest.mark.parametrize("resolution", [Resolution.refund, Resolution.store_credit])
def test_refund_pending_needs_a_refund_or_store_credit_resolution(resolution: Resolution) -> None:
    case = approved(resolution)
    move(case, TransitionRequest(S.refund_pending, Role.agent))
    assert case.status is S.refund_pending
    with expect_code("resolution_mismatch"):
        move(approved(resolution), TransitionRequest(S.exchange_shipped, Role.agent))


@pytest.mark.parametrize("resolution", [Resolution.exchange, Resolution.repair])
def test_refund_pending_refuses_other_resolutions(resolution: Resolution) -> None:
    case = approved(resolution)
    with expect_code("resolution_mismatch"):
        move(case, TransitionRequest(S.refund_pending, Role.agent))
    assert case.status is S.approved


def test_exchange_shipped_needs_an_exchange_resolution() -> None:
    case = approved(Resolution.exchange)
    move(case, TransitionRequest(S.exchange_shipped, Role.agent))
    assert case.status is S.exchange_shipped
    with expect_code("resolution_mismatch"):
        move(approved(Resolution.repair), TransitionRequest(S.exchange_shipped, Role.agent))


# --- refund_within_bound -----------------------------------------------------------------------


@pytest.mark.parametrize("amount", [-1, 101, 10**9])
def test_a_refund_outside_zero_to_the_bound_is_refused(amount: int) -> None:
    case = approved(Resolution.refund)
    assert case.refund_bound() == 100
    with expect_code("refund_exceeds_paid") as info:
        move(case, TransitionRequest(S.refund_pending, Role.agent, refund_amount=amount))
    assert info.value.data == {"maximum": 100, "requested": amount}
    assert case.status is S.approved
    assert case.refund_amount is None


@pytest.mark.parametrize("amount", [0, 1, 99, 100])
def test_a_refund_between_zero_and_the_bound_is_accepted(amount: int) -> None:
    case = approved(Resolution.refund)
    move(case, TransitionRequest(S.refund_pending, Role.agent, refund_amount=amount))
    assert case.refund_amount == amount
    assert case.new_events[-1].data == {"refund_amount": amount, "currency": "EUR"}


def test_refund_defaults_to_the_bound_and_is_carried_to_refunded() -> None:
    case = approved(Resolution.refund)
    move(case, TransitionRequest(S.refund_pending, Role.agent))
    assert case.refund_amount == 100
    move(case, TransitionRequest(S.refunded, Role.agent))
    assert case.refunded_amount == 100
    assert case.new_events[-1].data == {"refunded_amount": 100, "currency": "EUR"}
    move(case, TransitionRequest(S.closed, Role.agent))
    assert case.status is S.closed


def inspected_after(*receipts: tuple[ReceiptLine, ...], note: str = "") -> ReturnCase:
    case = awaiting(both_lines=False)
    w = Role.warehouse
    for receipt in receipts:
        move(case, TransitionRequest(S.partially_received, w, receipt=receipt))
    move(case, TransitionRequest(S.inspected, w, note=note or "graded"))
    return case


def test_after_a_partial_receipt_the_bound_is_the_received_share() -> None:
    case = inspected_after((ReceiptLine("A", 2),))
    assert case.refund_bound() == 66  # floor(100 * 2 / 3)
    with expect_code("refund_exceeds_paid"):
        move(case, TransitionRequest(S.refund_pending, Role.agent, refund_amount=67, note="x"))


def test_a_full_refund_after_a_partial_receipt_needs_a_note() -> None:
    case = inspected_after((ReceiptLine("A", 1),))
    with expect_code("note_required"):
        move(case, TransitionRequest(S.refund_pending, Role.agent))
    with expect_code("note_required"):
        move(case, TransitionRequest(S.refund_pending, Role.agent, refund_amount=33))
    move(case, TransitionRequest(S.refund_pending, Role.agent, note="carrier lost one"))
    assert case.refund_amount == 33


def test_a_reduced_refund_after_a_partial_receipt_needs_no_note() -> None:
    case = inspected_after((ReceiptLine("A", 1),))
    move(case, TransitionRequest(S.refund_pending, Role.agent, refund_amount=32))
    assert case.refund_amount == 32


def test_a_full_refund_of_damaged_goods_needs_a_note() -> None:
    case = awaiting(both_lines=False)
    damaged = (ReceiptLine("A", 3, ReceiptCondition.damaged),)
    move(case, TransitionRequest(S.received, Role.warehouse, receipt=damaged))
    move(case, TransitionRequest(S.inspected, Role.warehouse))
    assert case.refund_bound() == 100
    with expect_code("note_required"):
        move(case, TransitionRequest(S.refund_pending, Role.agent))
    move(case, TransitionRequest(S.refund_pending, Role.agent, refund_amount=50))
    assert case.refund_amount == 50


def test_a_full_refund_of_intact_goods_needs_no_note() -> None:
    case = awaiting(both_lines=False)
    move(case, TransitionRequest(S.received, Role.warehouse))
    move(case, TransitionRequest(S.inspected, Role.warehouse))
    move(case, TransitionRequest(S.refund_pending, Role.agent))
    assert case.refund_amount == 100
