"""decide(): statutory floor + store policy + evidence -> one explained, reproducible decision.

A pure function of its inputs and the policy: no clock, no I/O, no randomness. The steps run
in a fixed order and each one that changes something leaves a `Reason`:

1. per line, the right it may come back under (statutory withdrawal, statutory fault right,
   store window, carrier claim) or why not (window ended, final sale, non-returnable);
2. block list; 3. store rules (first rule with an outcome wins, every match is reported);
4. fraud signals; 5. evidence required for faults; 6. exchange / store credit;
7. cross-border economics (keep-the-item); 8. the statutory floor clamps whatever came before
   (a withdrawal inside its window is never declined, reviewed or held for evidence);
9. responsibility, who pays the return, and the refund breakdown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from returndesk.domain.cases.model import LineUsage, Returnability
from returndesk.domain.cases.reasons import FAULT_REASONS, REASON_TREE, ReasonCode
from returndesk.domain.cases.status import Resolution
from returndesk.domain.orders import Order, OrderLine, Shipment
from returndesk.domain.policy.decision import (
    ClaimLine,
    Decision,
    DecisionRequest,
    DeclineReason,
    EvidenceKind,
    Outcome,
    Reason,
    RefundItem,
    Responsibility,
    Right,
    from_snapshot,
    snapshot,
)
from returndesk.domain.policy.document import (
    HolidayCalendar,
    Policy,
    PolicyInvalid,
    Rule,
    RuleFailed,
    RuleLanguage,
    parse_policy,
)
from returndesk.domain.policy.law import DayCount, MarketLaw, Payer, region_of

SELLER_REASONS = frozenset(
    {
        ReasonCode.defective,
        ReasonCode.not_as_described,
        ReasonCode.color_differs,
        ReasonCode.wrong_item,
        ReasonCode.missing_parts,
        ReasonCode.counterfeit_suspected,
    }
)
CARRIER_REASONS = frozenset({ReasonCode.damaged_in_transit, ReasonCode.not_received})
# Findings from evidence or inspection that settle who is responsible.
FINDINGS = {
    "defect_confirmed": Responsibility.seller,
    "wrong_item_confirmed": Responsibility.seller,
    "transit_damage": Responsibility.carrier,
    "damage_by_buyer": Responsibility.buyer,
    "misuse": Responsibility.buyer,
    "item_swapped": Responsibility.fraud_suspected,
    "counterfeit_returned": Responsibility.fraud_suspected,
}
MAJOR_FAILURE = "major_failure"
# A live inspection call or an unboxing video shows at least what a photo would.
SATISFIED_BY = {
    EvidenceKind.photo: frozenset(EvidenceKind),
    EvidenceKind.unboxing_video: frozenset({EvidenceKind.unboxing_video}),
    EvidenceKind.inspection_call: frozenset({EvidenceKind.inspection_call}),
}
_GROUP = {reason: group.code for group in REASON_TREE for reason in group.reasons}
_SEVERITY = (Responsibility.seller, Responsibility.carrier, Responsibility.buyer)


def utc_day(moment: datetime) -> date:
    """Periods are counted in UTC calendar days, whatever offset a timestamp carries."""
    return moment.astimezone(UTC).date()


def add_days(
    start: date,
    days: int,
    count: DayCount,
    holiday: Callable[[date], bool] | None = None,
) -> date:
    """The last day of a period of `days` starting the day after `start`. Business days skip
    Saturdays, Sundays and, when a calendar is given, the market's public holidays."""
    if count is DayCount.calendar:
        return start + timedelta(days=days)
    current, left = start, days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and not (holiday is not None and holiday(current)):
            left -= 1
    return current


def withdrawal_end(
    policy: Policy, law: MarketLaw | None, market: str, category: str, start: date
) -> date | None:
    """The last day of a line's statutory withdrawal right, or None when it has none (no such
    law, a displayed policy where that removes it (JP), or an exempt category)."""
    if (
        law is None
        or law.withdrawal_days is None
        or (law.only_without_displayed_policy and policy.policy_displayed)
        or category in policy.non_returnable_categories
    ):
        return None
    return add_days(start, law.withdrawal_days, law.day_count, _holidays_of(policy, market))


def _holidays_of(policy: Policy, market: str) -> Callable[[date], bool] | None:
    calendar = policy.holidays
    if calendar is None:
        return None
    return lambda day: calendar(market, day)


@dataclass(slots=True)
class _LineVerdict:
    line: ClaimLine
    right: Right | None = None
    decline: DeclineReason | None = None
    statutory_withdrawal: bool = False


