"""The access table, walked over real HTTP for every role, plus the finer per-object rules."""

from __future__ import annotations

import base64
import itertools
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

import httpx

from returndesk.domain.access import ROLE_PERMISSIONS, STAFF_ROLES, Permission, Role
from returndesk.domain.policy.document import DEFAULT_DOCUMENT
from returndesk.services.policies import save_policy
from returndesk.services.principal import SYSTEM
from returndesk.services.staff import create_staff_user
from returndesk.services.stores import create_store
from returndesk.web.access import ACCESS, CALL_LINK, PUBLIC

if TYPE_CHECKING:  # tests/e2e/conftest.py, handed over by fixtures
    from conftest import Api

ANONYMOUS = "anonymous"
EVERYONE = (ANONYMOUS, *(role.value for role in Role))
# Documented in web/access.py: /me is public (any principal may ask) but answers 401 to nobody.
ANSWERS_401_WITHOUT_TOKEN = {("GET", "/api/v1/me"), ("GET", "/api/v1/auth/me")}

# Public endpoints whose handler checks who asks: an integration token may not read chats.
INTEGRATION_REFUSED_INSIDE = {"/api/v1/assistant/conversations/{conversation_id}"}

Call = Callable[[str | None], httpx.Response]


def allowed(role: str, rule: str) -> bool:
    return rule in (PUBLIC, CALL_LINK) or (
        role != ANONYMOUS and Permission(rule) in ROLE_PERMISSIONS[Role(role)]
    )


