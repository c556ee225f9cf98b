"""The assistant's use case: one buyer message in, one reply out, acting through the same
handlers as the portal and with the buyer's permissions only.

The buyer is either signed in (a buyer session for one order) or anonymous; an anonymous
conversation reaches an order only after the buyer gives its number and email, checked by the
same handler as the portal's sign-in. Whatever the text says, every action runs as that
buyer. The model never decides a refund: returns are opened through `open_return`, and the
reply reports what the decision engine did.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from returndesk.domain.access import Permission, Role
from returndesk.domain.assistant.conversation import (
    ChatMessage,
    Conversation,
    ConversationStatus,
    HandoffReason,
    Say,
)
from returndesk.domain.assistant.dialogue import (
    MAX_FAILED_CHECKS,
    MIN_CONFIDENCE,
    ORDER_INTENTS,
    Plan,
    Step,
    for_intent,
    plan,
    return_reason,
)
from returndesk.domain.assistant.entities import answer_as_order_number
from returndesk.domain.assistant.intents import Intent
from returndesk.domain.assistant.understanding import Understanding
from returndesk.domain.cases.model import LineRequest, ReturnCase
from returndesk.domain.cases.status import TERMINAL, CaseStatus, Resolution
from returndesk.domain.errors import (
    AuthenticationFailed,
    DomainError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from returndesk.domain.ids import new_id
from returndesk.domain.markets import market_zone
from returndesk.domain.orders import SUPPORTED_LANGUAGES, Order
from returndesk.domain.policy.law import region_of
from returndesk.services.buyers import start_buyer_session
from returndesk.services.evidence import add_file
from returndesk.services.help import HelpAnswer, search_help
from returndesk.services.orders import OrderView, get_order
from returndesk.services.phrasing import rephrase, route, translate
from returndesk.services.ports import (
    Clock,
    Embedder,
    EvidenceFiles,
    LanguageModel,
    Understander,
    UnitOfWork,
    UnitOfWorkFactory,
)
from returndesk.services.principal import SYSTEM, Principal
from returndesk.services.returns import OpenReturn, open_return
from returndesk.services.stores import resolve_store
from returndesk.services.work import answer_due, follow_chat, hand_over

MAX_TEXT = 2000
MAX_MESSAGES = 400  # per conversation; then the buyer starts a new one
CHANNELS = ("portal", "widget", "api")
_CONVERSATION_ID = re.compile(r"^cv_[A-Za-z0-9_-]{20,36}$")

Writer = Callable[[Sequence[Say], str, str], str]  # (paragraphs, language, time zone) -> text


@dataclass(frozen=True, slots=True)
class BuyerMessage:
    text: str
    conversation_id: str | None = None
    order_number: str | None = None  # a hint; only a buyer session or a check binds it
    channel: str = "api"
    language: str | None = None  # the page's language: used while a message is too short
    timezone: str | None = None  # the buyer's, for times in replies
    store_slug: str | None = None


@dataclass(frozen=True, slots=True)
class AssistantReply:
    conversation_id: str
    reply: str
    language: str
    intent: str
    confidence: float
    actions: list[dict[str, Any]]
    handoff: dict[str, Any] | None
    status: str
    model: str
    seq: int  # the reply's place in the conversation (the buyer's message is seq - 1)


@dataclass(slots=True)
class _Turn:
    """What one message did, built up while the step runs."""

    says: list[Say] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    handoff: HandoffReason | None = None


@dataclass(frozen=True, slots=True)
class AssistantDeps:
    uow: UnitOfWorkFactory
    clock: Clock
    understander: Understander
    writer: Writer
    handoff_minutes: int = 240  # how soon a person answers a handed-off conversation
    embedder: Embedder | None = None  # for the knowledge base; None: how-to goes to people
    model: LanguageModel | None = None  # optional chat model: routes and phrases, never decides

    def embedder_or_fail(self) -> Embedder:
        if self.embedder is None:
            raise RuntimeError("no embedder configured")
        return self.embedder


def new_conversation_id() -> str:
    """Unguessable: for an anonymous chat the id is the key to it."""
    return "cv_" + secrets.token_urlsafe(18)


def _find(uow: UnitOfWork, conversation_id: str) -> Conversation:
    """The conversation with its messages; a malformed or unknown id is not found."""
    conversation = uow.conversations.get(check_conversation_id(conversation_id))
    if conversation is None:
        raise NotFound("no such conversation", code="conversation_not_found")
    return conversation


def check_conversation_id(value: str) -> str:
    if not _CONVERSATION_ID.match(value):
        raise NotFound("no such conversation", code="conversation_not_found")
    return value


def _buyer_for(order: Order) -> Principal:
    return Principal(
        "buyer", order.id, Role.buyer, order.store_id, order.buyer_name or order.email, order.id
    )


def _load_or_start(
    deps: AssistantDeps, principal: Principal | None, command: BuyerMessage, now: datetime
) -> tuple[Conversation, Order | None, bool]:
    """The conversation (new if none given) and its order, checked against the caller."""
    with deps.uow() as uow:
        if command.conversation_id:
            conversation = _find(uow, command.conversation_id)
            if principal is not None and principal.role is Role.buyer:
                if conversation.order_id not in (None, principal.order_id):
                    raise NotFound("no such conversation", code="conversation_not_found")
                principal.check_store(conversation.store_id)
            fresh = False
        else:
            store = resolve_store(uow, principal or SYSTEM, command.store_slug)
            language = command.language if command.language in SUPPORTED_LANGUAGES else "en"
            conversation = Conversation(
                id=new_conversation_id(),
                store_id=store.id,
                channel=command.channel,
                language=language,
                created_at=now,
                updated_at=now,
            )
            fresh = True
        if principal is not None and principal.role is Role.buyer and principal.order_id:
            conversation.order_id = principal.order_id  # a signed-in buyer: their order
        order = uow.orders.get(conversation.order_id) if conversation.order_id else None
        if order is not None:
            conversation.language = (
                conversation.language if conversation.messages else order.language
            )
        return conversation, order, fresh


def send_message(
    deps: AssistantDeps, principal: Principal | None, command: BuyerMessage
) -> AssistantReply:
    """principal: a buyer session, or None for an anonymous chat (portal or widget)."""
    if principal is not None and principal.role is not Role.buyer:
        raise PermissionDenied("staff answer in the console, not as the buyer")
    text = command.text.strip()
    if not text or len(text) > MAX_TEXT:
        raise ValidationFailed(f"a message is 1-{MAX_TEXT} characters", code="invalid_message")
    if command.channel not in CHANNELS:
        raise ValidationFailed("unknown channel", code="invalid_channel")
    now = deps.clock()
    conversation, order, fresh = _load_or_start(deps, principal, command, now)
    if len(conversation.messages) >= MAX_MESSAGES:
        raise ValidationFailed(
            "this conversation is full: start a new one", code="conversation_full"
        )
    before = conversation.updated_at
    skus = [line.sku for line in order.lines] if order else []
    understood = deps.understander.understand(text, conversation.language, skus)
    if conversation.state.awaiting == "order" and order is None:
        mentions = answer_as_order_number(text, understood.mentions)
        understood = replace(understood, mentions=mentions)
    if command.order_number and order is None and not understood.mentions.order_numbers:
        # the page knows the order (a link from an email): as if the buyer had named it;
        # the email check still decides whether this chat may see it
        mentions = replace(understood.mentions, order_numbers=(command.order_number.strip(),))
        understood = replace(understood, mentions=mentions)
    conversation.language = understood.language
    if (
        deps.model is not None
        and (understood.confidence < MIN_CONFIDENCE or understood.intent == Intent.other)
        and conversation.state.awaiting is None
        and conversation.status is not ConversationStatus.handed_off
    ):
        # unsure, or "not about an order" (where vague messages land): the model picks a
        # tool; what follows is the same plan, checks and handlers
        routed = route(deps.model, text)
        if routed is not None:
            understood = replace(understood, intent=routed.value, confidence=MIN_CONFIDENCE)
    turn = _Turn()
    intent = understood.intent
    if conversation.status is ConversationStatus.handed_off:
        turn.says.append(Say("handoff_waiting"))
        turn.actions.append({"type": "handoff_waiting"})
    else:
        conversation.status = ConversationStatus.open
        if conversation.state.pending_intent is None:  # a new request: its words are a
            conversation.state.request_text = text[:1000]  # return's comment, if one follows
        step = plan(text, understood, conversation.state, order is not None)
        intent = step.intent
        order = _carry_out(deps, conversation, order, step, understood, text, turn)
    if turn.handoff is not None:
        _hand_off(conversation, order, turn, understood, text)
    tz = command.timezone or (market_zone(order.market) if order else "UTC")
    expected = None
    if conversation.status is ConversationStatus.handed_off:
        handled_by = None if turn.handoff else (conversation.summary or {}).get("team_id")
        with deps.uow() as uow:
            expected, warn_at, routing = hand_over(
                uow,
                conversation.store_id,
                conversation.language,
                order.market if order else None,
                now,
                timedelta(minutes=deps.handoff_minutes),
                answered=conversation.answer.answered,
                team_id=handled_by,  # a later wait: the hours of the team that has the chat
            )
            case_due = None
            if conversation.case_id:
                work = follow_chat(uow, conversation.case_id, False, now, save=False)
                case_due = answer_due(work) if work is not None else None
        if case_due is not None and case_due > now:
            # The case's own clock keeps the promise: it warns and escalates at its due time.
            expected = case_due
            conversation.answer.stop(answered=False)
        else:
            # No case, or its clocks cannot (paused, over, or already missed): the chat's own.
            conversation.answer.start(expected, warn_at)
            expected = conversation.answer.due_at or expected
        if turn.handoff is not None:
            if routing is not None and conversation.summary is not None:
                conversation.summary |= {
                    "team_id": routing.team_id,
                    "assignee_id": routing.assignee_id,
                    "routing_rule": routing.rule,
                }
            turn.says.append(Say("handoff_when", {"when": expected}))
    reply = deps.writer(turn.says, conversation.language, tz)
    if deps.model is not None:
        reply = rephrase(deps.model, text, reply, conversation.language, turn.actions) or reply
    conversation.updated_at = now
    buyer_message = ChatMessage(
        new_id(),
        conversation.next_seq,
        "buyer",
        order.buyer_name if order else "",
        text,
        understood.language,
        now,
        str(intent),
        understood.confidence,
    )
    return _record(deps, conversation, fresh, before, buyer_message, reply, turn, expected,
                   understood.confidence)  # fmt: skip


def _record(
    deps: AssistantDeps,
    conversation: Conversation,
    fresh: bool,
    before: datetime,
    buyer_message: ChatMessage,
    reply: str,
    turn: _Turn,
    expected: datetime | None,
    confidence: float,
) -> AssistantReply:
    """Store the buyer's message and the reply in one transaction (a new conversation with
    them); what the caller gets back."""
    answer = ChatMessage(
        new_id(),
        buyer_message.seq + 1,
        "assistant",
        "ReturnDesk",
        reply,
        conversation.language,
        buyer_message.created_at,
        None,
        None,
        tuple(turn.actions),
    )
    with deps.uow(write=True) as uow:
        if fresh:
            uow.conversations.add(conversation)
            uow.conversations.add_messages(conversation.id, [buyer_message, answer])
        else:
            uow.conversations.save(conversation, [buyer_message, answer], before)
        if conversation.status is ConversationStatus.handed_off and conversation.case_id:
            follow_chat(uow, conversation.case_id, False, buyer_message.created_at)
        uow.commit()
    handoff = None
    if conversation.status is ConversationStatus.handed_off:
        handoff = {
            "reason": conversation.handoff_reason.value if conversation.handoff_reason else None,
            "expected_by": expected.isoformat() if expected else None,
        }
    return AssistantReply(
        conversation_id=conversation.id,
        reply=reply,
        language=conversation.language,
        intent=buyer_message.intent or "photo",
        confidence=confidence,
        actions=turn.actions,
        handoff=handoff,
        status=conversation.status.value,
        model=deps.understander.version,
        seq=answer.seq,
    )


def _carry_out(
    deps: AssistantDeps,
    conversation: Conversation,
    order: Order | None,
    step: Plan,
    understood: Understanding,
    text: str,
    turn: _Turn,
) -> Order | None:
    state = conversation.state
    state.tried.append(step.step.value)
    if step.step is not Step.clarify:
        state.not_understood = 0
    match step.step:
        case Step.handoff:
            state.awaiting = state.pending_intent = None
            turn.handoff = step.handoff
        case Step.clarify:
            state.not_understood += 1
            turn.says.append(Say("clarify"))
        case Step.out_of_scope:
            turn.says.append(Say("out_of_scope"))
        case Step.locked:
            turn.says.append(Say("check_locked"))
            turn.handoff = HandoffReason.repeated_failure
        case Step.ask_order:
            state.awaiting, state.pending_intent = "order", step.intent
            turn.says.append(Say("ask_order"))
        case Step.ask_email:
            state.awaiting, state.pending_intent = "email", step.intent
            if understood.mentions.order_numbers:
                state.order_number = understood.mentions.order_numbers[0]
            turn.says.append(Say("ask_email", {"number": state.order_number or ""}))
        case Step.verify:
            order = _verify(deps, conversation, understood, step, turn)
            if order is not None and step.intent in ORDER_INTENTS:
                return _carry_out(
                    deps,
                    conversation,
                    order,
                    for_intent(Intent(step.intent)),
                    understood,
                    text,
                    turn,
                )
        case Step.order_status:
            assert order is not None
            _order_status(order, step, turn)
        case Step.open_return | Step.choose_item:
            assert order is not None
            if not _troubleshoot_first(deps, conversation, order, step, text, turn):
                _return(deps, conversation, order, step, understood, text, turn)
        case Step.resolved:
            state.awaiting = state.pending_intent = state.request_text = None
            conversation.status = ConversationStatus.closed
            conversation.summary = {
                "outcome": "resolved_by_guidance",
                "intent": step.intent,
                "language": conversation.language,
                "order_number": order.number if order else None,
            }
            turn.says.append(Say("fixed_glad"))
            turn.actions.append({"type": "resolved_by_guidance"})
        case Step.refund_status:
            assert order is not None
            _refund_status(deps, order, turn)
        case Step.return_policy:
            _return_policy(deps, conversation, order, turn)
        case Step.help_article:
            _help(deps, conversation, order, text, turn)
        case Step.information:
            turn.says.append(Say(f"info_{step.intent}"))
            turn.actions.append({"type": "information", "topic": step.intent})
    return order


def _verify(
    deps: AssistantDeps,
    conversation: Conversation,
    understood: Understanding,
    step: Plan,
    turn: _Turn,
) -> Order | None:
    state = conversation.state
    number = (understood.mentions.order_numbers or (state.order_number or "",))[0]
    email = understood.mentions.emails[0]
    with deps.uow() as uow:
        store = uow.stores.get(conversation.store_id)
        slug = store.slug if store else None
    try:
        buyer = start_buyer_session(deps.uow, number, email, slug)
    except AuthenticationFailed:
        state.failed_checks += 1
        state.awaiting, state.pending_intent, state.order_number = "order", step.intent, None
        turn.actions.append({"type": "verify_order", "ok": False})
        if state.failed_checks >= MAX_FAILED_CHECKS:
            turn.says.append(Say("check_locked"))
            turn.handoff = HandoffReason.repeated_failure
        else:
            turn.says.append(Say("check_failed"))
        return None
    with deps.uow() as uow:
        order = uow.orders.get(buyer.order_id or "")
    assert order is not None
    conversation.order_id = order.id
    state.awaiting, state.order_number, state.failed_checks = None, None, 0
    state.pending_intent = None
    turn.actions.append({"type": "verify_order", "ok": True, "order_number": order.number})
    turn.says.append(Say("check_ok", {"number": order.number}))
    if step.intent not in ORDER_INTENTS:
        turn.says.append(Say("how_can_i_help"))
    return order


def _order_status(order: Order, step: Plan, turn: _Turn) -> None:
    start = len(turn.says)  # after anything said before (the order check)
    shipments = []
    for shipment in order.shipments:
        status = (
            "delivered"
            if shipment.delivered_at
            else ("in_transit" if shipment.shipped_at else "preparing")
        )
        shipments.append(
            {
                "carrier": shipment.carrier,
                "tracking_number": shipment.tracking_number,
                "status": status,
                "shipped_at": shipment.shipped_at.isoformat() if shipment.shipped_at else None,
                "delivered_at": shipment.delivered_at.isoformat()
                if shipment.delivered_at
                else None,
            }
        )
        if shipment.delivered_at:
            turn.says.append(
                Say(
                    "shipment_delivered",
                    {
                        "carrier": shipment.carrier,
                        "tracking": shipment.tracking_number,
                        "when": shipment.delivered_at,
                    },
                )
            )
        elif shipment.shipped_at:
            turn.says.append(
                Say(
                    "shipment_in_transit",
                    {
                        "carrier": shipment.carrier,
                        "tracking": shipment.tracking_number,
                        "when": shipment.shipped_at,
                    },
                )
            )
        else:
            turn.says.append(Say("shipment_preparing", {"carrier": shipment.carrier}))
    if not order.shipments:
        turn.says.insert(start, Say("order_not_shipped", {"number": order.number}))
    else:
        turn.says.insert(start, Say("order_status_intro", {"number": order.number}))
    turn.actions.append(
        {"type": "order_status", "order_number": order.number, "shipments": shipments}
    )
    all_delivered = bool(order.shipments) and order.delivered_at is not None
    if step.intent == Intent.item_not_received and all_delivered:
        turn.handoff = HandoffReason.delivery_problem


def _returnable_lines(view: OrderView) -> list[tuple[int, str, str]]:
    """(position, sku, title) of lines with something left to return, numbered from 1."""
    lines = []
    for position, line in enumerate(view.order.lines, start=1):
        able = view.returnability.get(line.sku)
        if able is not None and able.returnable_quantity > 0 and not able.blocked_code:
            lines.append((position, line.sku, line.title))
    return lines


def _chosen(text: str, understood: Understanding, lines: list[tuple[int, str, str]]) -> str | None:
    for sku in understood.mentions.skus:
        if any(sku == s for _, s, _ in lines):
            return sku
    digits = re.findall(r"(?<![\w#-])(\d{1,2})(?![\w-])", text)
    for digit in digits:
        for position, sku, _ in lines:
            if int(digit) == position:
                return sku
    folded = text.casefold()
    matches = [sku for _, sku, title in lines if title and title.casefold() in folded]
    if len(matches) == 1:
        return matches[0]
    named = _named_by_words(text, [(sku, title) for _, sku, title in lines])
    return named[0] if len(named) == 1 else None


def _return(
    deps: AssistantDeps,
    conversation: Conversation,
    order: Order,
    step: Plan,
    understood: Understanding,
    text: str,
    turn: _Turn,
) -> None:
    state = conversation.state
    buyer = _buyer_for(order)
    view = get_order(deps.uow, buyer, order.number, deps.clock)
    lines = _returnable_lines(view)
    if not lines:
        codes = {a.blocked_code for a in view.returnability.values() if a.blocked_code}
        turn.says.append(Say("nothing_returnable", {"code": sorted(codes)[0] if codes else ""}))
        turn.actions.append(
            {"type": "return_options", "order_number": order.number, "returnable": []}
        )
        state.awaiting = state.pending_intent = None
        return
    sku = lines[0][1] if len(lines) == 1 else _chosen(text, understood, lines)
    request = state.request_text or text  # the words that asked for the return
    if sku is None and step.step is Step.open_return:  # named by meaning, in any language
        named = _named_products(deps, request, [(s, t) for _, s, t in lines])
        sku = named[0] if len(named) == 1 else None
    if sku is None:
        if step.step is Step.choose_item and state.tried[-2:] == ["choose_item", "choose_item"]:
            turn.handoff = HandoffReason.repeated_failure
            return
        state.awaiting, state.pending_intent = "item", step.intent
        items = [{"position": p, "sku": s, "title": t} for p, s, t in lines]
        turn.says.append(Say("which_item", {"items": items}))
        turn.actions.append(
            {"type": "return_options", "order_number": order.number, "returnable": items}
        )
        return
    state.awaiting = state.pending_intent = None
    intent = Intent(step.intent)
    comment = state.request_text or text[:1000]
    state.request_text = None
    reason = return_reason(intent, comment)
    resolution = Resolution.exchange if intent is Intent.exchange_request else Resolution.refund
    command = OpenReturn(order.number, (LineRequest(sku, 1, reason, comment),), resolution)
    key = f"assistant:{conversation.id}:{conversation.next_seq}"
    try:
        case = open_return(deps.uow, deps.clock, buyer, command, key).case
    except ValidationFailed as exc:
        turn.says.append(Say("return_declined", {"code": exc.code}))
        turn.actions.append({"type": "open_return", "ok": False, "code": exc.code, "sku": sku})
        return
    except DomainError as exc:
        turn.says.append(Say("action_failed"))
        turn.actions.append({"type": "open_return", "ok": False, "code": exc.code, "sku": sku})
        turn.handoff = HandoffReason.repeated_failure
        return
    conversation.case_id = case.id
    _report_case(case, turn)
    turn.actions.append(
        {
            "type": "open_return",
            "ok": True,
            "case_id": case.id,
            "case_number": case.number,
            "sku": sku,
            "reason": reason.value,
            "status": case.status.value,
            "outcome": (case.decision or {}).get("outcome"),
        }
    )


def _report_case(case: ReturnCase, turn: _Turn) -> None:
    """Only what the engine decided and the store applied; nothing is promised beyond it."""
    decision = case.decision or {}
    params: dict[str, Any] = {"number": case.number}
    if case.status is CaseStatus.awaiting_return:
        address = decision.get("return_address") or {}
        params["address"] = ", ".join([address.get("name", ""), *address.get("lines", [])])
        turn.says.append(Say("return_approved", params))
    elif case.status is CaseStatus.approved and decision.get("outcome") == "approve_returnless":
        turn.says.append(Say("return_keep_item", params))
    elif case.status is CaseStatus.needs_evidence:
        turn.says.append(Say("return_needs_photo", params))
    else:
        turn.says.append(Say("return_in_review", params))
        if decision.get("outcome") == "human_review":
            turn.handoff = HandoffReason.human_review


def _refund_status(deps: AssistantDeps, order: Order, turn: _Turn) -> None:
    with deps.uow() as uow:
        summaries = uow.cases.for_order(order.id)
        cases = [c for c in (uow.cases.get(s.id) for s in summaries) if c is not None]
    if not cases:
        turn.says.append(Say("no_return_yet", {"number": order.number}))
        turn.actions.append({"type": "refund_status", "cases": []})
        return
    found = []
    for case in cases[-3:]:
        # Only what happened: an amount is named once the refund is decided (refund_pending)
        # or paid; before that the buyer hears the return's status, not a figure.
        if case.refunded_amount and case.status in (CaseStatus.refunded, CaseStatus.closed):
            turn.says.append(
                Say(
                    "refund_paid",
                    {"number": case.number, "amount": (case.refunded_amount, case.currency)},
                )
            )
        elif case.status is CaseStatus.refund_pending and case.refund_amount is not None:
            turn.says.append(
                Say(
                    "refund_pending",
                    {"number": case.number, "amount": (case.refund_amount, case.currency)},
                )
            )
        else:
            turn.says.append(
                Say("case_status", {"number": case.number, "status": case.status.value})
            )
        found.append(
            {
                "case_number": case.number,
                "status": case.status.value,
                "refund_amount": case.refund_amount,
                "refunded_amount": case.refunded_amount,
                "currency": case.currency,
            }
        )
    turn.actions.append({"type": "refund_status", "cases": found})


def _return_policy(
    deps: AssistantDeps, conversation: Conversation, order: Order | None, turn: _Turn
) -> None:
    with deps.uow() as uow:
        store = uow.stores.get(conversation.store_id)
        if store is None:
            raise NotFound("store not found")
        _, policy = uow.policies.active(store)
    days = policy.change_of_mind_days
    turn.says.append(Say("policy_window", {"days": days}))
    action: dict[str, Any] = {"type": "return_policy", "change_of_mind_days": days}
    if order is not None:
        address = policy.address_for(order.market, region_of(order.market))
        if address is not None:
            turn.says.append(
                Say(
                    "policy_address",
                    {"market": order.market, "address": ", ".join([address.name, *address.lines])},
                )
            )
            action["return_address"] = address.to_dict()
    turn.actions.append(action)


def _troubleshoot_first(
    deps: AssistantDeps,
    conversation: Conversation,
    order: Order,
    step: Plan,
    text: str,
    turn: _Turn,
) -> bool:
    """ "It is broken" about a product with a help article: the article first, and a return
    only if it did not help (many "defects" are a set-up question). True: answered."""
    state = conversation.state
    if state.awaiting == "fixed":  # the article was tried and did not help: now the return
        state.awaiting = None
        return False
    if deps.embedder is None or step.step is not Step.open_return:
        return False
    if step.intent != Intent.damaged_item:
        return False
    named = _named_products(deps, text, [(ln.sku, ln.title) for ln in order.lines])
    if not named and len(order.lines) != 1:
        return False
    answer = search_help(
        deps.uow,
        deps.embedder,
        conversation.store_id,
        text,
        conversation.language,
        named or tuple(line.sku for line in order.lines),
        product_named=True,
    )
    if answer is None:
        return False
    _say_help(answer, turn)
    turn.says.append(Say("did_it_help"))
    state.awaiting, state.pending_intent = "fixed", step.intent
    return True


# A product is named by meaning when its title is this close to the message (e5, query vs
# passage) and clearly closer than the next one: "Schreibtischlampe" names "Desk lamp".
NAMED_SIMILARITY = 0.80
NAMED_MARGIN = 0.025


def _named_by_words(text: str, products: list[tuple[str, str]]) -> tuple[str, ...]:
    """The (sku, title) pairs the text names by sku or by a word (4+ letters) of the title."""
    folded = text.casefold()
    words = set(re.findall(r"\w{4,}", folded))
    return tuple(
        sku
        for sku, title in products
        if sku.casefold() in folded or words & set(re.findall(r"\w{4,}", title.casefold()))
    )


def _named_products(
    deps: AssistantDeps, text: str, products: list[tuple[str, str]]
) -> tuple[str, ...]:
    """Which of these (sku, title) the message names: by sku or a word of the title, else by
    meaning across languages (the store's titles are often in another language)."""
    found = _named_by_words(text, products)
    if found or deps.embedder is None or len(products) < 2:
        return found
    titles = np.asarray(deps.embedder.embed_passages([title for _, title in products]))
    scores = titles @ np.asarray(deps.embedder.embed([text]))[0]
    order = np.argsort(-scores)
    best, second = float(scores[order[0]]), float(scores[order[1]])
    if best >= NAMED_SIMILARITY and best - second >= NAMED_MARGIN:
        return (products[int(order[0])][0],)
    return ()


def _help(
    deps: AssistantDeps, conversation: Conversation, order: Order | None, text: str, turn: _Turn
) -> None:
    """An article section about the buyer's products, in their language when it exists."""
    answer = None
    if deps.embedder is not None:
        skus: tuple[str, ...] | None = None
        named = False
        if order is not None:
            mentioned = _named_products(deps, text, [(ln.sku, ln.title) for ln in order.lines])
            named = bool(mentioned) or len(order.lines) == 1
            skus = mentioned or tuple(line.sku for line in order.lines)
        answer = search_help(
            deps.uow,
            deps.embedder,
            conversation.store_id,
            text,
            conversation.language,
            skus,
            product_named=named,
        )
    if answer is None:
        turn.handoff = HandoffReason.product_help
        turn.actions.append({"type": "help_article", "found": False})
        return
    _say_help(answer, turn)
    turn.says.append(Say("did_it_help_person"))
    conversation.state.awaiting = "fixed"
    conversation.state.pending_intent = Intent.product_usage_help.value


def _say_help(answer: HelpAnswer, turn: _Turn) -> None:
    url = f"/portal/help/{answer.slug}/{answer.language}"
    if not answer.in_buyer_language:
        turn.says.append(Say("help_other_language", {"language": answer.language}))
    if answer.heading == answer.title:  # the article's introduction
        turn.says.append(Say("help_answer_intro", {"title": answer.title, "text": answer.text}))
    else:
        turn.says.append(
            Say(
                "help_answer",
                {"title": answer.title, "heading": answer.heading, "text": answer.text},
            )
        )
    turn.actions.append(
        {
            "type": "help_article",
            "found": True,
            "slug": answer.slug,
            "language": answer.language,
            "in_buyer_language": answer.in_buyer_language,
            "similarity": answer.similarity,
            "url": url,
        }
    )


def _hand_off(
    conversation: Conversation,
    order: Order | None,
    turn: _Turn,
    understood: Understanding,
    text: str,
) -> None:
    """Into the agents' queue, with what a person needs to pick it up."""
    reason = turn.handoff
    assert reason is not None
    conversation.status = ConversationStatus.handed_off
    conversation.handoff_reason = reason
    conversation.summary = {
        "reason": reason.value,
        "intent": understood.intent,
        "confidence": understood.confidence,
        "language": conversation.language,
        "order_number": order.number if order else None,
        "case_id": conversation.case_id,
        "tried": conversation.state.tried[-10:],
        "last_message": text[:500],
    }
    turn.says.append(Say(f"handoff_{reason.value}"))
    turn.actions.append({"type": "handoff", "reason": reason.value})


# --- people's side: the queue, reading a conversation, answering --------------------------


def get_conversation(
    uow_factory: UnitOfWorkFactory, principal: Principal | None, conversation_id: str
) -> Conversation:
    """Staff of the store; the buyer of its order; or whoever holds the conversation's id,
    which is unguessable and works like a session token (the widget keeps it in the page)."""
    with uow_factory() as uow:
        conversation = _find(uow, conversation_id)
    if principal is None:
        return conversation
    if principal.role is Role.buyer:
        if conversation.order_id not in (None, principal.order_id):
            raise NotFound("no such conversation", code="conversation_not_found")
        principal.check_store(conversation.store_id)
        return conversation
    principal.require(Permission.conversation_read)
    principal.check_store(conversation.store_id)
    return conversation


def list_conversations(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    status: str | None = None,
    store_slug: str | None = None,
) -> list[Conversation]:
    principal.require(Permission.conversation_read)
    if status is not None and status not in {s.value for s in ConversationStatus}:
        raise ValidationFailed("unknown conversation status", code="invalid_status")
    with uow_factory() as uow:
        store = resolve_store(uow, principal, store_slug)
        return uow.conversations.queue(store.id, status)


@dataclass(frozen=True, slots=True)
class AgentReply:
    text: str
    close: bool = False  # done: hand the conversation back to the assistant (or close it)
    back_to_assistant: bool = False
    translate: bool = False  # into the buyer's language, by the chat model (if configured)
    actions: tuple[dict[str, Any], ...] = ()  # what the message offers (e.g. a video call link)


def answer_as_agent(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    principal: Principal,
    conversation_id: str,
    command: AgentReply,
    model: LanguageModel | None = None,
) -> Conversation:
    """A person answers in the conversation; it stays with people until they hand it back.
    With `translate` and a chat model, the answer goes out in the buyer's language (kept only
    if it keeps every number and code; the original is kept with the message)."""
    principal.require(Permission.conversation_reply)
    text = command.text.strip()
    if len(text) > MAX_TEXT or (not text and not (command.close or command.back_to_assistant)):
        raise ValidationFailed(f"a message is 1-{MAX_TEXT} characters", code="invalid_message")
    notes: tuple[dict[str, Any], ...] = ()
    if text and command.translate and model is not None:
        language = get_conversation(uow_factory, principal, conversation_id).language
        translated = translate(model, text, language)
        if translated is not None and translated != text:
            notes = ({"type": "translated", "language": language, "original": text},)
            text = translated
    now = clock()
    with uow_factory(write=True) as uow:
        conversation = _find(uow, conversation_id)
        principal.check_store(conversation.store_id)
        if len(conversation.messages) >= MAX_MESSAGES:
            raise ValidationFailed("this conversation is full", code="conversation_full")
        before = conversation.updated_at
        messages = []
        if text:
            messages.append(
                ChatMessage(
                    new_id(),
                    conversation.next_seq,
                    "agent",
                    principal.name or "Agent",
                    text,
                    conversation.language,
                    now,
                    actions=(*notes, *command.actions),
                )
            )
        if messages or command.close or command.back_to_assistant:
            conversation.answer.stop(answered=bool(messages))
        if (
            messages
            and conversation.summary is not None
            and not conversation.summary.get("assignee_id")
        ):  # it waited in a team's queue: whoever answers has it now
            conversation.summary = conversation.summary | {"assignee_id": principal.id}
        if command.close:
            conversation.status = ConversationStatus.closed
        elif command.back_to_assistant:
            conversation.status = ConversationStatus.open
            conversation.handoff_reason = None
            conversation.state.not_understood = 0
        conversation.updated_at = max(now, before + timedelta(microseconds=1))
        uow.conversations.save(conversation, messages, before)
        if messages and conversation.case_id:
            follow_chat(uow, conversation.case_id, True, now)
        uow.commit()
        conversation.messages.extend(messages)
        return conversation


def case_conversations(
    uow_factory: UnitOfWorkFactory, principal: Principal, case_id: str
) -> list[Conversation]:
    """The chats about a case's order (staff of its store), oldest first, without messages."""
    principal.require(Permission.conversation_read)
    with uow_factory() as uow:
        case = uow.cases.get(case_id)
        if case is None:
            raise NotFound("case not found", code="case_not_found")
        principal.check_store(case.store_id)
        return uow.conversations.for_order(case.order_id)


# --- photos sent in the chat ----------------------------------------------------------------

MAX_PHOTO_BYTES = 15 * 1024 * 1024


def send_photo(
    deps: AssistantDeps,
    files: EvidenceFiles,
    principal: Principal | None,
    conversation_id: str | None,
    source: Path,
    filename: str,
    language: str | None = None,
    store_slug: str | None = None,
) -> AssistantReply:
    """A photo from the buyer becomes evidence on the return it is about, through the same
    checks as any upload; the reply asks for another one when it is too dark, too bright or
    blurred. Without a return to attach it to, the buyer is asked what is wrong first."""
    if principal is not None and principal.role is not Role.buyer:
        principal = None  # staff trying the chat are anonymous here too
    now = deps.clock()
    start = BuyerMessage("", conversation_id, language=language, store_slug=store_slug)
    conversation, order, fresh = _load_or_start(deps, principal, start, now)
    if len(conversation.messages) >= MAX_MESSAGES:
        raise ValidationFailed(
            "this conversation is full: start a new one", code="conversation_full"
        )
    before = conversation.updated_at
    turn = _Turn()
    case_id = _photo_case(deps, conversation, order)
    item = None
    if order is None or case_id is None:
        turn.says.append(Say("photo_needs_return"))
        turn.actions.append({"type": "photo", "ok": False, "code": "no_return"})
    else:
        try:
            item = add_file(
                deps.uow,
                deps.clock,
                files,
                _buyer_for(order),
                case_id=case_id,
                kind="photo",
                source=source,
                filename=filename[:200] or "photo.jpg",
                device="chat",
            )
        except ValidationFailed as exc:
            turn.says.append(Say("photo_refused", {"code": exc.code}))
            turn.actions.append({"type": "photo", "ok": False, "code": exc.code})
        else:
            conversation.case_id = case_id
            quality = list(item.details.get("quality") or [])
            with deps.uow() as uow:
                case = uow.cases.get(case_id)
            number = case.number if case else ""
            if quality:
                turn.says.append(Say(f"photo_{quality[0]}", {"number": number}))
            else:
                turn.says.append(Say("photo_received", {"number": number}))
            turn.actions.append(
                {
                    "type": "photo",
                    "ok": True,
                    "evidence_id": item.id,
                    "case_id": case_id,
                    "quality": quality,
                }
            )
    tz = market_zone(order.market) if order else "UTC"
    reply = deps.writer(turn.says, conversation.language, tz)
    conversation.updated_at = now
    photo_note = ChatMessage(
        new_id(),
        conversation.next_seq,
        "buyer",
        order.buyer_name if order else "",
        f"[{filename[:200] or 'photo'}]",
        conversation.language,
        now,
        None,
        None,
        ({"type": "photo", "evidence_id": item.id} if item else {"type": "photo"},),
    )
    return _record(deps, conversation, fresh, before, photo_note, reply, turn, None, 1.0)


def _photo_case(deps: AssistantDeps, conversation: Conversation, order: Order | None) -> str | None:
    """The return the photo is for: the one opened in this chat, else the order's newest
    return that is still open."""
    if order is None:
        return None
    if conversation.case_id:
        return conversation.case_id
    with deps.uow() as uow:
        open_cases = [c for c in uow.cases.for_order(order.id) if c.status not in TERMINAL]
    return max(open_cases, key=lambda c: c.created_at).id if open_cases else None