@dataclass(slots=True)
class _Work:
    request: DecisionRequest
    policy: Policy
    region: str
    law: MarketLaw | None
    reasons: list[Reason] = field(default_factory=list)
    basis: list[str] = field(default_factory=list)
    failed: bool = False  # a store rule could not be evaluated: a person decides

    def note(self, code: str, detail: str, **kw: Any) -> None:
        self.reasons.append(Reason(code, detail, **kw))
        basis = kw.get("basis")
        if basis and basis not in self.basis:
            self.basis.append(basis)


def decide(request: DecisionRequest, policy: Policy, version: int) -> Decision:
    order = request.order
    region = region_of(order.market)
    w = _Work(request, policy, region, policy.law_for(region))
    verdicts = [_line_verdict(w, line) for line in request.lines]
    delivered = order.delivered_at is not None

    outcome: Outcome | None = None
    decline: DeclineReason | None = None
    evidence: EvidenceKind | None = None
    fraud = False

    # 1. lines that cannot come back
    refused = [v for v in verdicts if v.decline is not None]
    if refused:
        outcome, decline = Outcome.decline, refused[0].decline

    # 2. block list
    blocked = _blocked(w)
    if blocked:
        fraud = blocked != "product"  # a blocked product says nothing about the buyer
        if outcome is None:
            outcome, decline = Outcome.decline, DeclineReason.blocked

    # 3. store rules
    fee_bp: int | None = None
    fee_rule: Rule | None = None
    payer_override: Payer | None = None
    if policy.rules and policy.language is not None:
        bound = policy.language.bind(facts(w, verdicts))
        for rule in policy.rules:
            if not _applies(rule, w, bound):
                continue
            action = rule.then
            w.note("store_rule", rule.description or rule.id, rule=rule.id)
            if action.outcome is not None and outcome is None:
                outcome = action.outcome
                decline = action.decline_reason
                evidence = action.evidence
            if action.restocking_fee_bp is not None and fee_bp is None:
                fee_bp, fee_rule = action.restocking_fee_bp, rule
            if action.return_shipping_paid_by is not None and payer_override is None:
                payer_override = action.return_shipping_paid_by

        if w.failed and outcome is None:
            outcome = Outcome.human_review

    refund_lines = sum(line.amount for line in request.lines)
    currency = order.currency
    fault_lines = [v for v in verdicts if v.line.reason in FAULT_REASONS]
    undelivered_claim = not delivered and all(
        v.line.reason is ReasonCode.not_received for v in verdicts
    )

    # 4. fraud signals
    email = order.email.lower()
    if email not in policy.allow_emails:
        limit = policy.fraud_max_returns
        if limit is not None and request.history.returns >= limit:
            fraud = True
            w.note(
                "serial_returner",
                f"{request.history.returns} returns in {policy.fraud_lookback_days} days "
                f"(limit {limit})",
            )
        above = policy.review_above.get(currency)
        if above is not None and refund_lines > above:
            w.note("high_value", f"refund {refund_lines} {currency} is above {above}")
            if outcome is None:
                outcome = Outcome.human_review
        if fraud and outcome is None:
            outcome = Outcome.human_review
    for finding in sorted(request.findings):
        if FINDINGS.get(finding) is Responsibility.fraud_suspected:
            fraud = True
            w.note("finding", f"inspection found {finding}")
            if outcome is None:
                outcome = Outcome.human_review

    # not received: nothing to send back, the carrier answers for it
    if outcome is None and any(v.line.reason is ReasonCode.not_received for v in verdicts):
        if undelivered_claim:
            outcome = Outcome.approve_returnless
            w.note("not_delivered", "the carrier has not delivered: refund without a return")
        else:
            outcome = Outcome.human_review
            w.note("delivered_per_carrier", "the carrier reports delivery: a person checks")

    # 5. evidence for faults
    if outcome is None and fault_lines:
        floor = policy.evidence_not_below.get(currency)
        for v in fault_lines:
            kind = policy.evidence_by_reason.get(v.line.reason)
            if kind is None or SATISFIED_BY[kind] & request.evidence:
                continue
            if floor is not None and refund_lines < floor:
                w.note("evidence_waived", f"below {floor} {currency}: no evidence needed")
                break
            outcome, evidence = Outcome.request_evidence, kind
            w.note("evidence_needed", f"{v.line.reason} needs {kind}", sku=v.line.sku)
            break

    # 6. exchange, or the buyer's choice on a major failure (AU)
    law = w.law
    if (
        outcome is None
        and law is not None
        and law.fault_remedy_choice
        and fault_lines
        and MAJOR_FAILURE in request.findings
    ):
        outcome = (
            Outcome.offer_exchange
            if request.preferred_resolution is Resolution.exchange
            else Outcome.approve_return
        )
        w.note(
            "major_failure", "major failure: the buyer chooses the remedy", basis=law.fault_basis
        )
    if (
        outcome is None
        and request.preferred_resolution is Resolution.exchange
        and policy.exchange_enabled
    ):
        outcome = Outcome.offer_exchange
        w.note("exchange", "the buyer asked for an exchange and the store offers them")

    # 7. economics: keep the item when sending it back is not worth it
    if outcome is None:
        outcome = _economics(w, verdicts, refund_lines) or Outcome.approve_return

    # 8. the statutory floor
    withdrawal = [v for v in verdicts if v.statutory_withdrawal]
    if (
        withdrawal
        and len(withdrawal) + len(fault_lines) == len(verdicts)
        and not refused
        and outcome in (Outcome.decline, Outcome.human_review, Outcome.request_evidence)
    ):
        assert law is not None
        w.note(
            "statutory_floor",
            f"a withdrawal within {law.withdrawal_days} days cannot be refused or held",
            basis=law.withdrawal_basis,
        )
        outcome, decline, evidence = Outcome.approve_return, None, None

    # 9. responsibility, return shipping, money
    responsibility = _responsibility(request, verdicts, fraud)
    payer = _payer(w, verdicts, outcome, responsibility, payer_override)
    breakdown = _breakdown(w, verdicts, outcome, payer, fee_bp, fee_rule)
    refund = max(0, sum(item.amount for item in breakdown))
    if outcome is Outcome.decline:
        refund, breakdown = 0, []
    bonus = 0
    if (
        request.preferred_resolution is Resolution.store_credit
        and policy.store_credit_bonus_bp
        and outcome in (Outcome.approve_return, Outcome.approve_returnless)
    ):
        bonus = refund * policy.store_credit_bonus_bp // 10_000
        w.note("store_credit_bonus", f"store credit bonus {bonus} {currency}")
    address = None
    if outcome in (Outcome.approve_return, Outcome.offer_exchange):
        found = policy.address_for(order.market, region)
        address = found.to_dict() if found else None
    return Decision(
        outcome=outcome,
        decline_reason=decline if outcome is Outcome.decline else None,
        responsibility=responsibility,
        refund_amount=refund,
        currency=currency,
        breakdown=tuple(breakdown),
        return_shipping_paid_by=payer,
        legal_basis=tuple(w.basis),
        reasons=tuple(w.reasons),
        policy_version=version,
        evidence_requested=evidence if outcome is Outcome.request_evidence else None,
        refund_timing=policy.refund_timing,
        refund_automatic=policy.refund_automatic,
        store_credit_bonus=bonus,
        return_address=address,
        rights={v.line.sku: v.right.value for v in verdicts if v.right is not None},
        inputs=snapshot(request),
    )