def build_requests(api: Api, case_id: str) -> dict[tuple[str, str], Call]:
    """One valid-enough request per access table entry; `who` is a role name or None."""
    new_staff = itertools.count()
    now = api.container.clock()

    def move(who: str | None) -> httpx.Response:
        version = api.get("admin", f"/api/v1/returns/{case_id}").json()["version"]
        # A well-formed request the lifecycle refuses (409): it passed authorization and
        # changes nothing, so every role sees the same case.
        return api.post(
            who,
            f"/api/v1/returns/{case_id}/transitions",
            json={"to": "closed", "note": "access check"},
            headers={"If-Match": f'"{version}"'},
        )

    def override(who: str | None) -> httpx.Response:
        case = api.get("admin", f"/api/v1/returns/{case_id}").json()
        # Overriding with the outcome the case already has: authorized, refused (422), and
        # nothing changes.
        return api.post(
            who,
            f"/api/v1/returns/{case_id}/decision/override",
            json={"outcome": case["decision"]["outcome"], "note": "access check"},
            headers={"If-Match": f'"{case["version"]}"'},
        )

    def redecide(who: str | None) -> httpx.Response:
        case = api.get("admin", f"/api/v1/returns/{case_id}").json()
        return api.post(
            who,
            f"/api/v1/returns/{case_id}/decision",
            json={"evidence": ["photo"]},
            headers={"If-Match": f'"{case["version"]}"'},
        )

    def stream(path: str) -> Call:
        """An event stream never ends: take its status (and first frame), then hang up."""

        def call(who: str | None) -> httpx.Response:
            with api.client.stream("GET", path, headers=api.auth(who)) as response:
                if response.status_code != 200:
                    response.read()
                    return response
                first = next(response.iter_text())
                assert response.headers["content-type"].startswith("text/event-stream")
                return httpx.Response(200, text=first, headers=response.headers)

        return call

    hook = api.post(
        "admin", "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hooks", "events": ["*"]}
    ).json()
    hooks = f"/api/v1/webhooks/{hook['id']}"
    email_id = first_email(api, case_id)
    chat = api.post(None, "/api/v1/assistant/messages", json={"text": "hello"}).json()
    saved = api.put("admin", "/api/v1/help/articles/lamp-setup/en", json=HELP_ARTICLE)
    assert saved.status_code == 200, saved.text
    conversation = f"/api/v1/assistant/conversations/{chat['conversation_id']}"
    team_names = itertools.count()
    team_hours = [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}]
    made = api.post(
        "admin", "/api/v1/teams", json={"name": "Access", "timezone": "UTC", "hours": team_hours}
    )
    assert made.status_code == 201, made.text
    team = f"/api/v1/teams/{made.json()['id']}"
    targets = {"first_response_minutes": 60, "next_response_minutes": 60, "resolution_minutes": 60}

    def staff_create(who: str | None) -> httpx.Response:
        body = {
            "email": f"new-{next(new_staff)}@shop.example",
            "role": "agent",
            "password": api.PASSWORD,
        }
        return api.post(who, "/api/v1/staff", json=body)

    return {
        ("GET", "/healthz"): lambda who: api.get(who, "/healthz"),
        ("POST", "/api/v1/auth/token"): lambda who: api.post(
            who,
            "/api/v1/auth/token",
            json={"email": api.credentials["agent"], "password": api.PASSWORD},
        ),
        ("POST", "/api/v1/buyer/session"): lambda who: api.post(
            who,
            "/api/v1/buyer/session",
            json={"order_number": api.ORDER_NUMBER, "email": api.BUYER_EMAIL},
        ),
        ("GET", "/api/v1/me"): lambda who: api.get(who, "/api/v1/me"),
        ("GET", "/api/v1/reasons"): lambda who: api.get(who, "/api/v1/reasons"),
        ("POST", "/api/v1/orders"): lambda who: api.post(
            who, "/api/v1/orders", json=api.order_payload(now)
        ),
        ("GET", "/api/v1/orders/{number}"): lambda who: api.get(
            who, f"/api/v1/orders/{api.ORDER_NUMBER}"
        ),
        ("POST", "/api/v1/returns"): lambda who: api.post(
            who, "/api/v1/returns", json=api.return_payload()
        ),
        ("GET", "/api/v1/returns"): lambda who: api.get(who, "/api/v1/returns"),
        ("GET", "/api/v1/returns/counts"): lambda who: api.get(who, "/api/v1/returns/counts"),
        ("GET", "/api/v1/returns/{case_id}"): lambda who: api.get(
            who, f"/api/v1/returns/{case_id}"
        ),
        ("GET", "/api/v1/returns/{case_id}/timeline"): lambda who: api.get(
            who, f"/api/v1/returns/{case_id}/timeline"
        ),
        ("POST", "/api/v1/returns/{case_id}/transitions"): move,
        ("GET", "/api/v1/returns/{case_id}/events"): stream(f"/api/v1/returns/{case_id}/events"),
        ("GET", "/api/v1/events"): stream("/api/v1/events"),
        ("POST", "/api/v1/returns/{case_id}/decision/override"): override,
        ("GET", "/api/v1/returns/{case_id}/decision/replay"): lambda who: api.get(
            who, f"/api/v1/returns/{case_id}/decision/replay"
        ),
        ("POST", "/api/v1/returns/{case_id}/decision"): redecide,
        ("POST", "/api/v1/returns/preview"): lambda who: api.post(
            who, "/api/v1/returns/preview", json=api.return_payload()
        ),
        ("GET", "/api/v1/policy"): lambda who: api.get(who, "/api/v1/policy"),
        ("PUT", "/api/v1/policy"): lambda who: api.put(
            who, "/api/v1/policy", json={"document": DEFAULT_DOCUMENT, "note": "access check"}
        ),
        ("GET", "/api/v1/policy/versions"): lambda who: api.get(who, "/api/v1/policy/versions"),
        ("GET", "/api/v1/policy/versions/{number}"): lambda who: api.get(
            who, "/api/v1/policy/versions/1", params={"against": 1}
        ),
        ("POST", "/api/v1/policy/evaluate"): lambda who: api.post(
            who,
            "/api/v1/policy/evaluate",
            json={
                "order_number": api.ORDER_NUMBER,
                "lines": [{"sku": "SHIRT-M", "quantity": 1, "reason": "wrong_size"}],
                "requested_at": now.isoformat(),
            },
        ),
        ("POST", "/api/v1/policy/simulate"): lambda who: api.post(
            who,
            "/api/v1/policy/simulate",
            json={"document": DEFAULT_DOCUMENT, "since": (now - timedelta(days=30)).isoformat()},
        ),
        ("POST", "/api/v1/webhooks"): lambda who: api.post(
            who, "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/x", "events": ["*"]}
        ),
        ("GET", "/api/v1/webhooks"): lambda who: api.get(who, "/api/v1/webhooks"),
        ("POST", "/api/v1/webhooks/{endpoint_id}/secret"): lambda who: api.post(
            who, f"{hooks}/secret"
        ),
        ("DELETE", "/api/v1/webhooks/{endpoint_id}"): lambda who: api.request(who, "DELETE", hooks),
        ("GET", "/api/v1/webhooks/{endpoint_id}/deliveries"): lambda who: api.get(
            who, f"{hooks}/deliveries"
        ),
        ("POST", "/api/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay"): (
            lambda who: api.post(who, f"{hooks}/deliveries/msg_0000/replay")
        ),
        ("GET", "/api/v1/staff"): lambda who: api.get(who, "/api/v1/staff"),
        ("POST", "/api/v1/staff"): staff_create,
        ("POST", "/api/v1/assistant/messages"): lambda who: api.post(
            who, "/api/v1/assistant/messages", json={"text": "what is your return policy?"}
        ),
        ("POST", "/api/v1/assistant/photos"): lambda who: api.post(
            who,
            "/api/v1/assistant/photos",
            content=b"not a photo",  # refused by content: the case stays as it is
            headers={"Content-Type": "image/jpeg"},
        ),
        ("GET", "/api/v1/assistant/conversations/{conversation_id}"): lambda who: api.get(
            who, conversation
        ),
        ("GET", "/api/v1/assistant/conversations"): lambda who: api.get(
            who, "/api/v1/assistant/conversations"
        ),
        ("POST", "/api/v1/assistant/conversations/{conversation_id}/replies"): lambda who: api.post(
            who, f"{conversation}/replies", json={"text": "Hello from the team"}
        ),
        ("GET", "/api/v1/help/articles"): lambda who: api.get(who, "/api/v1/help/articles"),
        ("GET", "/api/v1/help/articles/{slug}/{language}"): lambda who: api.get(
            who, "/api/v1/help/articles/lamp-setup/en"
        ),
        ("PUT", "/api/v1/help/articles/{slug}/{language}"): lambda who: api.put(
            who, "/api/v1/help/articles/lamp-setup/de", json=HELP_ARTICLE
        ),
        ("DELETE", "/api/v1/help/articles/{slug}/{language}"): lambda who: api.request(
            who, "DELETE", "/api/v1/help/articles/no-such-article/en"
        ),
        ("POST", "/api/v1/teams"): lambda who: api.post(
            who,
            "/api/v1/teams",
            json={"name": f"Team {next(team_names)}", "timezone": "UTC", "hours": team_hours},
        ),
        ("GET", "/api/v1/teams"): lambda who: api.get(who, "/api/v1/teams"),
        ("GET", "/api/v1/teams/{team_id}"): lambda who: api.get(who, team),
        ("PUT", "/api/v1/teams/{team_id}"): lambda who: api.put(
            who, team, json={"name": "Access", "timezone": "Europe/Berlin", "hours": team_hours}
        ),
        ("POST", "/api/v1/teams/{team_id}/members"): lambda who: api.post(
            who, f"{team}/members", json={"email": api.credentials["agent"], "capacity": 3}
        ),
        ("DELETE", "/api/v1/teams/{team_id}/members/{staff_id}"): lambda who: api.request(
            who, "DELETE", f"{team}/members/nobody"
        ),
        ("GET", "/api/v1/auth/me"): lambda who: api.get(who, "/api/v1/auth/me"),
        ("PUT", "/api/v1/agents/me/presence"): lambda who: api.put(
            who, "/api/v1/agents/me/presence", json={"status": "away"}
        ),
        ("GET", "/api/v1/sla/targets"): lambda who: api.get(who, "/api/v1/sla/targets"),
        ("GET", "/api/v1/notifications"): lambda who: api.get(who, "/api/v1/notifications"),
        ("GET", "/api/v1/staff/{staff_id}/time-off"): lambda who: api.get(
            who, "/api/v1/staff/me/time-off"
        ),
        ("POST", "/api/v1/staff/{staff_id}/time-off"): lambda who: api.post(
            who,
            "/api/v1/staff/me/time-off",
            json={
                "starts_at": (now + timedelta(days=400)).isoformat(),
                "ends_at": (now + timedelta(days=401)).isoformat(),
            },
        ),
        ("DELETE", "/api/v1/staff/{staff_id}/time-off/{time_off_id}"): lambda who: api.request(
            who, "DELETE", "/api/v1/staff/me/time-off/00000000-0000-0000-0000-000000000000"
        ),
        ("POST", "/api/v1/notifications/read"): lambda who: api.post(
            who, "/api/v1/notifications/read", json={"all": True}
        ),
        ("GET", "/api/v1/routing/rules"): lambda who: api.get(who, "/api/v1/routing/rules"),
        ("PUT", "/api/v1/routing/rules"): lambda who: api.put(
            who, "/api/v1/routing/rules", json={"rules": []}
        ),
        ("PUT", "/api/v1/sla/targets/{case_type}"): lambda who: api.put(
            who, "/api/v1/sla/targets/default", json=targets
        ),
        ("GET", "/api/v1/returns/{case_id}/work"): lambda who: api.get(
            who, f"/api/v1/returns/{case_id}/work"
        ),
        ("POST", "/api/v1/returns/{case_id}/assignment"): lambda who: api.post(
            who, f"/api/v1/returns/{case_id}/assignment", json={"reason": "access check"}
        ),
        ("GET", "/api/v1/stats/returns"): lambda who: api.get(
            who, "/api/v1/stats/returns", params={"group_by": "market"}
        ),
        ("GET", "/api/v1/emails"): lambda who: api.get(who, "/api/v1/emails"),
        ("GET", "/api/v1/emails/{email_id}"): lambda who: api.get(
            who, f"/api/v1/emails/{email_id}"
        ),
        ("POST", "/api/v1/emails/{email_id}/retry"): lambda who: api.post(
            who, f"/api/v1/emails/{email_id}/retry"
        ),
        ("GET", "/api/v1/returns/{case_id}/emails"): lambda who: api.get(
            who, f"/api/v1/returns/{case_id}/emails"
        ),
        ("OPTIONS", "/api/v1/uploads"): lambda who: api.request(who, "OPTIONS", "/api/v1/uploads"),
        ("POST", "/api/v1/uploads"): lambda who: api.post(
            who, "/api/v1/uploads", headers=upload_headers(case_id)
        ),
        ("HEAD", "/api/v1/uploads/{upload_id}"): lambda who: api.request(
            who, "HEAD", NO_UPLOAD, headers=TUS
        ),
        ("PATCH", "/api/v1/uploads/{upload_id}"): lambda who: api.request(
            who, "PATCH", NO_UPLOAD, content=b"x", headers=PATCH_HEADERS
        ),
        ("DELETE", "/api/v1/uploads/{upload_id}"): lambda who: api.request(
            who, "DELETE", NO_UPLOAD, headers=TUS
        ),
        ("GET", "/api/v1/returns/{case_id}/evidence"): lambda who: api.get(
            who, f"/api/v1/returns/{case_id}/evidence"
        ),
        ("GET", "/api/v1/returns/{case_id}/evidence/{item_id}/content"): lambda who: api.get(
            who, f"/api/v1/returns/{case_id}/evidence/{NO_ITEM}/content"
        ),
        ("GET", "/api/v1/returns/{case_id}/evidence/verification"): lambda who: api.get(
            who, f"/api/v1/returns/{case_id}/evidence/verification"
        ),
        ("GET", "/api/v1/returns/{case_id}/evidence/export"): lambda who: api.get(
            who, f"/api/v1/returns/{case_id}/evidence/export"
        ),
        ("GET", "/api/v1/returns/{case_id}/evidence/hold"): lambda who: api.get(
            who, f"/api/v1/returns/{case_id}/evidence/hold"
        ),
        ("PUT", "/api/v1/returns/{case_id}/evidence/hold"): lambda who: api.put(
            who, f"/api/v1/returns/{case_id}/evidence/hold", json={"reason": "access check"}
        ),
        ("DELETE", "/api/v1/returns/{case_id}/evidence/hold"): lambda who: api.request(
            who, "DELETE", f"/api/v1/returns/{case_id}/evidence/hold"
        ),
        ("POST", "/api/v1/returns/{case_id}/evidence/erasure"): lambda who: api.post(
            who, f"/api/v1/returns/{case_id}/evidence/erasure", json={"reason": "access check"}
        ),
        ("POST", "/api/v1/references"): lambda who: api.post(
            who, "/api/v1/references", params={"sku": "SHIRT-M"}, content=b"not a photo"
        ),
        ("GET", "/api/v1/references"): lambda who: api.get(who, "/api/v1/references"),
        ("GET", "/api/v1/references/{reference_id}/content"): lambda who: api.get(
            who, f"/api/v1/references/{NO_ITEM}/content"
        ),
        ("DELETE", "/api/v1/references/{reference_id}"): lambda who: api.request(
            who, "DELETE", f"/api/v1/references/{NO_ITEM}"
        ),
        ("POST", "/api/v1/returns/{case_id}/recordings"): lambda who: api.post(
            who, f"/api/v1/returns/{case_id}/recordings", json={"mime_type": "video/webm"}
        ),
        ("PUT", "/api/v1/returns/{case_id}/recordings/{recording_id}/chunks/{seq}"): (
            lambda who: api.request(
                who,
                "PUT",
                f"/api/v1/returns/{case_id}/recordings/{NO_ITEM}/chunks/0",
                content=b"x",
            )
        ),
        ("POST", "/api/v1/returns/{case_id}/recordings/{recording_id}/finish"): lambda who: (
            api.post(who, f"/api/v1/returns/{case_id}/recordings/{NO_ITEM}/finish")
        ),
        **call_requests(api, case_id),
        **logistics_requests(api, case_id),
    }


