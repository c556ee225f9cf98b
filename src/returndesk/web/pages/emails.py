"""Buyer emails rendered from the one message catalogue: HTML and plain text, same words."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from returndesk.domain.notifications import (
    EmailFacts,
    RenderedEmail,
    Section,
    StaffEmailFacts,
    StaffNotice,
)
from returndesk.web.pages import labels
from returndesk.web.pages.i18n import (
    BUYER_LANGUAGES,
    CONSOLE_LANGUAGES,
    Formatter,
    negotiate,
    translations,
    zone,
)
from returndesk.web.pages.labels import N_
from returndesk.web.pages.rendering import environment

# Outcomes when a person moved the status without a recorded engine decision.
_STATUS_OUTCOME = {
    "approved": "approve_return",
    "declined": "decline",
    "needs_evidence": "request_evidence",
}
_DECISION_SUBJECTS = {
    "approve_return": N_("Your return %(number)s is approved"),
    "approve_returnless": N_("Return %(number)s: you can keep the item"),
    "offer_exchange": N_("Return %(number)s: we will exchange your item"),
    "request_evidence": N_("Return %(number)s: we need more information"),
    "human_review": N_("Return %(number)s is being reviewed"),
    "decline": N_("Return %(number)s could not be accepted"),
}
_SUBJECTS = {
    Section.received: N_("We received your return request %(number)s"),
    Section.withdrawal_ack: N_("Acknowledgment of your withdrawal: return %(number)s"),
    Section.return_instructions: N_("Return %(number)s: how to send your item back"),
    Section.item_received: N_("We received your returned item: return %(number)s"),
    Section.refund_issued: N_("Your refund for return %(number)s has been issued"),
    Section.exchange_hold: N_(
        "Return %(number)s: your replacement ships now, secured by a card hold"
    ),
    Section.exchange_ordered: N_("Return %(number)s: your replacement is on its way"),
    Section.exchange_hold_released: N_("Return %(number)s: the hold on your card is released"),
    Section.exchange_charged: N_("Return %(number)s: the replacement was charged to your card"),
    Section.video_call: N_("Return %(number)s: an agent is waiting for you in a video call"),
    Section.call_offer: N_("Return %(number)s: pick a time for a short video call"),
    Section.call_booked: N_("Return %(number)s: your video call is booked"),
    Section.call_reminder: N_("Return %(number)s: reminder of your video call"),
    Section.call_cancelled: N_("Return %(number)s: your video call is cancelled"),
    Section.return_reminder: N_("Return %(number)s: please send your parcel"),
    Section.return_expired: N_("Return %(number)s was closed: the parcel was not sent in time"),
}


class _Words:
    """gettext and labels for one language (what templates call `_` and `label`)."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._t = translations(language)

    def gettext(self, message: str, **params: Any) -> str:
        text = self._t.gettext(message)
        return text % params if params else text

    def label(self, table: str, code: str | None) -> str:
        mapping: dict[str, str] = getattr(labels, table)
        return self.gettext(mapping[code]) if code in mapping else (code or "")


def _outcome(facts: EmailFacts) -> tuple[str | None, Mapping[str, Any] | None]:
    decision = facts.plan.decision
    if decision:
        return str(decision.get("outcome") or ""), decision
    outcome = _STATUS_OUTCOME.get(facts.plan.status)
    return outcome, facts.current_decision if outcome else None


def render_email(facts: EmailFacts) -> RenderedEmail:
    language = negotiate(facts.language, "", BUYER_LANGUAGES)
    words = _Words(language)
    tz = zone(facts.timezone)
    fmt = Formatter(language, tz)
    outcome, decision = _outcome(facts)
    primary = facts.plan.primary
    if primary is Section.decision:
        subject = words.gettext(
            _DECISION_SUBJECTS.get(outcome or "", _DECISION_SUBJECTS["human_review"]),
            number=facts.case_number,
        )
    else:
        subject = words.gettext(_SUBJECTS[primary], number=facts.case_number)
    address_source = decision or facts.current_decision or {}
    booking = dict(facts.plan.booking or {})
    booking_zone = str(booking.get("timezone") or facts.timezone)
    starts = booking.get("starts_at")
    booking_when = (
        Formatter(language, zone(booking_zone, facts.timezone)).moment(
            datetime.fromisoformat(str(starts))
        )
        if starts
        else ""
    )
    context = {
        "_": words.gettext,
        "gettext": words.gettext,
        "label": words.label,
        "fmt": fmt,
        "lang": language,
        "facts": facts,
        "sections": {s.value for s in facts.plan.sections},
        "outcome": outcome,
        "decision": decision or {},
        "return_address": address_source.get("return_address"),
        "payer": address_source.get("return_shipping_paid_by"),
        "requested_utc": facts.requested_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "subject": subject,
        "booking": booking,
        "booking_when": booking_when,
        "booking_zone": booking_zone,
    }
    env = environment()
    return RenderedEmail(
        subject=subject,
        text=env.get_template("email/message.txt").render(**context).strip() + "\n",
        html=env.get_template("email/message.html").render(**context),
    )