def replay(stored: dict[str, Any], policy: Policy) -> dict[str, Any]:
    """Decide again from a stored decision's own inputs and the same policy version."""
    request = from_snapshot(stored["inputs"])
    return decide(request, policy, int(stored["policy_version"])).to_dict()


def _line_verdict(w: _Work, line: ClaimLine) -> _LineVerdict:
    v = _LineVerdict(line)
    policy, law, order = w.policy, w.law, w.request.order
    delivered_at = order.delivered_at
    fault = line.reason in FAULT_REASONS
    today = utc_day(w.request.requested_at)
    if delivered_at is None:
        if line.reason is ReasonCode.not_received:
            v.right = Right.carrier_claim
            return v
        if not any(s.delivered_at for s in order.shipments):
            v.decline = DeclineReason.not_delivered
            w.note("not_delivered", "nothing has been delivered yet", sku=line.sku)
            return v
        # Part of the order arrived: the periods start with the last parcel, so they are open.
        w.note("partly_delivered", "the rest of the order is still on its way", sku=line.sku)
        delivered_at = w.request.requested_at
    start = utc_day(delivered_at)
    cm_days, fault_days = policy.windows_for(order.market, w.region, line.category)
    exempt = line.category in policy.non_returnable_categories
    final_sale = line.category in policy.final_sale_categories

    withdrawal_until = withdrawal_end(policy, law, order.market, line.category, start)
    if law is not None and withdrawal_until is not None and today <= withdrawal_until:
        v.statutory_withdrawal = not fault
        if not fault:
            v.right = Right.withdrawal
            w.note(
                "withdrawal",
                f"statutory withdrawal: {law.withdrawal_days} {law.day_count} days from delivery",
                basis=law.withdrawal_basis,
                sku=line.sku,
            )
            return v
    if fault:
        if (
            law is not None
            and law.fault_days is not None
            and today <= add_days(start, law.fault_days, DayCount.calendar)
        ):
            v.right = Right.statutory_fault
            w.note(
                "statutory_fault",
                f"statutory right for faulty goods: {law.fault_days} days",
                basis=law.fault_basis,
                sku=line.sku,
            )
        elif today <= add_days(start, fault_days, DayCount.calendar):
            v.right = Right.store_fault
            w.note("store_fault_window", f"fault reported within {fault_days} days", sku=line.sku)
        else:
            v.decline = DeclineReason.window_ended
            w.note("window_ended", f"faults are accepted for {fault_days} days", sku=line.sku)
        return v
    if exempt:
        v.decline = DeclineReason.non_returnable
        basis = law.exempt_basis if law is not None and law.exempt_basis else None
        w.note("non_returnable", f"{line.category} cannot be returned", sku=line.sku, basis=basis)
    elif final_sale:
        v.decline = DeclineReason.final_sale
        w.note("final_sale", f"{line.category} is final sale", sku=line.sku)
    elif today <= add_days(start, cm_days, DayCount.calendar):
        v.right = Right.store_change_of_mind
        w.note("store_window", f"within the store's {cm_days}-day return window", sku=line.sku)
    else:
        v.decline = DeclineReason.window_ended
        w.note("window_ended", f"the {cm_days}-day return window has ended", sku=line.sku)
    return v