def logistics_requests(api: Api, case_id: str) -> dict[tuple[str, str], Call]:
    """Labels, receiving and refunds on a case that is only requested: each allowed request is
    refused by the case's state (409) or finds nothing (404), so nothing changes."""
    rma = api.get("admin", f"/api/v1/returns/{case_id}").json()["rma"]
    base = f"/api/v1/returns/{case_id}"
    return {
        ("GET", "/api/v1/returns/{case_id}/label.pdf"): lambda who: api.get(
            who, f"{base}/label.pdf"
        ),
        ("GET", "/api/v1/warehouse/lookup"): lambda who: api.get(
            who, "/api/v1/warehouse/lookup", params={"code": rma}
        ),
        ("POST", "/api/v1/warehouse/receipts"): lambda who: api.post(
            who, "/api/v1/warehouse/receipts", json={"code": rma}
        ),
        ("GET", "/api/v1/warehouse/restock"): lambda who: api.get(who, "/api/v1/warehouse/restock"),
        ("GET", "/api/v1/returns/{case_id}/refunds"): lambda who: api.get(who, f"{base}/refunds"),
        ("POST", "/api/v1/returns/{case_id}/refunds"): lambda who: api.post(
            who,
            f"{base}/refunds",
            json={"mode": "manual", "reference": "access check"},
            headers={"Idempotency-Key": "access-check"},
        ),
        ("POST", "/api/v1/returns/{case_id}/refunds/{refund_id}/retry"): lambda who: api.post(
            who, f"{base}/refunds/{NO_ITEM}/retry"
        ),
        ("GET", "/api/v1/returns/{case_id}/exchange"): lambda who: api.get(who, f"{base}/exchange"),
        ("POST", "/api/v1/returns/{case_id}/exchange"): lambda who: api.post(
            who, f"{base}/exchange", json={"instant": True}
        ),
        ("POST", "/api/v1/returns/{case_id}/exchange/retry"): lambda who: api.post(
            who, f"{base}/exchange/retry"
        ),
        ("POST", "/api/v1/returns/{case_id}/exchange/order"): lambda who: api.post(
            who, f"{base}/exchange/order", json={"order_reference": "#1"}
        ),
        ("POST", "/api/v1/returns/{case_id}/exchange/hold"): lambda who: api.post(
            who, f"{base}/exchange/hold", json={"action": "release"}
        ),
        ("GET", "/api/v1/exchanges/to-ship"): lambda who: api.get(who, "/api/v1/exchanges/to-ship"),
        ("POST", "/api/v1/integrations/tokens"): lambda who: api.post(
            who, "/api/v1/integrations/tokens", json={"name": "3PL", "scopes": ["carrier_events"]}
        ),
        ("GET", "/api/v1/integrations/tokens"): lambda who: api.get(
            who, "/api/v1/integrations/tokens"
        ),
        ("DELETE", "/api/v1/integrations/tokens/{token_id}"): lambda who: api.request(
            who, "DELETE", f"/api/v1/integrations/tokens/{NO_ITEM}"
        ),
        ("POST", "/api/v1/carrier-events"): lambda who: api.post(
            who,
            "/api/v1/carrier-events",
            json={
                "tracking_number": "NOBODY-1",
                "carrier": "UPS",
                "status": "in_transit",
                "occurred_at": "2026-01-01T00:00:00+00:00",
            },
        ),
        ("GET", "/api/v1/returns/{case_id}/carrier-events"): lambda who: api.get(
            who, f"{base}/carrier-events"
        ),
        ("POST", "/api/v1/returns/{case_id}/parcel"): lambda who: api.post(
            who, f"{base}/parcel", json={"carrier": "UPS", "tracking_number": "1ZACCESS"}
        ),
    }


