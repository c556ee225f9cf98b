"""Every API endpoint's access rule, in one table. The app refuses to start if a route is missing.

PUBLIC: no token needed. Otherwise the principal's role must hold the permission
(domain/access.py says which roles do). Finer rules (a buyer sees only their own order; which
role may make which status change) are enforced by the handlers and the domain.
"""

from __future__ import annotations

from typing import Final

from returndesk.domain.access import Permission

PUBLIC: Final = "public"
# The call page's endpoints: the join link's token (X-Call-Token) is the credential, checked by
# the handler (services/calls.py access); a session token is neither needed nor read.
CALL_LINK: Final = "call_link"
Rule = Permission | str

ACCESS: dict[tuple[str, str], Rule] = {
    ("GET", "/healthz"): PUBLIC,
    ("POST", "/api/v1/auth/token"): PUBLIC,
    ("POST", "/api/v1/buyer/session"): PUBLIC,
    ("GET", "/api/v1/me"): PUBLIC,  # answers 401 without a token; any principal may ask
    ("GET", "/api/v1/reasons"): PUBLIC,
    ("POST", "/api/v1/orders"): Permission.order_write,
    ("GET", "/api/v1/orders/{number}"): Permission.order_read,
    ("POST", "/api/v1/returns"): Permission.case_create,
    ("POST", "/api/v1/returns/preview"): Permission.case_create,
    ("GET", "/api/v1/returns"): Permission.case_list,
    ("GET", "/api/v1/returns/counts"): Permission.case_list,
    ("GET", "/api/v1/returns/{case_id}"): Permission.case_read,
    ("GET", "/api/v1/returns/{case_id}/timeline"): Permission.case_read,
    ("GET", "/api/v1/returns/{case_id}/events"): Permission.case_read,
    ("GET", "/api/v1/events"): Permission.case_list,
    ("POST", "/api/v1/returns/{case_id}/transitions"): Permission.case_transition,
    ("POST", "/api/v1/returns/{case_id}/decision/override"): Permission.decision_override,
    ("GET", "/api/v1/returns/{case_id}/decision/replay"): Permission.policy_read,
    ("POST", "/api/v1/returns/{case_id}/decision"): Permission.decision_override,
    ("GET", "/api/v1/policy"): Permission.policy_read,
    ("PUT", "/api/v1/policy"): Permission.policy_write,
    ("GET", "/api/v1/policy/versions"): Permission.policy_read,
    ("GET", "/api/v1/policy/versions/{number}"): Permission.policy_read,
    ("POST", "/api/v1/policy/evaluate"): Permission.policy_read,
    ("POST", "/api/v1/policy/simulate"): Permission.policy_write,
    ("OPTIONS", "/api/v1/uploads"): PUBLIC,
    ("POST", "/api/v1/uploads"): Permission.evidence_write,
    ("HEAD", "/api/v1/uploads/{upload_id}"): Permission.evidence_write,
    ("PATCH", "/api/v1/uploads/{upload_id}"): Permission.evidence_write,
    ("DELETE", "/api/v1/uploads/{upload_id}"): Permission.evidence_write,
    ("GET", "/api/v1/returns/{case_id}/evidence"): Permission.case_read,
    ("GET", "/api/v1/returns/{case_id}/evidence/{item_id}/content"): Permission.case_read,
    ("GET", "/api/v1/returns/{case_id}/evidence/verification"): Permission.case_list,
    ("GET", "/api/v1/returns/{case_id}/evidence/export"): Permission.case_list,
    ("GET", "/api/v1/returns/{case_id}/evidence/hold"): Permission.case_read,
    ("PUT", "/api/v1/returns/{case_id}/evidence/hold"): Permission.evidence_manage,
    ("DELETE", "/api/v1/returns/{case_id}/evidence/hold"): Permission.evidence_manage,
    ("POST", "/api/v1/returns/{case_id}/evidence/erasure"): Permission.evidence_manage,
    ("POST", "/api/v1/returns/{case_id}/recordings"): Permission.evidence_write,
    ("PUT", "/api/v1/returns/{case_id}/recordings/{recording_id}/chunks/{seq}"): (
        Permission.evidence_write
    ),
    ("POST", "/api/v1/returns/{case_id}/recordings/{recording_id}/finish"): (
        Permission.evidence_write
    ),
    ("POST", "/api/v1/references"): Permission.order_write,
    ("GET", "/api/v1/references"): Permission.case_list,
    ("GET", "/api/v1/references/{reference_id}/content"): Permission.case_list,
    ("DELETE", "/api/v1/references/{reference_id}"): Permission.order_write,
    ("GET", "/api/v1/emails"): Permission.case_list,
    ("GET", "/api/v1/emails/{email_id}"): Permission.case_list,
    ("POST", "/api/v1/emails/{email_id}/retry"): Permission.case_list,  # + case:transition
    ("GET", "/api/v1/returns/{case_id}/emails"): Permission.case_read,
    ("POST", "/api/v1/webhooks"): Permission.webhook_write,
    ("GET", "/api/v1/webhooks"): Permission.webhook_read,
    ("POST", "/api/v1/webhooks/{endpoint_id}/secret"): Permission.webhook_write,
    ("DELETE", "/api/v1/webhooks/{endpoint_id}"): Permission.webhook_write,
    ("GET", "/api/v1/webhooks/{endpoint_id}/deliveries"): Permission.webhook_read,
    ("POST", "/api/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay"): (
        Permission.webhook_write
    ),
    ("POST", "/api/v1/assistant/messages"): PUBLIC,  # a buyer session, or anonymous
    ("POST", "/api/v1/assistant/photos"): PUBLIC,  # the same
    ("GET", "/api/v1/assistant/conversations/{conversation_id}"): PUBLIC,  # checked inside
    ("GET", "/api/v1/assistant/conversations"): Permission.conversation_read,
    ("POST", "/api/v1/assistant/conversations/{conversation_id}/replies"): (
        Permission.conversation_reply
    ),
    ("GET", "/api/v1/help/articles"): PUBLIC,  # product help is public
    ("GET", "/api/v1/help/articles/{slug}/{language}"): PUBLIC,
    ("PUT", "/api/v1/help/articles/{slug}/{language}"): Permission.help_write,
    ("DELETE", "/api/v1/help/articles/{slug}/{language}"): Permission.help_write,
    ("POST", "/api/v1/teams"): Permission.team_write,
    ("GET", "/api/v1/teams"): Permission.team_read,
    ("GET", "/api/v1/teams/{team_id}"): Permission.team_read,
    ("PUT", "/api/v1/teams/{team_id}"): Permission.team_write,
    ("POST", "/api/v1/teams/{team_id}/members"): Permission.team_write,
    ("DELETE", "/api/v1/teams/{team_id}/members/{staff_id}"): Permission.team_write,
    ("GET", "/api/v1/auth/me"): PUBLIC,  # answers 401 without a staff token
    ("PUT", "/api/v1/agents/me/presence"): Permission.team_read,  # every staff role
    ("GET", "/api/v1/routing/rules"): Permission.team_read,
    ("PUT", "/api/v1/routing/rules"): Permission.team_write,
    ("GET", "/api/v1/sla/targets"): Permission.team_read,
    ("PUT", "/api/v1/sla/targets/{case_type}"): Permission.team_write,
    ("GET", "/api/v1/returns/{case_id}/work"): Permission.team_read,
    ("POST", "/api/v1/returns/{case_id}/assignment"): Permission.case_assign,
    ("GET", "/api/v1/stats/returns"): Permission.stats_read,
    ("POST", "/api/v1/returns/{case_id}/calls"): Permission.call_start,
    ("GET", "/api/v1/returns/{case_id}/calls"): Permission.case_read,
    ("POST", "/api/v1/returns/{case_id}/calls/{call_id}/guests"): Permission.call_start,
    ("POST", "/api/v1/returns/{case_id}/calls/{call_id}/end"): Permission.call_start,
    ("GET", "/api/v1/returns/{case_id}/call-slots"): Permission.case_read,
    ("GET", "/api/v1/returns/{case_id}/call-booking"): Permission.case_read,
    ("POST", "/api/v1/returns/{case_id}/call-booking"): Permission.call_book,
    ("DELETE", "/api/v1/returns/{case_id}/call-booking"): Permission.call_book,
    ("POST", "/api/v1/returns/{case_id}/call-booking/offer"): Permission.call_start,
    ("GET", "/api/v1/call-bookings"): Permission.call_start,
    # One's own time off (`me`) for every staff role; others' for those who run teams.
    ("GET", "/api/v1/staff/{staff_id}/time-off"): Permission.team_read,
    ("POST", "/api/v1/staff/{staff_id}/time-off"): Permission.team_read,
    ("DELETE", "/api/v1/staff/{staff_id}/time-off/{time_off_id}"): Permission.team_read,
    ("GET", "/api/v1/notifications"): Permission.team_read,  # every staff role: their own
    ("POST", "/api/v1/notifications/read"): Permission.team_read,
    ("GET", "/api/v1/calls/{call_id}"): CALL_LINK,
    ("POST", "/api/v1/calls/{call_id}/consent"): CALL_LINK,
    ("POST", "/api/v1/calls/{call_id}/hang-up"): CALL_LINK,
    ("POST", "/api/v1/calls/{call_id}/stills"): CALL_LINK,
    ("POST", "/api/v1/calls/{call_id}/recordings"): CALL_LINK,
    ("PUT", "/api/v1/calls/{call_id}/recordings/{recording_id}/chunks/{seq}"): CALL_LINK,
    ("POST", "/api/v1/calls/{call_id}/recordings/{recording_id}/finish"): CALL_LINK,
    ("GET", "/api/v1/staff"): Permission.staff_read,
    ("POST", "/api/v1/staff"): Permission.staff_write,
    ("GET", "/api/v1/returns/{case_id}/label.pdf"): Permission.case_read,
    ("GET", "/api/v1/warehouse/lookup"): Permission.warehouse_receive,
    ("POST", "/api/v1/warehouse/receipts"): Permission.warehouse_receive,
    ("GET", "/api/v1/warehouse/restock"): Permission.warehouse_receive,
    ("GET", "/api/v1/returns/{case_id}/refunds"): Permission.case_read,
    ("POST", "/api/v1/returns/{case_id}/refunds"): Permission.refund_write,
    ("POST", "/api/v1/returns/{case_id}/refunds/{refund_id}/retry"): Permission.refund_write,
    ("GET", "/api/v1/returns/{case_id}/exchange"): Permission.case_read,
    ("POST", "/api/v1/returns/{case_id}/exchange"): Permission.refund_write,
    ("POST", "/api/v1/returns/{case_id}/exchange/retry"): Permission.refund_write,
    ("POST", "/api/v1/returns/{case_id}/exchange/order"): Permission.refund_write,
    ("POST", "/api/v1/returns/{case_id}/exchange/hold"): Permission.refund_write,
    ("GET", "/api/v1/exchanges/to-ship"): Permission.refund_write,
    ("POST", "/api/v1/integrations/tokens"): Permission.integration_manage,
    ("GET", "/api/v1/integrations/tokens"): Permission.integration_manage,
    ("DELETE", "/api/v1/integrations/tokens/{token_id}"): Permission.integration_manage,
    ("POST", "/api/v1/carrier-events"): Permission.carrier_event_write,
    ("GET", "/api/v1/returns/{case_id}/carrier-events"): Permission.case_read,
    ("POST", "/api/v1/returns/{case_id}/parcel"): Permission.case_transition,
}