STAFF_LANGUAGES = (*CONSOLE_LANGUAGES, *(lang for lang in BUYER_LANGUAGES if lang != "en"))
_STAFF_SUBJECTS = {
    StaffNotice.call_booked: N_("Return %(number)s: a video call is booked with you for %(when)s"),
    StaffNotice.call_reminder: N_("Return %(number)s: your video call at %(when)s"),
    StaffNotice.call_cancelled: N_("Return %(number)s: the video call at %(when)s is cancelled"),
    StaffNotice.sla_warning: N_("Return %(number)s: %(clock)s due %(when)s"),
    StaffNotice.sla_breached: N_("Return %(number)s missed its service level: %(clock)s"),
    StaffNotice.chat_warning: N_("A chat waits for a person: answer due %(when)s"),
    StaffNotice.chat_breached: N_("A chat is past the answer time promised: %(when)s"),
}
_STAFF_BODIES = {
    StaffNotice.call_booked: N_(
        "A video call about return %(number)s is booked with you for %(when)s (%(zone)s). "
        "Start it from the case when it is time: the buyer waits on their return page."
    ),
    StaffNotice.call_reminder: N_(
        "Reminder: you have a video call about return %(number)s on %(when)s (%(zone)s). "
        "Start it from the case."
    ),
    StaffNotice.call_cancelled: N_(
        "The video call about return %(number)s on %(when)s (%(zone)s) will not take place."
    ),
    StaffNotice.sla_warning: N_(
        "The %(clock)s target of return %(number)s is due on %(when)s (%(zone)s). Please "
        "answer before then, or hand the case to someone who can."
    ),
    StaffNotice.sla_breached: N_(
        "The %(clock)s target of return %(number)s was due on %(when)s (%(zone)s) and has "
        "passed. Please look at the case, or hand it to someone who can answer now."
    ),
    StaffNotice.chat_warning: N_(
        "A buyer the assistant handed to people was told a person would answer by %(when)s "
        "(%(zone)s). Please answer in the chat before then, or hand it to someone who can."
    ),
    StaffNotice.chat_breached: N_(
        "A buyer the assistant handed to people was told a person would answer by %(when)s "
        "(%(zone)s), and nobody has yet. Please answer in the chat now."
    ),
}


def staff_notice_text(
    notice: StaffNotice,
    data: Mapping[str, Any],
    case_number: str | None,
    language: str,
    tz_name: str,
) -> tuple[str, str]:
    """A notice to staff as (a line, the paragraph), in their language and time zone: the
    email's subject and body, and the console inbox's entry."""
    words = _Words(negotiate(language, "", STAFF_LANGUAGES))
    tz = zone(tz_name)
    moment = data.get("starts_at") or data.get("due_at")
    params = {
        "number": case_number or "",
        "when": Formatter(words.language, tz).moment(datetime.fromisoformat(str(moment)))
        if moment
        else "",
        "zone": str(tz.key),
        "clock": words.label("SLA_CLOCKS", str(data.get("clock") or "")),
    }
    return (
        words.gettext(_STAFF_SUBJECTS[notice], **params),
        words.gettext(_STAFF_BODIES[notice], **params),
    )


def render_staff_email(facts: StaffEmailFacts) -> RenderedEmail:
    """An email to staff about a case, in their console language and time zone."""
    language = negotiate(facts.language, "", STAFF_LANGUAGES)
    words = _Words(language)
    subject, body = staff_notice_text(
        facts.notice, facts.data, facts.case_number, language, facts.timezone
    )
    context = {
        "_": words.gettext,
        "lang": language,
        "facts": facts,
        "subject": subject,
        "body": body,
    }
    env = environment()
    return RenderedEmail(
        subject=subject,
        text=env.get_template("email/staff.txt").render(**context).strip() + "\n",
        html=env.get_template("email/staff.html").render(**context),
    )
