"""The 20 after-sales intents (see ../shared/data/intent_map.json) plus out-of-scope."""

from __future__ import annotations

from enum import StrEnum


class Intent(StrEnum):
    track_order = "track_order"
    item_not_received = "item_not_received"
    cancel_order = "cancel_order"
    change_order = "change_order"
    change_address = "change_address"
    return_request = "return_request"
    exchange_request = "exchange_request"
    refund_request = "refund_request"
    refund_status = "refund_status"
    return_policy = "return_policy"
    damaged_item = "damaged_item"
    wrong_item = "wrong_item"
    product_usage_help = "product_usage_help"
    product_info = "product_info"
    shipping_info = "shipping_info"
    payment_billing = "payment_billing"
    account_help = "account_help"
    complaint = "complaint"
    talk_to_human = "talk_to_human"
    other = "other"  # outside after-sales: never triggers an action


INTENTS: tuple[str, ...] = tuple(intent.value for intent in Intent)
OUT_OF_SCOPE = Intent.other

# Coarse groups, as in intent_map.json: some source labels only resolve to these.
COARSE_GROUPS: dict[str, tuple[Intent, ...]] = {
    "order_delivery": (Intent.track_order, Intent.item_not_received, Intent.shipping_info),
    "order_changes": (Intent.cancel_order, Intent.change_order, Intent.change_address),
    "returns_refunds": (
        Intent.return_request,
        Intent.exchange_request,
        Intent.refund_request,
        Intent.refund_status,
        Intent.return_policy,
    ),
    "product_problem": (Intent.damaged_item, Intent.wrong_item, Intent.product_usage_help),
    "pre_sales": (Intent.product_info,),
    "billing_account": (Intent.payment_billing, Intent.account_help),
    "escalation": (Intent.complaint, Intent.talk_to_human),
    "other": (Intent.other,),
}


def coarse_group(intent: str) -> str:
    for group, members in COARSE_GROUPS.items():
        if intent in members:
            return group
    raise KeyError(intent)