def _blocked(w: _Work) -> str | None:
    """What is on the store's block list, if anything: email, order or product."""
    policy, order = w.policy, w.request.order
    if order.email.lower() in policy.block_emails:
        w.note("blocked", "the buyer's email is on the block list")
        return "email"
    if order.number in policy.block_orders:
        w.note("blocked", "the order is on the block list")
        return "order"
    for line in w.request.lines:
        if line.sku in policy.block_skus:
            w.note("blocked", "the product is on the block list", sku=line.sku)
            return "product"
    return None


def _applies(rule: Rule, w: _Work, bound: object) -> bool:
    market = w.request.order.market
    if rule.markets and market not in rule.markets and w.region not in rule.markets:
        return False
    lines = w.request.lines
    if rule.reasons and not any(line.reason in rule.reasons for line in lines):
        return False
    if rule.categories and not any(line.category in rule.categories for line in lines):
        return False
    if rule.condition is None:
        return True
    try:
        return rule.condition.matches(bound)
    except RuleFailed as exc:
        w.note("rule_failed", f"rule could not be evaluated: {exc}", rule=rule.id)
        w.failed = True
        return False


def facts(w: _Work, verdicts: list[_LineVerdict]) -> dict[str, Any]:
    """What a store rule's `when` expression can read (documented in docs/policy.md)."""
    req, order = w.request, w.request.order
    delivered = order.delivered_at
    amount = sum(line.amount for line in req.lines)
    return {
        "market": order.market,
        "region": w.region,
        "international": w.policy.origin_country not in (None, order.market),
        "delivered": delivered is not None,
        "days_since_delivery": (utc_day(req.requested_at) - utc_day(delivered)).days
        if delivered
        else -1,
        "days_since_order": (utc_day(req.requested_at) - utc_day(order.placed_at)).days,
        "order": {
            "number": order.number,
            "email": order.email.lower(),
            "currency": order.currency,
            "total": order.total_paid.amount,
            "shipping": order.shipping_paid,
        },
        "lines": [
            {
                "sku": v.line.sku,
                "category": v.line.category,
                "quantity": v.line.quantity,
                "amount": v.line.amount,
                "reason": v.line.reason.value,
                "reason_group": _GROUP[v.line.reason],
                "right": v.right.value if v.right else "",
            }
            for v in verdicts
        ],
        "reasons": sorted({line.reason.value for line in req.lines}),
        "refund": {"amount": amount, "currency": order.currency},
        "preferred_resolution": req.preferred_resolution.value,
        "buyer": {"returns": req.history.returns, "refunded": req.history.refunded},
        "evidence": {kind.value: kind in req.evidence for kind in EvidenceKind},
        "findings": sorted(req.findings),
        "statutory_withdrawal": any(v.statutory_withdrawal for v in verdicts),
    }


