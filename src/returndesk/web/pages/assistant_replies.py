"""The assistant's words, from the one message catalogue, in the buyer's language.

The service decides what to say (keys and values); this module says it: dates in the buyer's
time zone, money in their locale, codes through the catalogue's labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from babel import Locale, UnknownLocaleError

from returndesk.domain.assistant.conversation import Say
from returndesk.domain.orders import SUPPORTED_LANGUAGES
from returndesk.web.pages import labels
from returndesk.web.pages.i18n import (
    LANGUAGE_NAMES,
    Formatter,
    babel_id,
    negotiate,
    translations,
    zone,
)
from returndesk.web.pages.labels import N_

REPLIES = {
    "clarify": N_(
        "Sorry, I did not quite understand. Could you say it in other words? I can help with "
        "your order, its delivery, returns, exchanges and refunds."
    ),
    "out_of_scope": N_(
        "I can only help with your orders from this shop: delivery, returns, exchanges, "
        "refunds and your purchases. Is there anything about an order I can do for you?"
    ),
    "ask_order": N_(
        "I can look that up. What is your order number? You find it in your order "
        "confirmation email."
    ),
    "ask_email": N_(
        "Thanks. To make sure the order %(number)s is yours, what email address did you use for it?"
    ),
    "check_failed": N_(
        "I could not find an order with that number and email. Please check both and send "
        "the order number again."
    ),
    "check_locked": N_(
        "That did not match several times, so I cannot look up orders in this chat any more."
    ),
    "check_ok": N_("Thanks, I found your order %(number)s."),
    "how_can_i_help": N_("How can I help with it?"),
    "order_not_shipped": N_("Your order %(number)s has not been shipped yet."),
    "order_status_intro": N_("Here is where your order %(number)s is:"),
    "shipment_in_transit": N_(
        "Shipped with %(carrier)s on %(when)s, tracking number %(tracking)s. It has not been "
        "delivered yet."
    ),
    "shipment_delivered": N_(
        "Delivered by %(carrier)s on %(when)s (tracking number %(tracking)s)."
    ),
    "shipment_preparing": N_("A parcel is being prepared; it will go with %(carrier)s."),
    "which_item": N_("Which item is it about? Reply with its number:"),
    "nothing_returnable": N_("Nothing on this order can be returned at the moment."),
    "return_declined": N_("I could not open a return for it."),
    "action_failed": N_("Something went wrong on our side while doing that."),
    "return_approved": N_(
        "I opened return %(number)s and it is approved. Please send the item to: %(address)s. "
        "Write %(number)s on the parcel."
    ),
    "return_keep_item": N_(
        "I opened return %(number)s: you can keep the item, there is no need to send it back."
    ),
    "return_needs_photo": N_(
        "I opened return %(number)s. We need a photo of the item first: you can send it here "
        "in the chat or on the return's page."
    ),
    "return_in_review": N_(
        "I opened return %(number)s. Our team will review it and you will hear from us by email."
    ),
    "no_return_yet": N_("There is no return for order %(number)s yet, so no refund either."),
    "refund_paid": N_("Return %(number)s: %(amount)s was refunded."),
    "refund_pending": N_(
        "Return %(number)s: a refund of %(amount)s is decided and on its way to you."
    ),
    "case_status": N_("Return %(number)s: %(status)s. There is no refund on it yet."),
    "policy_window": N_(
        "You can return most items within %(days)s days of delivery; faulty items for longer, "
        "and the law of your country may give you more."
    ),
    "policy_address": N_("Returns from your country go to: %(address)s."),
    "info_shipping_info": N_(
        "Delivery times and costs depend on your country and are shown at checkout. For an "
        "order you already placed, give me its number and I will look it up."
    ),
    "info_payment_billing": N_(
        "For payments and invoices our team can help: ask for a person here and they will "
        "answer in this chat."
    ),
    "info_account_help": N_(
        "You do not need an account to manage an order here: your order number and email are "
        "enough. For anything else about your account, ask for a person."
    ),
    "info_product_info": N_(
        "The product page has the details, sizes and stock. If a question is left, ask for a "
        "person and our team will answer here."
    ),
    "help_answer": N_("%(title)s: %(heading)s\n%(text)s"),
    "help_answer_intro": N_("%(title)s\n%(text)s"),
    "did_it_help": N_("Did that solve it? If not, tell me and I will open a return for it."),
    "did_it_help_person": N_(
        "Did that solve it? If not, tell me and a person from our team will help you."
    ),
    "fixed_glad": N_("Great, I am glad it works now. Is there anything else I can do for you?"),
    "help_other_language": N_(
        "We do not have this help in your language yet, so here it is in %(language)s."
    ),
    "photo_received": N_("Thanks, the photo is now part of return %(number)s."),
    "photo_too_dark": N_(
        "I added the photo to return %(number)s, but it is too dark to see the details. "
        "Could you take another one with more light?"
    ),
    "photo_too_bright": N_(
        "I added the photo to return %(number)s, but it is overexposed. Could you take another "
        "one with less light?"
    ),
    "photo_blurred": N_(
        "I added the photo to return %(number)s, but it is blurred. Could you take another one, "
        "holding the phone still?"
    ),
    "photo_refused": N_("I could not use this file."),
    "photo_needs_return": N_(
        "Thanks. To add a photo I need the return it is for: tell me your order and what is "
        "wrong with the item first."
    ),
    "handoff_requested": N_("I am passing you to a person from our team."),
    "handoff_not_understood": N_(
        "I am not sure I understand, so I am passing this to a person from our team."
    ),
    "handoff_repeated_failure": N_("I am passing this to a person from our team."),
    "handoff_upset": N_(
        "I am sorry about this. I am passing you to a person from our team right away."
    ),
    "handoff_human_review": N_("A person from our team will look at this return."),
    "handoff_order_change": N_(
        "Changes to an order are made by our team: I passed your request on."
    ),
    "handoff_delivery_problem": N_(
        "The carrier says it was delivered. I passed this to our team so they can look into it "
        "with the carrier."
    ),
    "handoff_product_help": N_(
        "I passed your question to a person from our team who knows the product."
    ),
    "handoff_when": N_("Someone will answer here by %(when)s (your time)."),
    "handoff_waiting": N_(
        "Thanks, I added this to your conversation. A person from our team will answer here."
    ),
}


def _language_name(code: str, in_language: str) -> str:
    try:
        return str(Locale.parse(babel_id(code)).get_display_name(babel_id(in_language)))
    except (UnknownLocaleError, ValueError):
        return LANGUAGE_NAMES.get(code, code)


def _item_list(items: Sequence[dict[str, Any]]) -> str:
    return "\n".join(f"{item['position']}. {item['title']} ({item['sku']})" for item in items)


class ReplyWriter:
    """Callable (paragraphs, language, time zone) -> text, as the service's Writer."""

    def __call__(self, says: Sequence[Say], language: str, tz_name: str) -> str:
        language = negotiate(language, "", SUPPORTED_LANGUAGES)  # zh too: the catalogue has it
        t = translations(language)
        fmt = Formatter(language, zone(tz_name))
        paragraphs = []
        for say in says:
            template = t.gettext(REPLIES[say.key])
            values: dict[str, Any] = {}
            for name, value in say.params.items():
                if isinstance(value, datetime):
                    values[name] = fmt.datetime(value)
                elif name == "amount":
                    amount, currency = value
                    values[name] = fmt.money(amount, currency)
                elif name == "status":
                    values[name] = t.gettext(labels.STATUS.get(value, value))
                elif name == "items":
                    values[name] = _item_list(value)
                elif name == "language":  # "inglês", "Englisch": the name in the reply's language
                    values[name] = _language_name(value, language)
                else:
                    values[name] = value
            text = template % values if "%(" in template else template
            if say.key == "which_item":
                text = f"{text}\n{values['items']}"
            if say.key in ("nothing_returnable", "return_declined", "photo_refused") and values.get(
                "code"
            ):
                code = str(values["code"])
                explanation = labels.ERRORS.get(code) or labels.UPLOAD_MESSAGES.get(code)
                if explanation:
                    text = f"{text} {t.gettext(explanation)}"
            paragraphs.append(text)
        return "\n\n".join(paragraphs)


# Canned answers an agent can send; each exists in every buyer language of the catalogue.
CANNED = {
    "looking_into_it": N_("Thank you for waiting. I am looking into this for you now."),
    "need_photo": N_(
        "Could you send us a photo of the item and of its label? You can add it on your "
        "return's page."
    ),
    "carrier_claim": N_(
        "I have opened an investigation with the carrier. We will get back to you within two "
        "working days."
    ),
    "order_changed": N_("Done: your order has been changed as you asked."),
    "order_canceled": N_(
        "Your order has been canceled. The refund goes back to your original payment method."
    ),
    "anything_else": N_("Is there anything else I can help you with?"),
}


def canned_answers(language: str) -> dict[str, str]:
    t = translations(negotiate(language, "", SUPPORTED_LANGUAGES))
    return {key: t.gettext(text) for key, text in CANNED.items()}