def call_requests(api: Api, case_id: str) -> dict[tuple[str, str], Call]:
    """Video calls: staff endpoints by role; the call page's endpoints by join link (the
    same for everyone: the link is the credential, a session token is not read)."""

    def new_call() -> dict[str, str]:
        made = api.post("admin", f"/api/v1/returns/{case_id}/calls")
        assert made.status_code == 201, made.text
        body = made.json()
        return {"id": body["call_id"], "buyer": link_token(body["buyer_url"])}

    def seat(who: str | None, method: str, path: str, *, consent: bool = False,
             **kwargs: object) -> httpx.Response:  # fmt: skip
        call = new_call()
        headers = {"X-Call-Token": call["buyer"]}
        if consent:
            api.request(None, "POST", f"/api/v1/calls/{call['id']}/consent", headers=headers,
                        json={"answer": "granted"})  # fmt: skip
        return api.request(who, method, path.format(call=call["id"]), headers=headers, **kwargs)

    def with_new_call(method: str, path: str, **kwargs: object) -> Call:
        return lambda who: api.request(
            who, method, path.format(case=case_id, call=new_call()["id"]), **kwargs
        )

    base = "/api/v1/calls/{call}"
    booking = f"/api/v1/returns/{case_id}/call-booking"
    return {
        ("GET", "/api/v1/returns/{case_id}/call-slots"): lambda who: api.get(
            who, f"/api/v1/returns/{case_id}/call-slots?timezone=Europe/Berlin"
        ),
        ("GET", "/api/v1/returns/{case_id}/call-booking"): lambda who: api.get(who, booking),
        ("POST", "/api/v1/returns/{case_id}/call-booking"): lambda who: api.post(
            who, booking, json={"starts_at": "2030-01-07T10:00:00+01:00", "timezone": "UTC"}
        ),
        ("DELETE", "/api/v1/returns/{case_id}/call-booking"): lambda who: api.request(
            who, "DELETE", booking
        ),
        ("POST", "/api/v1/returns/{case_id}/call-booking/offer"): lambda who: api.post(
            who, booking + "/offer"
        ),
        ("GET", "/api/v1/call-bookings"): lambda who: api.get(who, "/api/v1/call-bookings"),
        ("POST", "/api/v1/returns/{case_id}/calls"): lambda who: api.post(
            who, f"/api/v1/returns/{case_id}/calls"
        ),
        ("GET", "/api/v1/returns/{case_id}/calls"): lambda who: api.get(
            who, f"/api/v1/returns/{case_id}/calls"
        ),
        ("POST", "/api/v1/returns/{case_id}/calls/{call_id}/guests"): with_new_call(
            "POST", "/api/v1/returns/{case}/calls/{call}/guests", json={"name": "Interpreter"}
        ),
        ("POST", "/api/v1/returns/{case_id}/calls/{call_id}/end"): with_new_call(
            "POST", "/api/v1/returns/{case}/calls/{call}/end"
        ),
        ("GET", "/api/v1/calls/{call_id}"): lambda who: seat(who, "GET", base),
        ("POST", "/api/v1/calls/{call_id}/consent"): lambda who: seat(
            who, "POST", base + "/consent", json={"answer": "granted"}
        ),
        ("POST", "/api/v1/calls/{call_id}/hang-up"): lambda who: seat(
            who, "POST", base + "/hang-up"
        ),
        ("POST", "/api/v1/calls/{call_id}/stills"): lambda who: seat(
            who, "POST", base + "/stills", content=TINY_PNG
        ),
        ("POST", "/api/v1/calls/{call_id}/recordings"): lambda who: seat(
            who, "POST", base + "/recordings", consent=True, json={"mime_type": "video/webm"}
        ),
        ("PUT", "/api/v1/calls/{call_id}/recordings/{recording_id}/chunks/{seq}"): (
            lambda who: seat(
                who, "PUT", base + f"/recordings/{NO_ITEM}/chunks/0", consent=True, content=b"x"
            )
        ),
        ("POST", "/api/v1/calls/{call_id}/recordings/{recording_id}/finish"): lambda who: seat(
            who, "POST", base + f"/recordings/{NO_ITEM}/finish", consent=True
        ),
    }