def _economics(w: _Work, verdicts: list[_LineVerdict], refund: int) -> Outcome | None:
    policy, order = w.policy, w.request.order
    currency = order.currency
    threshold = policy.returnless_below.get(currency)
    if threshold is not None and refund < threshold:
        w.note("returnless_threshold", f"refund {refund} is below {threshold} {currency}")
        return Outcome.approve_returnless
    lane = policy.return_cost.get(order.market, {}).get(currency)
    if lane is None:
        return None
    cost = lane + policy.handling_cost.get(currency, 0)
    recoverable = 0
    for v in verdicts:
        bp = policy.resale_faulty_bp if v.line.reason in FAULT_REASONS else policy.resale_bp
        recoverable += v.line.amount * bp // 10_000
    if cost > recoverable:
        w.note(
            "return_costs_more",
            f"returning costs {cost} {currency}, the item recovers {recoverable}",
        )
        return Outcome.approve_returnless
    return None


def _responsibility(
    request: DecisionRequest, verdicts: list[_LineVerdict], fraud: bool
) -> Responsibility:
    if fraud:
        return Responsibility.fraud_suspected
    found = {FINDINGS[f] for f in request.findings if f in FINDINGS}
    for level in _SEVERITY:
        if level in found:
            return level
    reasons = {v.line.reason for v in verdicts}
    if reasons & SELLER_REASONS:
        return Responsibility.seller
    if reasons & CARRIER_REASONS:
        return Responsibility.carrier
    return Responsibility.buyer


def _payer(
    w: _Work,
    verdicts: list[_LineVerdict],
    outcome: Outcome,
    responsibility: Responsibility,
    override: Payer | None,
) -> Payer:
    if outcome in (Outcome.approve_returnless, Outcome.decline):
        return Payer.nobody
    if responsibility in (Responsibility.seller, Responsibility.carrier):
        return Payer.store  # faulty or lost goods: the trader bears the cost
    law = w.law
    statutory: Payer | None = None
    if law is not None and any(v.statutory_withdrawal for v in verdicts):
        statutory = law.withdrawal_return_paid_by
    if statutory is Payer.store:
        return Payer.store
    by_reason = w.policy.return_shipping_by_reason
    payers = {by_reason.get(v.line.reason, w.policy.return_shipping_default) for v in verdicts}
    store_terms = override or (Payer.store if Payer.store in payers else Payer.buyer)
    # The law lets the trader charge the buyer; the store's own terms may be more generous.
    return store_terms


def _breakdown(
    w: _Work,
    verdicts: list[_LineVerdict],
    outcome: Outcome,
    payer: Payer,
    fee_override: int | None,
    fee_rule: Rule | None = None,
) -> list[RefundItem]:
    policy, request, law = w.policy, w.request, w.law
    items = [RefundItem("line", v.line.amount, v.line.sku) for v in verdicts]
    withdrawal = any(v.statutory_withdrawal for v in verdicts)
    shipping = request.order.shipping_paid
    if (
        shipping
        and request.whole_order
        and law is not None
        and law.refund_outbound_shipping
        and withdrawal
    ):
        items.append(RefundItem("outbound_shipping", shipping))
        w.note(
            "outbound_shipping",
            "a full withdrawal refunds the standard outbound delivery",
            basis=law.refund_basis or law.withdrawal_basis,
        )
    fee_bp = policy.restocking_fee_bp if fee_override is None else fee_override
    if fee_bp and outcome is not Outcome.approve_returnless:
        for v in verdicts:
            if v.line.reason in FAULT_REASONS:
                continue
            if fee_override is None and v.line.reason not in policy.restocking_fee_reasons:
                continue
            if fee_rule is not None and (
                (fee_rule.reasons and v.line.reason not in fee_rule.reasons)
                or (fee_rule.categories and v.line.category not in fee_rule.categories)
            ):
                continue  # a rule's fee applies to the lines in its scope only
            if v.statutory_withdrawal and law is not None and not law.restocking_fee_allowed:
                w.note(
                    "no_restocking_fee",
                    "no restocking fee on a statutory withdrawal",
                    basis=law.withdrawal_basis,
                    sku=v.line.sku,
                )
                continue
            fee = v.line.amount * fee_bp // 10_000
            if fee:
                items.append(RefundItem("restocking_fee", -fee, v.line.sku))
    if payer is Payer.buyer and policy.deduct_return_cost and outcome is Outcome.approve_return:
        lane = policy.return_cost.get(request.order.market, {}).get(request.order.currency)
        if lane:
            items.append(RefundItem("return_shipping", -lane))
    return items


