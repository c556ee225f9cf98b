"""What the assistant does next with a message: a pure decision the service carries out.

Order-bound intents need a proven order first (number and email, or a buyer session); a
message that only answers the assistant's question (an order number, an email, which item)
is taken as that answer whatever the model thinks of it. Low confidence asks again once, then
hands over; "talk to a human" and anger hand over at once; out-of-scope never acts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from returndesk.domain.assistant.conversation import DialogueState, HandoffReason
from returndesk.domain.assistant.intents import Intent
from returndesk.domain.assistant.understanding import Understanding
from returndesk.domain.cases.reasons import ReasonCode

# Below this the model's best intent is a guess: ask, do not act.
MIN_CONFIDENCE = 0.45
MAX_NOT_UNDERSTOOD = 2  # in a row, then a person takes over
MAX_FAILED_CHECKS = 3  # wrong order/email pairs before the assistant stops checking


class Step(StrEnum):
    out_of_scope = "out_of_scope"
    clarify = "clarify"
    ask_order = "ask_order"
    ask_email = "ask_email"
    verify = "verify"  # check the order number and email, then do the pending intent
    choose_item = "choose_item"  # the answer to "which item?"
    order_status = "order_status"
    open_return = "open_return"
    refund_status = "refund_status"
    return_policy = "return_policy"
    information = "information"  # shipping, payment, account, product: a general answer
    help_article = "help_article"  # how-to: the knowledge base, else a person
    resolved = "resolved"  # the help article fixed it: no return
    handoff = "handoff"
    locked = "locked"  # too many wrong order/email pairs


@dataclass(frozen=True, slots=True)
class Plan:
    step: Step
    intent: str
    handoff: HandoffReason | None = None


ORDER_INTENTS = frozenset(
    {
        Intent.track_order,
        Intent.item_not_received,
        Intent.cancel_order,
        Intent.change_order,
        Intent.change_address,
        Intent.return_request,
        Intent.exchange_request,
        Intent.refund_request,
        Intent.refund_status,
        Intent.damaged_item,
        Intent.wrong_item,
    }
)
RETURN_INTENTS = frozenset(
    {
        Intent.return_request,
        Intent.exchange_request,
        Intent.refund_request,
        Intent.damaged_item,
        Intent.wrong_item,
    }
)
# The reason a return opened from the chat is filed with.
RETURN_REASONS = {
    Intent.return_request: ReasonCode.changed_mind,
    Intent.refund_request: ReasonCode.changed_mind,
    Intent.exchange_request: ReasonCode.wrong_size,
    Intent.damaged_item: ReasonCode.defective,
    Intent.wrong_item: ReasonCode.wrong_item,
}
# Finer reasons from what the message says (a return's reason drives the decision: the seller
# pays for a wrong colour, the window for faults is longer...).
_COLOUR = re.compile(r"(?i)colou?r|\bcor\b|couleur|farbe|色|颜色")
_SIZE = re.compile(r"(?i)\bsize\b|talla|tamanho|taille|größe|grösse|groesse|サイズ|尺码|尺寸|大小")
_MISSING = re.compile(
    r"(?i)missing|falta|faltando|manque|fehlt|足りない|入っていない|少了|缺少|缺件"
)


def return_reason(intent: Intent, text: str) -> ReasonCode:
    """The reason a return opened from the chat is filed with."""
    if intent is Intent.wrong_item:
        if _COLOUR.search(text):
            return ReasonCode.color_differs
        if _MISSING.search(text):
            return ReasonCode.missing_parts
    if intent in (
        Intent.wrong_item,
        Intent.exchange_request,
        Intent.return_request,
    ) and _SIZE.search(text):
        return ReasonCode.wrong_size
    return RETURN_REASONS[intent]


ORDER_CHANGES = frozenset({Intent.cancel_order, Intent.change_order, Intent.change_address})
INFORMATION = frozenset(
    {Intent.shipping_info, Intent.payment_billing, Intent.account_help, Intent.product_info}
)
# Words that mark an upset buyer in any of the languages (a complaint intent also counts).
_UPSET = re.compile(
    r"(?i)\b(?:ridiculous|unacceptable|scam|fraud|lawyer|furious|worst|disgusting|"
    r"inaceptable|estafa|vergonzoso|absurdo|ridículo|inaceitável|golpe|palhaçada|"
    r"inacceptable|arnaque|honteux|unverschämt|betrug|frechheit|anwalt)\b"
    r"|ふざけ|詐欺|最悪|ありえない|骗子|垃圾|太差|投诉"
)


_NO = re.compile(
    r"(?i)\b(?:no|nope|not|didn'?t|doesn'?t|still|não|nao|ainda|nada|nein|nicht|immer noch|"
    r"non|pas|toujours|sigue|todavía|todavia)\b|いいえ|だめ|ダメ|まだ|直らない|没有|不行|还是|没用"
)
_YES = re.compile(
    r"(?i)\b(?:yes|yep|yeah|works|worked|fixed|thanks|sí|si|sim|funcionou|funciona|resolvido|"
    r"ja|klappt|funktioniert|geht wieder|oui|marche|résolu|merci|gracias|obrigad[oa])\b"
    r"|はい|直りました|できました|ありがとう|好了|可以了|解决了|谢谢"
)


def yes_no(text: str) -> bool | None:
    """Did the buyer say it worked (True) or not (False)? None: neither is clear."""
    if _NO.search(text):
        return False
    if _YES.search(text):
        return True
    return None


def upset(text: str) -> bool:
    return bool(_UPSET.search(text)) or text.count("!") >= 4


def plan(text: str, u: Understanding, state: DialogueState, has_order: bool) -> Plan:
    """The next step for one buyer message. Mutates nothing: the service updates the state."""
    confident = u.confidence >= MIN_CONFIDENCE
    intent = Intent(u.intent)
    if confident and intent is Intent.talk_to_human:
        return Plan(Step.handoff, intent, HandoffReason.requested)
    if (confident and intent is Intent.complaint) or upset(text):
        return Plan(Step.handoff, intent, HandoffReason.upset)
    if not has_order:
        wants = intent
        if not (confident and intent in ORDER_INTENTS) and state.pending_intent:
            wants = Intent(state.pending_intent)
        asked = state.awaiting in ("order", "email")
        if asked or wants in ORDER_INTENTS or u.mentions.order_numbers:
            if state.failed_checks >= MAX_FAILED_CHECKS:
                return Plan(Step.locked, wants)
            number = u.mentions.order_numbers[0] if u.mentions.order_numbers else None
            number = number or (state.order_number if asked else None)
            if number and u.mentions.emails:
                return Plan(Step.verify, wants)
            if u.mentions.order_numbers:
                return Plan(Step.ask_email, wants)
            if asked and not confident:
                return Plan(Step.ask_email if state.awaiting == "email" else Step.ask_order, wants)
    if has_order and state.awaiting == "fixed" and state.pending_intent:
        answer = yes_no(text)
        wants_return = confident and intent in RETURN_INTENTS
        if answer is True and not wants_return:
            return Plan(Step.resolved, Intent(state.pending_intent))
        if wants_return or (answer is False and state.pending_intent == Intent.damaged_item):
            return Plan(Step.open_return, Intent(state.pending_intent))
        if answer is False:  # a how-to the article did not solve: a person
            return Plan(Step.handoff, Intent(state.pending_intent), HandoffReason.product_help)
    if (
        has_order
        and state.awaiting == "item"
        and state.pending_intent
        and not (
            confident and intent is not Intent(state.pending_intent) and intent is not Intent.other
        )
    ):
        return Plan(Step.choose_item, Intent(state.pending_intent))
    if not confident:
        if state.not_understood + 1 >= MAX_NOT_UNDERSTOOD:
            return Plan(Step.handoff, intent, HandoffReason.not_understood)
        return Plan(Step.clarify, intent)
    if intent is Intent.other:
        return Plan(Step.out_of_scope, intent)
    if intent in ORDER_INTENTS and not has_order:
        return Plan(Step.ask_order, intent)
    return for_intent(intent)


def for_intent(intent: Intent) -> Plan:
    """The step for an intent once the order (if it needs one) is known."""
    if intent in (Intent.track_order, Intent.item_not_received):
        return Plan(Step.order_status, intent)
    if intent in RETURN_INTENTS:
        return Plan(Step.open_return, intent)
    if intent is Intent.refund_status:
        return Plan(Step.refund_status, intent)
    if intent is Intent.return_policy:
        return Plan(Step.return_policy, intent)
    if intent in ORDER_CHANGES:
        return Plan(Step.handoff, intent, HandoffReason.order_change)
    if intent is Intent.product_usage_help:
        return Plan(Step.help_article, intent)
    if intent in INFORMATION:
        return Plan(Step.information, intent)
    if intent is Intent.talk_to_human:
        return Plan(Step.handoff, intent, HandoffReason.requested)
    if intent is Intent.complaint:
        return Plan(Step.handoff, intent, HandoffReason.upset)
    return Plan(Step.out_of_scope, intent)