def link_token(url: str) -> str:
    return url.split("token=", 1)[1]


# A 64x64 PNG (a real, decodable image) for the still endpoint.
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAEAAAABACAIAAAAlC+aJAAAAYklEQVR4nO3PMQ0AIADAMEAI/qUgCxEcDcmqYJtn7/GzpQNe"
    "NaA1oDWgNaA1oDWgNaA1oDWgNaA1oDWgNaA1oDWgNaA1oDWgNaA1oDWgNaA1oDWgNaA1oDWgNaA1oDWgNaBdQ3UBhOjh6FcA"
    "AAAASUVORK5CYII="
)


HELP_ARTICLE = {"title": "Set up the lamp", "body": "## Wi-Fi\n1. Open the app.", "skus": []}
TUS = {"Tus-Resumable": "1.0.0"}

NO_UPLOAD = "/api/v1/uploads/00000000-0000-7000-8000-000000000000"
NO_ITEM = "00000000-0000-7000-8000-000000000000"
PATCH_HEADERS = {**TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}


def upload_headers(case_id: str) -> dict[str, str]:
    meta = {"case_id": case_id, "kind": "photo", "filename": "p.jpg"}
    encoded = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items())
    return {**TUS, "Upload-Length": "1000", "Upload-Metadata": encoded}