def compile_policy(
    document: dict[str, Any], language: RuleLanguage, holidays: HolidayCalendar | None = None
) -> Policy:
    """Parse and check a policy document, and dry-run every rule against sample facts.

    A rule that cannot be evaluated (an unknown field, a type mismatch, a result that is not
    true/false) is rejected here, naming the rule, rather than failing on a buyer's return.
    """
    policy = replace(parse_policy(document, language), holidays=holidays)
    if not policy.rules:
        return policy
    known = set(facts(_Work(_samples()[0], policy, "EU", None), []))
    for index, rule in enumerate(policy.rules):
        unknown = sorted(rule.condition.names - known) if rule.condition else []
        if unknown:
            raise PolicyInvalid(
                f"rule {rule.id!r}, rules[{index}].when: there is no field {unknown[0]!r}",
                path=f"rules[{index}].when",
                rule=rule.id,
            )
    for sample in _samples():
        w = _Work(sample, policy, region_of(sample.order.market), None)
        bound = language.bind(facts(w, [_LineVerdict(line) for line in sample.lines]))
        for rule in policy.rules:
            if rule.condition is None:
                continue
            try:
                rule.condition.matches(bound)
            except RuleFailed as exc:
                index = policy.rules.index(rule)
                raise PolicyInvalid(
                    f"rule {rule.id!r}, rules[{index}].when: {exc}",
                    path=f"rules[{index}].when",
                    rule=rule.id,
                ) from None
    return policy


def _samples() -> list[DecisionRequest]:
    placed = datetime(2026, 1, 5, 12, tzinfo=UTC)
    lines = [
        OrderLine("l1", "SAMPLE-1", "Sample", 2, 5000, 9000, "general"),
        OrderLine("l2", "SAMPLE-2", "Sample", 1, 3000, 3000, "apparel"),
    ]
    out: list[DecisionRequest] = []
    for delivered in (True, False):
        shipments = [
            Shipment(
                "s1", "sample", "T1", placed, placed + timedelta(days=3) if delivered else None
            )
        ]
        order = Order("o1", "s", "1001", "buyer@example.com", "DE", "EUR", "de", placed, lines,
                      shipments, shipping_paid=500)  # fmt: skip
        out.append(
            DecisionRequest(
                order=order,
                lines=(
                    ClaimLine("SAMPLE-1", "general", 1, 4500, ReasonCode.changed_mind),
                    ClaimLine("SAMPLE-2", "apparel", 1, 3000, ReasonCode.defective),
                ),
                requested_at=placed + timedelta(days=10),
                findings=frozenset({"defect_confirmed"}),
                evidence=frozenset({EvidenceKind.photo}),
            )
        )
    return out


def _end_of(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


def line_returnability(
    order: Order, line: OrderLine, usage: LineUsage, policy: Policy, now: datetime
) -> Returnability:
    """What the buyer may still return of a line, and until when (the law's floor included)."""
    delivered = order.delivered_at
    remaining = line.quantity - usage.quantity
    region = region_of(order.market)
    law = policy.law_for(region)
    exempt = line.category in policy.non_returnable_categories
    cm_until: datetime | None = None
    fault_until: datetime | None = None
    statutory_open = False
    if delivered is not None:
        start = utc_day(delivered)
        cm_days, fault_days = policy.windows_for(order.market, region, line.category)
        cm_end = add_days(start, cm_days, DayCount.calendar)
        fault_end = add_days(start, fault_days, DayCount.calendar)
        if law is not None and law.fault_days is not None:
            fault_end = max(fault_end, add_days(start, law.fault_days, DayCount.calendar))
        statutory_end = withdrawal_end(policy, law, order.market, line.category, start)
        if statutory_end is not None:
            statutory_open = utc_day(now) <= statutory_end
            if line.category in policy.final_sale_categories:
                cm_end = statutory_end
            else:
                cm_end = max(cm_end, statutory_end)
        cm_until, fault_until = _end_of(cm_end), _end_of(fault_end)
    final_sale = exempt or (line.category in policy.final_sale_categories and not statutory_open)
    blocked: str | None = None
    if remaining <= 0:
        blocked = "already_returned"
    elif fault_until is not None and now > fault_until:
        blocked = "window_ended"
    return Returnability(line.sku, max(remaining, 0), cm_until, fault_until, final_sale, blocked)
