"""Who may do what: roles, permissions and the role -> permission table.

The web edge declares one permission per endpoint (see web/api/access.py); this table is the
single source of which role holds which permission.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A principal's role. `buyer` is a shopper holding an order-scoped token."""

    buyer = "buyer"
    agent = "agent"
    warehouse = "warehouse"
    supervisor = "supervisor"
    admin = "admin"
    platform_admin = "platform_admin"
    integration = "integration"  # a system holding an integration token (its scopes)


STAFF_ROLES = (Role.agent, Role.warehouse, Role.supervisor, Role.admin, Role.platform_admin)


class Permission(StrEnum):
    order_read = "order:read"
    order_write = "order:write"
    case_create = "case:create"
    case_read = "case:read"
    case_list = "case:list"
    case_transition = "case:transition"
    policy_read = "policy:read"
    policy_write = "policy:write"
    decision_override = "decision:override"
    webhook_read = "webhook:read"
    webhook_write = "webhook:write"
    staff_read = "staff:read"
    staff_write = "staff:write"
    store_read = "store:read"
    store_write = "store:write"
    evidence_write = "evidence:write"  # add photos, videos, documents to a case
    evidence_manage = "evidence:manage"  # legal holds, erasure
    conversation_read = "conversation:read"  # the assistant's conversations and the queue
    conversation_reply = "conversation:reply"  # answer a buyer handed over by the assistant
    help_write = "help:write"  # product help articles (the assistant's knowledge base)
    team_read = "team:read"  # teams, shifts, members, presence, service-level targets
    team_write = "team:write"  # create and change teams, members and targets
    case_assign = "case:assign"  # hand a case to another team or person
    stats_read = "stats:read"  # the supervisor's dashboard: figures across every case
    call_start = "call:start"  # start a video call with the buyer of a case, invite guests
    call_book = "call:book"  # book (or cancel) a video call in an agent's working time
    warehouse_receive = "warehouse:receive"  # scan, grade and dispose of returned parcels
    refund_write = "refund:write"  # execute or record a refund on a case, retry a failed one
    carrier_event_write = "carrier_event:write"  # report a return parcel's carrier scans
    integration_manage = "integration:manage"  # create and revoke integration tokens


_STAFF_COMMON = {
    Permission.evidence_write,
    Permission.conversation_read,
    Permission.team_read,
    Permission.order_read,
    Permission.case_read,
    Permission.case_list,
    Permission.case_transition,
    Permission.policy_read,
    Permission.store_read,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.buyer: frozenset(
        {
            Permission.order_read,
            Permission.case_create,
            Permission.case_read,
            Permission.case_transition,
            Permission.evidence_write,
            Permission.call_book,
        }
    ),
    Role.warehouse: frozenset(_STAFF_COMMON | {Permission.warehouse_receive}),
    Role.agent: frozenset(
        _STAFF_COMMON
        | {
            Permission.case_create,
            Permission.decision_override,
            Permission.conversation_reply,
            Permission.help_write,
            Permission.call_start,
            Permission.call_book,
            Permission.refund_write,
        }
    ),
    Role.supervisor: frozenset(
        _STAFF_COMMON
        | {
            Permission.case_create,
            Permission.policy_write,
            Permission.staff_read,
            Permission.decision_override,
            Permission.webhook_read,
            Permission.evidence_manage,
            Permission.conversation_reply,
            Permission.help_write,
            Permission.team_write,
            Permission.case_assign,
            Permission.stats_read,
            Permission.call_start,
            Permission.call_book,
            Permission.warehouse_receive,
            Permission.refund_write,
            Permission.carrier_event_write,
        }
    ),
    Role.admin: frozenset(
        _STAFF_COMMON
        | {
            Permission.case_create,
            Permission.policy_write,
            Permission.staff_read,
            Permission.staff_write,
            Permission.order_write,
            Permission.decision_override,
            Permission.webhook_read,
            Permission.webhook_write,
            Permission.evidence_manage,
            Permission.conversation_reply,
            Permission.help_write,
            Permission.team_write,
            Permission.case_assign,
            Permission.stats_read,
            Permission.call_start,
            Permission.call_book,
            Permission.warehouse_receive,
            Permission.refund_write,
            Permission.carrier_event_write,
            Permission.integration_manage,
        }
    ),
    Role.platform_admin: frozenset(Permission),
    # Its tokens' scopes (domain/integrations.py SCOPES) map one to one onto these.
    Role.integration: frozenset({Permission.carrier_event_write}),
}


def has_permission(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]