def first_email(api: Api, case_id: str) -> str:
    """The id of the case's first buyer email (the dispatcher makes it just after the commit)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        items = api.get("admin", f"/api/v1/returns/{case_id}/emails").json()["items"]
        if items:
            return str(items[0]["id"])
        time.sleep(0.05)
    raise AssertionError("no email was made for the case")


def test_access_table_matches_the_app_routes(client: httpx.Client) -> None:
    schema = client.get("/openapi.json")
    assert schema.status_code == 200
    routes = {
        (method.upper(), path)
        for path, operations in schema.json()["paths"].items()
        for method in operations
    }
    assert routes == set(ACCESS)
    assert all(path == "/healthz" or path.startswith("/api/v1/") for _, path in routes)


def test_every_role_on_every_endpoint(api: Api) -> None:
    case = api.open_return("buyer", api.return_payload(quantity=2))
    container = api.container
    save_policy(container.uow, container.clock, SYSTEM, None, DEFAULT_DOCUMENT, note="v1")
    requests = build_requests(api, case["id"])
    assert set(requests) == set(ACCESS), "every access table entry needs a request here"

    outcomes: dict[tuple[str, str, str], int] = {}
    for (method, path), call in requests.items():
        rule = ACCESS[(method, path)]
        for who in EVERYONE:
            response = call(None if who == ANONYMOUS else who)
            outcomes[(method, path, who)] = response.status_code
            where = (method, path, who, response.status_code, response.text[:300])
            assert response.status_code < 500, where
            if method == "HEAD":  # the same checks by status alone: HEAD answers have no body
                expected = 401 if who == ANONYMOUS else 403 if not allowed(who, rule) else 404
                assert response.status_code == expected, where
                continue
            if who == ANONYMOUS and (method, path) in ANSWERS_401_WITHOUT_TOKEN:
                api.problem(response, 401, "unauthenticated")
            elif who == Role.integration.value and path in INTEGRATION_REFUSED_INSIDE:
                api.problem(response, 403, "forbidden")
            elif rule in (PUBLIC, CALL_LINK):
                assert response.status_code not in (401, 403), where
                if "{recording_id}" in path:  # nobody's recording: not found
                    api.problem(response, 404, "recording_not_found")
                else:
                    assert response.status_code < 400, where
            elif who == ANONYMOUS:
                body = api.problem(response, 401, "unauthenticated")
                assert response.headers["www-authenticate"] == "Bearer", where
                assert body["detail"]
            elif not allowed(who, rule):
                api.problem(response, 403, "forbidden")
            else:
                assert response.status_code not in (401, 403), where
                if path.endswith("/transitions"):
                    api.problem(response, 409, "invalid_transition")
                elif path.endswith("/decision/override"):
                    api.problem(response, 422, "override_unchanged")
                elif path.endswith("/replay") and "webhooks" in path:
                    api.problem(response, 404, "delivery_not_found")
                elif path == "/api/v1/uploads/{upload_id}":  # nobody's upload: not found
                    assert response.status_code == 404, where  # (HEAD answers have no body)
                elif "/time-off" in path and who == Role.platform_admin.value:
                    api.problem(response, 404, "staff_not_found")  # no store: no time off
                elif path.endswith("/time-off/{time_off_id}"):  # nobody's time off
                    api.problem(response, 404, "time_off_not_found")
                elif path.endswith("/members/{staff_id}"):  # not a member: not found
                    api.problem(response, 404, "member_not_found")
                elif path.startswith("/api/v1/help/") and method == "DELETE":
                    api.problem(response, 404, "article_not_found")
                elif "{reference_id}" in path:
                    api.problem(response, 404, "reference_not_found")
                elif path.endswith("/content"):
                    api.problem(response, 404, "evidence_not_found")
                elif "{recording_id}" in path:  # nobody's recording: not found
                    api.problem(response, 404, "recording_not_found")
                elif path == "/api/v1/references" and method == "POST":  # not a photo
                    api.problem(response, 422, "file_type_mismatch")
                elif path.endswith("/label.pdf"):  # only requested: no parcel to send yet
                    api.problem(response, 409, "no_label")
                elif path == "/api/v1/warehouse/receipts":
                    api.problem(response, 409, "not_expecting_parcel")
                elif path.endswith("/refunds") and method == "POST":
                    api.problem(response, 409, "refund_not_allowed")
                elif path.endswith("/parcel"):  # only requested: no parcel to send yet
                    api.problem(response, 409, "not_awaiting_parcel")
                elif path.endswith("/tokens/{token_id}"):  # nobody's token
                    api.problem(response, 404, "token_not_found")
                elif path == "/api/v1/carrier-events":  # nobody's parcel (a platform: no store)
                    code = (
                        "store_required" if who == "platform_admin" else "unknown_tracking_number"
                    )
                    api.problem(response, 422 if who == "platform_admin" else 404, code)
                elif path.endswith("/refunds/{refund_id}/retry"):  # nobody's refund
                    api.problem(response, 404, "refund_not_found")
                elif path.endswith("/exchange") and method == "POST":  # a refund was asked for
                    api.problem(response, 409, "resolution_mismatch")
                elif "/exchange" in path and path.startswith("/api/v1/returns/"):
                    api.problem(response, 404, "exchange_not_found")
                elif path.endswith("/call-booking") and method == "POST":  # not a free time
                    code = "booking_not_offered" if who == "buyer" else "slot_unavailable"
                    api.problem(response, 409, code)
                elif path.endswith("/call-booking") and method == "DELETE":
                    api.problem(response, 404, "booking_not_found")
                elif path == "/api/v1/call-bookings" and who == "platform_admin":
                    api.problem(response, 422, "store_required")
                else:
                    assert response.status_code < 400, where

    # Spot checks of the table against the role model, so a typo in either shows up here.
    assert outcomes[("PUT", "/api/v1/policy", "warehouse")] == 403
    assert outcomes[("PUT", "/api/v1/policy", "supervisor")] == 200
    assert outcomes[("POST", "/api/v1/orders", "agent")] == 403
    assert outcomes[("POST", "/api/v1/orders", "admin")] == 200
    assert outcomes[("POST", "/api/v1/returns", "warehouse")] == 403
    assert outcomes[("POST", "/api/v1/returns", "buyer")] == 201
    assert outcomes[("GET", "/api/v1/returns", "buyer")] == 403
    assert outcomes[("GET", "/api/v1/staff", "agent")] == 403
    assert outcomes[("POST", "/api/v1/staff", "supervisor")] == 403
    assert outcomes[("POST", "/api/v1/staff", "platform_admin")] == 201
    assert outcomes[("GET", "/api/v1/me", "buyer")] == 200
    assert outcomes[("GET", "/api/v1/policy", "buyer")] == 403
    assert outcomes[("POST", "/api/v1/policy/evaluate", "warehouse")] == 200
    assert outcomes[("POST", "/api/v1/policy/evaluate", "buyer")] == 403
    assert outcomes[("POST", "/api/v1/policy/simulate", "agent")] == 403
    assert outcomes[("POST", "/api/v1/policy/simulate", "supervisor")] == 200
    assert outcomes[("POST", "/api/v1/returns/{case_id}/decision/override", "warehouse")] == 403
    assert outcomes[("POST", "/api/v1/returns/{case_id}/decision/override", "buyer")] == 403
    assert outcomes[("POST", "/api/v1/returns/{case_id}/decision/override", "agent")] == 422
    # Every PUT that was let through saved a new version on top of the one saved above.
    writers = [who for who in EVERYONE if outcomes[("PUT", "/api/v1/policy", who)] == 200]
    assert sorted(writers) == ["admin", "platform_admin", "supervisor"]
    active = api.get("admin", "/api/v1/policy").json()
    assert (active["version"], active["note"]) == (1 + len(writers), "access check")
    # The walk changed nothing it should not have: the case is as it was, except that each
    # staff member allowed to decide again recorded a new decision (a new version each), and
    # a legal hold was placed once and released once (the other calls found it so already).
    deciders = [
        who
        for who in EVERYONE
        if outcomes[("POST", "/api/v1/returns/{case_id}/decision", who)] == 200
    ]
    assert sorted(deciders) == ["admin", "agent", "platform_admin", "supervisor"]
    # Each supervisor, admin and platform admin also handed the case over (the reason goes on
    # the timeline; the case itself, and so its version, stays as it was).
    assigners = [
        who
        for who in EVERYONE
        if outcomes[("POST", "/api/v1/returns/{case_id}/assignment", who)] == 200
    ]
    assert sorted(assigners) == ["admin", "platform_admin", "supervisor"]
    # Each still sent from a call page (any holder of a link) added a photo: a version each.
    stills = [w for w in EVERYONE if outcomes[("POST", "/api/v1/calls/{call_id}/stills", w)] == 201]
    assert len(stills) == len(EVERYONE)
    after = api.get("agent", f"/api/v1/returns/{case['id']}").json()
    assert (after["status"], after["version"]) == ("requested", 1 + len(deciders) + 2 + len(stills))


def test_warehouse_cannot_change_the_policy(api: Api) -> None:
    before = api.get("warehouse", "/api/v1/policy")
    assert before.status_code == 200
    assert before.json()["version"] == 0
    short = {**DEFAULT_DOCUMENT, "windows": {"change_of_mind_days": 3, "fault_days": 365}}
    for who in ("warehouse", "agent"):
        refused = api.put(who, "/api/v1/policy", json={"document": short})
        api.problem(refused, 403, "forbidden")
    assert api.get("admin", "/api/v1/policy").json() == before.json()
    assert api.get("admin", "/api/v1/policy/versions").json() == {"items": []}
    longer = {**DEFAULT_DOCUMENT, "windows": {"change_of_mind_days": 14, "fault_days": 365}}
    changed = api.put("supervisor", "/api/v1/policy", json={"document": longer})
    assert changed.status_code == 200
    assert changed.json()["version"] == 1
    assert changed.json()["document"]["windows"]["change_of_mind_days"] == 14
    assert api.get("warehouse", "/api/v1/policy").json() == changed.json()


def test_buyer_sees_only_their_own_order_and_cases(api: Api) -> None:
    now = api.container.clock()
    other = api.put_order(
        api.order_payload(now, number=api.OTHER_ORDER_NUMBER, email=api.OTHER_BUYER_EMAIL)
    )
    assert other.status_code == 201
    theirs = api.open_return("agent", api.return_payload(api.OTHER_ORDER_NUMBER))
    mine = api.open_return("buyer", api.return_payload())

    own_order = api.get("buyer", f"/api/v1/orders/{api.ORDER_NUMBER}")
    assert own_order.status_code == 200
    assert [c["id"] for c in own_order.json()["returns"]] == [mine["id"]]
    assert api.get("buyer", f"/api/v1/returns/{mine['id']}").status_code == 200

    refusals = [
        api.get("buyer", f"/api/v1/orders/{api.OTHER_ORDER_NUMBER}"),
        api.get("buyer", f"/api/v1/returns/{theirs['id']}"),
        api.get("buyer", f"/api/v1/returns/{theirs['id']}/timeline"),
        api.move("buyer", theirs, "canceled"),
        api.post("buyer", "/api/v1/returns", json=api.return_payload(api.OTHER_ORDER_NUMBER)),
    ]
    for response in refusals:
        api.problem(response, 404)
    # Indistinguishable from a case that does not exist at all.
    missing = api.get("buyer", "/api/v1/returns/0190f4a2-0000-7000-8000-000000000000")
    assert api.problem(missing, 404)["code"] == refusals[1].json()["code"] == "case_not_found"
    assert missing.content == refusals[1].content
    # Their case is untouched, and its own buyer still sees it.
    other_buyer = api.buyer_token(api.OTHER_ORDER_NUMBER, api.OTHER_BUYER_EMAIL)
    seen = api.client.get(
        f"/api/v1/returns/{theirs['id']}", headers={"Authorization": f"Bearer {other_buyer}"}
    )
    assert seen.status_code == 200
    assert (seen.json()["status"], seen.json()["version"]) == ("requested", 1)


def test_staff_of_another_store_see_nothing_of_this_one(api: Api) -> None:
    container = api.container
    create_store(container.uow, container.clock, slug="other-shop", name="Other shop")
    for role in (Role.agent, Role.admin):
        email = f"{role.value}@other-shop.example"
        create_staff_user(
            container.uow,
            container.hasher,
            container.clock,
            SYSTEM,
            email=email,
            role=role,
            password=api.PASSWORD,
            store_slug="other-shop",
        )
        api.tokens[f"other_{role.value}"] = api.staff_token(email)
    case = api.open_return("buyer", api.return_payload())

    for who in ("other_agent", "other_admin"):
        for response in (
            api.get(who, f"/api/v1/returns/{case['id']}"),
            api.get(who, f"/api/v1/returns/{case['id']}/timeline"),
            api.move(who, case, "approved"),
            api.get(who, f"/api/v1/orders/{api.ORDER_NUMBER}"),
            api.post(who, "/api/v1/returns", json=api.return_payload()),
        ):
            api.problem(response, 404)
        queue = api.get(who, "/api/v1/returns")
        assert queue.status_code == 200
        assert queue.json()["items"] == []
        counts = api.get(who, "/api/v1/returns/counts").json()["counts"]
        assert set(counts.values()) == {0}
    # Naming this store does not help either.
    api.problem(api.get("other_agent", "/api/v1/policy", params={"store": "default"}), 404)
    foreign_policy = {"document": DEFAULT_DOCUMENT, "store": "default"}
    api.problem(api.put("other_admin", "/api/v1/policy", json=foreign_policy), 404)
    api.problem(api.get("other_agent", "/api/v1/policy/versions", params={"store": "default"}), 404)
    api.problem(
        api.post(
            "other_agent",
            f"/api/v1/returns/{case['id']}/decision/override",
            json={"outcome": "decline", "note": "not yours"},
            headers={"If-Match": f'"{case["version"]}"'},
        ),
        404,
    )
    body = {
        "email": "sneaky@shop.example",
        "role": "agent",
        "password": api.PASSWORD,
        "store": "default",
    }
    api.problem(api.post("other_admin", "/api/v1/staff", json=body), 404)
    emails = {u["email"] for u in api.get("other_admin", "/api/v1/staff").json()["items"]}
    assert emails == {"agent@other-shop.example", "admin@other-shop.example"}

    # This store's staff still see their case, unchanged; the platform admin sees every store.
    mine = api.get("agent", f"/api/v1/returns/{case['id']}").json()
    assert (mine["status"], mine["version"]) == ("requested", 1)
    everywhere = api.get("platform_admin", "/api/v1/returns").json()["items"]
    assert [item["id"] for item in everywhere] == [case["id"]]
    order = api.get("platform_admin", f"/api/v1/orders/{api.ORDER_NUMBER}?store=default")
    assert order.status_code == 200


def test_staff_roles_are_what_the_tokens_say(api: Api) -> None:
    for role in STAFF_ROLES:
        me = api.get(role.value, "/api/v1/me").json()
        assert me["role"] == role.value
        assert (me["store_id"] is None) == (role is Role.platform_admin)
