"""The assistant's pure core: what a message mentions, and the next step for it."""

from __future__ import annotations

import pytest

from returndesk.domain.assistant.conversation import DialogueState, HandoffReason
from returndesk.domain.assistant.dialogue import MAX_FAILED_CHECKS, Step, plan, upset
from returndesk.domain.assistant.entities import Mentions, answer_as_order_number, extract
from returndesk.domain.assistant.understanding import Understanding
from returndesk.services.phrasing import keeps_facts


@pytest.mark.parametrize(
    ("text", "orders", "emails", "tracking"),
    [
        ("where is order #10234?", ["10234"], [], []),
        ("mi pedido A-55812 no llega", ["A-55812"], [], []),
        ("注文番号 10234 の荷物", ["10234"], [], []),
        ("Bestellnummer: 4711-22", ["4711-22"], [], []),
        ("tracking 1Z999AA10123456784 shows nothing", [], [], ["1Z999AA10123456784"]),
        ("LX123456789CN", [], [], ["LX123456789CN"]),
        ("order RD-1001, Bob@Example.com", ["RD-1001"], ["bob@example.com"], []),
        ("I love 2 things", [], [], []),
    ],
)
def test_mentions(text: str, orders: list[str], emails: list[str], tracking: list[str]) -> None:
    found = extract(text)
    assert list(found.order_numbers) == orders
    assert list(found.emails) == emails
    assert list(found.tracking_numbers) == tracking


def test_skus_are_only_those_of_the_order() -> None:
    assert extract("the LAMP-1 broke, not SHIRT-M", ["LAMP-1"]).skus == ("LAMP-1",)


def test_a_bare_number_answers_the_order_question() -> None:
    assert answer_as_order_number("it's 1001", Mentions()).order_numbers == ("1001",)
    assert answer_as_order_number("no idea", Mentions()).order_numbers == ()


def understood(intent: str, confidence: float = 0.9, **mentions: tuple[str, ...]) -> Understanding:
    return Understanding("en", 1.0, intent, confidence, (), Mentions(**mentions))


def test_order_intents_need_a_proven_order() -> None:
    state = DialogueState()
    assert plan("where is it", understood("track_order"), state, False).step is Step.ask_order
    numbered = understood("track_order", order_numbers=("1001",))
    assert plan("order 1001", numbered, state, False).step is Step.ask_email
    both = understood("track_order", order_numbers=("1001",), emails=("a@b.co",))
    assert plan("1001 a@b.co", both, state, False).step is Step.verify
    assert plan("where is it", understood("track_order"), state, True).step is Step.order_status


def test_an_answer_to_a_question_is_taken_whatever_the_model_thinks() -> None:
    state = DialogueState(awaiting="email", pending_intent="track_order", order_number="1001")
    reply = understood("account_help", 0.3, emails=("ana@example.com",))
    step = plan("ana@example.com", reply, state, False)
    assert (step.step, step.intent) == (Step.verify, "track_order")


def test_too_many_wrong_pairs_lock_the_check() -> None:
    state = DialogueState(failed_checks=MAX_FAILED_CHECKS)
    both = understood("track_order", order_numbers=("1001",), emails=("a@b.co",))
    assert plan("1001 a@b.co", both, state, False).step is Step.locked


def test_low_confidence_asks_once_then_hands_over() -> None:
    state = DialogueState()
    assert plan("hmm", understood("refund_request", 0.2), state, True).step is Step.clarify
    state.not_understood = 1
    step = plan("hmm", understood("refund_request", 0.2), state, True)
    assert (step.step, step.handoff) == (Step.handoff, HandoffReason.not_understood)


def test_people_and_anger_hand_over_at_once_and_out_of_scope_never_acts() -> None:
    state = DialogueState()
    asked = plan("a human please", understood("talk_to_human"), state, False)
    assert asked.handoff is HandoffReason.requested
    angry = plan("This is UNACCEPTABLE, a scam", understood("track_order"), state, True)
    assert angry.handoff is HandoffReason.upset
    assert plan("weather?", understood("other"), state, True).step is Step.out_of_scope
    assert upset("ふざけるな") and upset("C'est une arnaque") and not upset("thanks!")


def test_a_rephrased_reply_must_keep_every_fact_and_add_none() -> None:
    draft = "Return R-AB12CD34: 12,50 € was refunded on 05.11.2026 (tracking DH6244126004)."
    kept = "Good news: return R-AB12CD34 got its 12,50 € back on 05.11.2026 — DH6244126004."
    assert keeps_facts(draft, kept)
    assert not keeps_facts(draft, kept + " You also get 500 EUR store credit.")
    assert not keeps_facts(draft, "Your refund is done.")  # facts dropped
    assert not keeps_facts(draft, kept + " See https://evil.example")
    assert not keeps_facts(draft, "")
