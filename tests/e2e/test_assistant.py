"""The assistant over HTTP, with the real offline model: understanding in seven languages,
actions through the portal's handlers with the buyer's permissions only, hand-off to people."""

from __future__ import annotations

import io
import tomllib
from importlib import resources
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from PIL import Image

if TYPE_CHECKING:  # tests/e2e/conftest.py, handed over by fixtures
    from conftest import Api, AppFactory

from returndesk.web.pages.assistant_replies import REPLIES
from returndesk.web.pages.i18n import translations

MESSAGES = "/api/v1/assistant/messages"


def say(api: Api, text: str, who: str | None = None, **body: Any) -> dict[str, Any]:
    response = api.post(who, MESSAGES, json={"text": text, **body})
    assert response.status_code == 200, response.text
    reply: dict[str, Any] = response.json()
    return reply


def actions(reply: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [a for a in reply["actions"] if a["type"] == kind]


TRACKING = {
    "en": "Hi, where is my parcel? Order 1001, my email is ana@example.com",
    "es": "Hola, ¿dónde está mi paquete? Pedido 1001, mi correo es ana@example.com",
    "pt-BR": "Oi, cadê minha encomenda? Pedido 1001, meu email é ana@example.com",
    "ja": "注文番号1001の荷物は今どこにありますか？メールは ana@example.com です",
    "de": "Hallo, wo ist mein Paket? Bestellung 1001, meine E-Mail ist ana@example.com",
    "fr": "Bonjour, où est mon colis ? Commande 1001, mon e-mail est ana@example.com",
    "zh": "你好，我的包裹到哪里了？订单号1001，邮箱 ana@example.com",
}


@pytest.mark.parametrize("lang", list(TRACKING))
def test_tracking_in_each_language_answers_with_the_real_status(api: Api, lang: str) -> None:
    reply = say(api, TRACKING[lang])
    assert reply["lang"] == lang
    assert reply["intent"] == "track_order"
    assert actions(reply, "verify_order") == [
        {"type": "verify_order", "ok": True, "order_number": "1001"}
    ]
    [status] = actions(reply, "order_status")
    assert [s["status"] for s in status["shipments"]] == ["delivered"]
    assert "1Z1001" in reply["reply"]  # the real tracking number, from the order's shipment
    assert reply["handoff"] is None
    if lang != "en":  # the reply is in the buyer's language, from the catalogue
        t = translations(lang)
        assert t.gettext(REPLIES["check_ok"]) % {"number": "1001"} in reply["reply"]
        assert t.gettext(REPLIES["check_ok"]) != REPLIES["check_ok"]


def test_an_order_number_given_by_the_page_still_needs_the_email(api: Api) -> None:
    first = say(api, "where is my parcel?", order_number="1001")
    assert first["actions"] == []  # the email first: a number alone proves nothing
    second = say(api, "ana@example.com", conversation_id=first["conversation_id"])
    assert actions(second, "order_status")[0]["order_number"] == "1001"


def test_asks_for_the_order_then_the_email_then_answers(api: Api) -> None:
    first = say(api, "where is my order?")
    assert first["intent"] == "track_order"
    assert first["actions"] == []
    conversation = first["conversation_id"]
    second = say(api, "it's 1001", conversation_id=conversation)
    assert second["actions"] == []
    assert "1001" in second["reply"]
    third = say(api, "ana@example.com", conversation_id=conversation)
    assert actions(third, "verify_order")[0]["ok"] is True
    assert actions(third, "order_status")[0]["order_number"] == "1001"


RETURNS = {
    # language: (message, intent, reason the case is filed with)
    "en": ("The desk lamp arrived broken, it doesn't turn on", "damaged_item", "defective"),
    "es": ("Me llegó la lámpara de escritorio rota, no enciende", "damaged_item", "defective"),
    "pt-BR": ("Recebi o produto errado, não foi isso que eu pedi", "wrong_item", "wrong_item"),
    "ja": ("注文と違う商品が送られてきました", "wrong_item", "wrong_item"),
    "de": ("Ich möchte die Schreibtischlampe zurückgeben", "return_request", "changed_mind"),
    "fr": ("La lampe de bureau est arrivée cassée", "damaged_item", "defective"),
    "zh": ("我想退货，这个台灯不想要了", "return_request", "changed_mind"),
}


@pytest.mark.parametrize("lang", list(RETURNS))
def test_a_signed_in_buyer_opens_a_return_with_the_right_reason(api: Api, lang: str) -> None:
    text, intent, reason = RETURNS[lang]
    reply = say(api, text, "buyer")
    assert (reply["lang"], reply["intent"]) == (lang, intent)
    if not actions(reply, "open_return"):  # two lines on the order: which one?
        [options] = actions(reply, "return_options")
        position = next(i["position"] for i in options["returnable"] if i["sku"] == "LAMP-1")
        reply = say(api, str(position), "buyer", conversation_id=reply["conversation_id"])
    [opened] = actions(reply, "open_return")
    assert opened["ok"] is True
    assert (opened["sku"], opened["reason"]) == ("LAMP-1", reason)
    case = api.get("buyer", f"/api/v1/returns/{opened['case_id']}").json()
    assert case["number"] == opened["case_number"]
    assert [(ln["sku"], ln["reason"]) for ln in case["lines"]] == [("LAMP-1", reason)]
    assert case["number"] in reply["reply"]


def test_the_return_address_for_the_buyers_market(api: Api) -> None:
    document = tomllib.loads((resources.files("returndesk.policies") / "demo.toml").read_text())
    saved = api.put("supervisor", "/api/v1/policy", json={"document": document})
    assert saved.status_code == 200, saved.text
    reply = say(api, "What is your return policy? How many days do I have?", "buyer")
    assert reply["intent"] == "return_policy"
    [policy] = actions(reply, "return_policy")
    assert policy["change_of_mind_days"] == 30
    # order 1001 ships to the US: the US returns partner, not the EU hub or the origin
    assert policy["return_address"]["name"] == "US returns partner"
    assert "400 Commerce Way" in reply["reply"]


def test_out_of_scope_messages_do_nothing(api: Api, row_counts: Any) -> None:
    before = row_counts()
    for text in ("What's the weather in Paris tomorrow?", "Tell me a joke", "cancel my alarm"):
        reply = say(api, text, "buyer")
        assert reply["actions"] == [], (text, reply)
        assert reply["handoff"] is None
    after = row_counts()
    assert after["return_cases"] == before["return_cases"]


def test_a_buyer_cannot_reach_another_buyers_order(api: Api) -> None:
    other = api.order_payload(api.container.clock(), number="2002", email="bo@example.net")
    assert api.put_order(other).status_code == 201
    # Signed in for 1001: another order's number and email change nothing.
    reply = say(api, "Where is order 2002? My email is bo@example.net", "buyer")
    assert "1Z2002" not in reply["reply"]
    assert all(a.get("order_number") in (None, "1001") for a in reply["actions"])
    # Anonymous: a number with the wrong email is refused, and after three tries it stops.
    conversation = None
    for _attempt in range(3):
        reply = say(api, "where is order 2002? ana@example.com", conversation_id=conversation)
        conversation = reply["conversation_id"]
        assert actions(reply, "verify_order") == [{"type": "verify_order", "ok": False}]
        assert "1Z2002" not in reply["reply"]
    assert reply["handoff"]["reason"] == "repeated_failure"
    later = say(api, "order 2002 bo@example.net", conversation_id=conversation)
    assert not actions(later, "order_status")
    # Another buyer's conversation is not readable with a buyer token.
    mine = say(api, "hello, where is my parcel?", "buyer")["conversation_id"]
    token = api.buyer_token("2002", "bo@example.net")
    response = api.client.get(
        f"/api/v1/assistant/conversations/{mine}", headers={"Authorization": f"Bearer {token}"}
    )
    api.problem(response, 404)


def test_talk_to_a_human_hands_over_with_a_summary_and_an_agent_answers(api: Api) -> None:
    reply = say(api, "I want to talk to a real person please", "buyer")
    assert reply["handoff"]["reason"] == "requested"
    assert reply["handoff"]["expected_by"]
    conversation = reply["conversation_id"]
    queue = api.get("agent", "/api/v1/assistant/conversations?status=handed_off").json()
    [waiting] = [c for c in queue["items"] if c["id"] == conversation]
    assert waiting["summary"]["order_number"] == "1001"
    assert waiting["summary"]["reason"] == "requested"
    # While it waits, the assistant does not act on new messages.
    again = say(api, "hello??", "buyer", conversation_id=conversation)
    assert [a["type"] for a in again["actions"]] == ["handoff_waiting"]
    answered = api.post(
        "agent",
        f"/api/v1/assistant/conversations/{conversation}/replies",
        json={"text": "Hi Ana, I am here. How can I help?"},
    )
    assert answered.status_code == 200, answered.text
    seen = api.get("buyer", f"/api/v1/assistant/conversations/{conversation}").json()
    assert "summary" not in seen and "intent" not in seen["messages"][0]  # staff's notes
    assert seen["messages"][-1]["author"] == "agent"
    assert seen["messages"][-1]["text"] == "Hi Ana, I am here. How can I help?"


def test_a_staff_token_lends_no_powers_to_the_assistant(api: Api) -> None:
    reply = say(api, "where is order 1001?", "admin")
    assert [a["type"] for a in reply["actions"]] == []  # asks for the email, as for anyone
    assert "1Z1001" not in reply["reply"]


def test_bad_input_gets_a_problem_and_writes_nothing(api: Api, row_counts: Any) -> None:
    before = row_counts()
    api.problem(api.post(None, MESSAGES, json={"text": ""}), 422)
    api.problem(api.post(None, MESSAGES, json={"text": "x" * 2001}), 422)
    api.problem(api.post(None, MESSAGES, json={"text": "hi", "channel": "fax"}), 422)
    api.problem(api.post(None, MESSAGES, json={"text": "hi", "conversation_id": "cv_nope"}), 404)
    api.problem(api.post(None, MESSAGES, json={"text": "   "}), 422)
    api.problem(api.get(None, "/api/v1/assistant/conversations"), 401)
    api.problem(api.get("buyer", "/api/v1/assistant/conversations"), 403)
    assert row_counts() == before


LAMP_HELP = """Set the lamp up with the BrightHome app.

## Connect the lamp to Wi-Fi
1. The lamp joins 2.4 GHz Wi-Fi networks only.
2. Hold the touch bar for 8 seconds until the light blinks, then add it in the BrightHome app.

## Change brightness and colour
Slide along the touch bar; hold it to change the colour temperature (2700-6500 K).

## If the lamp does not turn on
1. Check that the USB-C power adapter is plugged in and the socket works.
2. Hold the touch bar for 8 seconds to reset the lamp.
"""


def test_a_how_to_question_is_answered_from_the_help_articles_across_languages(
    api: Api,
) -> None:
    saved = api.put(
        "agent",
        "/api/v1/help/articles/lamp-setup/en",
        json={"title": "Set up the desk lamp", "body": LAMP_HELP, "skus": ["LAMP-1"]},
    )
    assert saved.status_code == 200, saved.text
    # A Portuguese question finds the English article, and the answer says so.
    reply = say(api, "Como faço para conectar a luminária de mesa no wifi?", "buyer")
    assert reply["intent"] == "product_usage_help"
    [found] = actions(reply, "help_article")
    assert (found["found"], found["slug"], found["language"]) == (True, "lamp-setup", "en")
    assert found["in_buyer_language"] is False
    assert "2.4 GHz" in reply["reply"]
    assert (
        translations("pt-BR").gettext(REPLIES["help_other_language"]).split("%")[0]
        in (reply["reply"])
    )
    assert reply["handoff"] is None
    # With a German translation, a German question gets the German article.
    german = {
        "title": "Die Schreibtischlampe einrichten",
        "skus": ["LAMP-1"],
        "body": LAMP_HELP.replace("Connect the lamp to Wi-Fi", "Lampe mit dem WLAN verbinden"),
    }
    assert api.put("agent", "/api/v1/help/articles/lamp-setup/de", json=german).status_code == 200
    reply = say(api, "Wie verbinde ich die Schreibtischlampe mit dem WLAN?", "buyer")
    [found] = actions(reply, "help_article")
    assert (found["language"], found["in_buyer_language"]) == ("de", True)
    # The article page is public, in the article's language.
    page = api.client.get(found["url"])
    assert page.status_code == 200 and "Die Schreibtischlampe einrichten" in page.text
    # Nothing matches a question about another product: a person takes it.
    reply = say(api, "How do I wash the linen shirt without shrinking it?", "buyer")
    assert actions(reply, "help_article") == [{"type": "help_article", "found": False}]
    assert reply["handoff"]["reason"] == "product_help"


def test_help_articles_are_checked_and_only_editors_change_them(api: Api, row_counts: Any) -> None:
    before = row_counts()
    path = "/api/v1/help/articles/lamp-setup/en"
    body = {"title": "Lamp", "body": "## Steps\n1. On.", "skus": []}
    api.problem(api.put("warehouse", path, json=body), 403)
    api.problem(api.put("buyer", path, json=body), 403)
    api.problem(api.put(None, path, json=body), 401)
    api.problem(api.put("agent", "/api/v1/help/articles/Bad Slug/en", json=body), 422)
    api.problem(api.put("agent", "/api/v1/help/articles/lamp/xx", json=body), 422)
    api.problem(api.put("agent", path, json={**body, "title": ""}), 422)
    api.problem(api.put("agent", path, json={**body, "body": "x" * 20_001}), 422)
    api.problem(api.put("agent", path, json={**body, "skus": ["has space"]}), 422)
    api.problem(api.get(None, path), 404)
    assert row_counts() == before
    assert api.put("agent", path, json=body).status_code == 200
    listed = api.get(None, "/api/v1/help/articles").json()["items"]
    assert [(a["slug"], a["language"]) for a in listed] == [("lamp-setup", "en")]
    assert api.request("agent", "DELETE", path).status_code == 204
    api.problem(api.get(None, path), 404)


def jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


def send_photo(api: Api, body: bytes, who: str | None, **params: str) -> Any:
    return api.post(
        who,
        "/api/v1/assistant/photos",
        params=params,
        content=body,
        headers={"Content-Type": "image/jpeg"},
    )


def test_a_photo_in_the_chat_becomes_evidence_on_the_return_with_the_quality_check(
    api: Api,
) -> None:
    opened = say(api, "The desk lamp arrived broken, it doesn't turn on", "buyer")
    conversation = opened["conversation_id"]
    if not actions(opened, "open_return"):
        opened = say(api, "2", "buyer", conversation_id=conversation)
    [case] = actions(opened, "open_return")
    dark = send_photo(
        api,
        jpeg(Image.new("RGB", (640, 480), (8, 8, 8))),
        "buyer",
        conversation_id=conversation,
        filename="dark.jpg",
    )
    assert dark.status_code == 200, dark.text
    [photo] = actions(dark.json(), "photo")
    assert (photo["ok"], photo["case_id"], photo["quality"]) == (
        True,
        case["case_id"],
        ["too_dark"],
    )
    assert "more light" in dark.json()["reply"]
    sharp = send_photo(
        api,
        jpeg(Image.effect_noise((640, 480), 64)),
        "buyer",
        conversation_id=conversation,
        filename="lamp.jpg",
    )
    [photo] = actions(sharp.json(), "photo")
    assert photo["quality"] == []
    evidence = api.get("buyer", f"/api/v1/returns/{case['case_id']}/evidence").json()["items"]
    assert [e["filename"] for e in evidence] == ["dark.jpg", "lamp.jpg"]
    assert all(e["kind"] == "photo" for e in evidence)
    transcript = api.get("buyer", f"/api/v1/assistant/conversations/{conversation}").json()
    assert [m["author"] for m in transcript["messages"][-4:]] == ["buyer", "assistant"] * 2


def test_a_photo_without_a_return_or_that_is_not_a_photo_adds_nothing(
    api: Api, row_counts: Any
) -> None:
    anonymous = say(api, "hello")
    before = row_counts()
    reply = send_photo(
        api,
        jpeg(Image.effect_noise((64, 64), 64)),
        None,
        conversation_id=anonymous["conversation_id"],
    )
    assert actions(reply.json(), "photo") == [{"type": "photo", "ok": False, "code": "no_return"}]
    after = row_counts()
    assert after["evidence_items"] == before["evidence_items"]
    assert after["return_cases"] == before["return_cases"]
    api.problem(
        api.post(
            None,
            "/api/v1/assistant/photos",
            content=b"hello",
            headers={"Content-Type": "text/plain"},
        ),
        415,
    )
    api.problem(send_photo(api, b"", None), 422)
    api.open_return("buyer")
    bad = send_photo(api, b"not a jpeg at all", "buyer")
    assert actions(bad.json(), "photo") == [
        {"type": "photo", "ok": False, "code": "file_type_mismatch"}
    ]
    assert row_counts()["evidence_items"] == before["evidence_items"]
    api.problem(send_photo(api, b"x", None, conversation_id="cv_nope"), 404)


def test_chat_messages_are_rate_limited(start_app: AppFactory) -> None:
    server, _ = start_app(assistant_message_rate="3/minute")
    with httpx.Client(base_url=server.url, timeout=60) as http:
        first = http.post(MESSAGES, json={"text": "hello"})
        conversation = first.json()["conversation_id"]
        for _ in range(2):
            ok = http.post(MESSAGES, json={"text": "hi", "conversation_id": conversation})
            assert ok.status_code == 200, ok.text
        limited = http.post(MESSAGES, json={"text": "hi", "conversation_id": conversation})
        assert limited.status_code == 429
        assert limited.json()["code"] == "rate_limited"
        assert int(limited.headers["retry-after"]) > 0


def test_the_return_keeps_the_buyers_words_and_the_finer_reason(api: Api) -> None:
    """Asked anonymously, over four messages: the case is filed with the first message's
    words, and "wrong colour" is filed as a colour difference, not a generic wrong item."""
    first = say(api, "I received the linen shirt in the wrong colour, I ordered blue")
    assert first["intent"] == "wrong_item"
    conversation = first["conversation_id"]
    say(api, "1001", conversation_id=conversation)
    third = say(api, "ana@example.com", conversation_id=conversation)
    if not actions(third, "open_return"):
        [options] = actions(third, "return_options")
        position = next(i["position"] for i in options["returnable"] if i["sku"] == "SHIRT-M")
        third = say(api, str(position), conversation_id=conversation)
    [opened] = actions(third, "open_return")
    assert (opened["sku"], opened["reason"]) == ("SHIRT-M", "color_differs")
    token = api.buyer_token("1001", "ana@example.com")
    case = api.client.get(
        f"/api/v1/returns/{opened['case_id']}", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert case["lines"][0]["comment"] == (
        "I received the linen shirt in the wrong colour, I ordered blue"
    )


def test_a_broken_product_with_a_help_article_gets_the_article_before_a_return(
    api: Api,
) -> None:
    help_body = {"title": "Set up the desk lamp", "body": LAMP_HELP, "skus": ["LAMP-1"]}
    assert (
        api.put("agent", "/api/v1/help/articles/lamp-setup/en", json=help_body).status_code == 200
    )
    # Fixed by the article: no return, the conversation closes as resolved by guidance.
    first = say(api, "My desk lamp is broken, the light does not turn on", "buyer")
    assert first["intent"] == "damaged_item"
    assert [a["type"] for a in first["actions"]] == ["help_article"]
    assert "8 seconds" in first["reply"]
    fixed = say(api, "yes it works now, thanks!", "buyer", conversation_id=first["conversation_id"])
    assert [a["type"] for a in fixed["actions"]] == ["resolved_by_guidance"]
    assert fixed["status"] == "closed"
    assert api.get("buyer", "/api/v1/orders/1001").json()["returns"] == []
    # Not fixed: the return follows, filed with the first message's words.
    again = say(api, "Die Schreibtischlampe ist kaputt, sie geht nicht an", "buyer")
    assert [a["type"] for a in again["actions"]] == ["help_article"]
    no = say(api, "nein, geht immer noch nicht", "buyer", conversation_id=again["conversation_id"])
    [opened] = actions(no, "open_return")
    assert (opened["sku"], opened["reason"]) == ("LAMP-1", "defective")


def test_refund_status_names_an_amount_only_once_it_is_decided(api: Api) -> None:
    assert actions(say(api, "where is my refund?", "buyer"), "refund_status") == [
        {"type": "refund_status", "cases": []}
    ]
    case = api.open_return("buyer", api.return_payload(quantity=1))
    for who, to, body in (
        ("agent", "approved", {"note": "fine"}),
        ("agent", "awaiting_return", {}),
    ):
        case = api.moved(who, case, to, **body)
    waiting = say(api, "where is my refund?", "buyer")
    [status] = actions(waiting, "refund_status")
    assert status["cases"][0]["status"] == "awaiting_return"
    assert "$" not in waiting["reply"]  # no figure before the refund is decided
    for who, to, body in (
        ("warehouse", "in_transit", {}),
        ("warehouse", "received", {}),
        ("warehouse", "inspected", {"note": "intact"}),
        ("agent", "refund_pending", {"refund_amount": 2250, "note": "tags kept"}),
    ):
        case = api.moved(who, case, to, **body)
    pending = say(api, "where is my refund?", "buyer")
    assert "$22.50" in pending["reply"]
    case = api.moved("agent", case, "refunded")
    paid = say(api, "did you refund me already?", "buyer")
    [status] = actions(paid, "refund_status")
    assert status["cases"][0]["refunded_amount"] == 2250
    assert "$22.50" in paid["reply"]


def test_tracking_an_order_not_shipped_yet(api: Api) -> None:
    fresh = api.order_payload(
        api.container.clock(),
        number="4004",
        email="di@example.com",
        shipments=[{"carrier": "DHL", "tracking_number": "JD0001"}],
    )
    assert api.put_order(fresh).status_code == 201
    reply = say(api, "where is my order 4004? di@example.com")
    [status] = actions(reply, "order_status")
    assert [s["status"] for s in status["shipments"]] == ["preparing"]
    assert "DHL" in reply["reply"]
