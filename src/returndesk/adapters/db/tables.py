"""The schema. Alembic migrations in migrations/ create exactly this."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from returndesk.adapters.db.types import UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = String(36)

stores = Table(
    "stores",
    metadata,
    Column("id", ID, primary_key=True),
    Column("slug", String(63), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("default_currency", String(3), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("policy", JSON, nullable=False),  # the active policy document (see policy_versions)
    Column("created_at", UTCDateTime, nullable=False),
    Column("policy_version", Integer, nullable=False, server_default="0"),
)

# Every saved version of a store's policy document; the highest is the active one.
policy_versions = Table(
    "policy_versions",
    metadata,
    Column("store_id", ID, ForeignKey("stores.id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("document", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("note", String(2000), nullable=False),
)

staff_users = Table(
    "staff_users",
    metadata,
    Column("id", ID, primary_key=True),
    Column("store_id", ID, ForeignKey("stores.id"), nullable=True, index=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("role", String(32), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("language", String(8), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("id", ID, primary_key=True),
    Column("store_id", ID, ForeignKey("stores.id"), nullable=False),
    Column("number", String(64), nullable=False),
    Column("email", String(320), nullable=False),
    Column("buyer_name", String(200), nullable=False),
    Column("market", String(2), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("language", String(8), nullable=False),
    Column("placed_at", UTCDateTime, nullable=False),
    Column("lock_version", Integer, nullable=False),
    Column("shipping_paid", BigInteger, nullable=False, server_default="0"),
    Column("payment_provider", String(40), nullable=False, server_default=text("''")),
    Column("payment_reference", String(200), nullable=False, server_default=text("''")),
    UniqueConstraint("store_id", "number", name="uq_orders_store_number"),
    Index("ix_orders_store_placed", "store_id", "placed_at"),  # units sold in a period
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("id", ID, primary_key=True),
    Column("order_id", ID, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("sku", String(100), nullable=False),
    Column("title", String(300), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", BigInteger, nullable=False),
    Column("paid_amount", BigInteger, nullable=False),
    Column("category", String(60), nullable=False),
    Column("serial_numbers", JSON, nullable=False),
)

shipments = Table(
    "shipments",
    metadata,
    Column("id", ID, primary_key=True),
    Column("order_id", ID, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("carrier", String(60), nullable=False),
    Column("tracking_number", String(100), nullable=False),
    Column("shipped_at", UTCDateTime, nullable=True),
    Column("delivered_at", UTCDateTime, nullable=True),
)

return_cases = Table(
    "return_cases",
    metadata,
    Column("id", ID, primary_key=True),
    Column("store_id", ID, ForeignKey("stores.id"), nullable=False),
    Column("number", String(20), nullable=False, unique=True),
    Column("order_id", ID, ForeignKey("orders.id"), nullable=False, index=True),
    Column("order_number", String(64), nullable=False),
    Column("buyer_email", String(320), nullable=False),
    Column("market", String(2), nullable=False),
    Column("language", String(8), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(32), nullable=False),
    Column("preferred_resolution", String(32), nullable=False),
    Column("version", Integer, nullable=False),
    Column("holds_quantity", Boolean, nullable=False),
    Column("refund_amount", BigInteger, nullable=True),
    Column("refunded_amount", BigInteger, nullable=True),
    Column("line_count", Integer, nullable=False),
    Column("refundable_total", BigInteger, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("decision", JSON, nullable=True),
    Column("decision_outcome", String(32), nullable=True),
    # The return parcel, once a label, the buyer or a carrier's scan names it.
    Column("return_tracking_number", String(64), nullable=True),
    Column("return_carrier", String(60), nullable=True),
    Column("return_address", JSON, nullable=True),  # where the parcel goes, once it is due
    # What the return cost the store and what its units are worth again (minor units, the
    # case's currency), booked when the warehouse grades it (docs/logistics.md).
    Column("return_shipping_cost", BigInteger, nullable=True),
    Column("handling_cost", BigInteger, nullable=True),
    Column("payment_fees", BigInteger, nullable=True),
    Column("recovered_value", BigInteger, nullable=True),
    # The queue: every filter combination leads with the store and ends in the sort key + id.
    Index("ix_cases_store_created", "store_id", "created_at", "id"),
    Index("ix_cases_store_updated", "store_id", "updated_at", "id"),
    Index("ix_cases_store_status_created", "store_id", "status", "created_at", "id"),
    Index("ix_cases_store_market_created", "store_id", "market", "created_at", "id"),
    Index("ix_cases_store_language_created", "store_id", "language", "created_at", "id"),
    Index("ix_cases_order_number", "store_id", "order_number"),
    Index("ix_cases_buyer_email", "store_id", "buyer_email"),
    Index("ix_cases_store_outcome_created", "store_id", "decision_outcome", "created_at", "id"),
    Index("ix_cases_store_tracking", "store_id", "return_tracking_number"),
)

return_case_lines = Table(
    "return_case_lines",
    metadata,
    Column("case_id", ID, ForeignKey("return_cases.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("order_line_id", ID, ForeignKey("order_lines.id"), nullable=False, index=True),
    Column("sku", String(100), nullable=False),
    Column("title", String(300), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("reason", String(40), nullable=False),
    Column("comment", Text, nullable=False),
    Column("refundable_amount", BigInteger, nullable=False),
    Column("received_quantity", Integer, nullable=False),
    Column("condition", String(32), nullable=True),
)

case_events = Table(
    "case_events",
    metadata,
    Column("id", ID, primary_key=True),
    Column("case_id", ID, ForeignKey("return_cases.id", ondelete="CASCADE"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("actor_kind", String(16), nullable=False),
    Column("actor_id", String(64), nullable=False),
    Column("actor_name", String(200), nullable=False),
    Column("actor_role", String(32), nullable=True),
    Column("from_status", String(32), nullable=True),
    Column("to_status", String(32), nullable=True),
    Column("note", Text, nullable=False),
    Column("data", JSON, nullable=False),
    Index("ix_case_events_case_at", "case_id", "at", "id"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("store_id", ID, ForeignKey("stores.id"), primary_key=True),
    Column("principal", String(120), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("case_id", ID, ForeignKey("return_cases.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# Written in the same transaction as the change; delivered after commit by a dispatcher.
outbox = Table(
    "outbox",
    metadata,
    Column("id", ID, primary_key=True),
    Column("store_id", ID, nullable=False),
    Column("topic", String(60), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("dispatched_at", UTCDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Index("ix_outbox_pending", "dispatched_at", "created_at"),
)


webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", ID, primary_key=True),
    Column("store_id", ID, ForeignKey("stores.id"), nullable=False, index=True),
    Column("url", String(2000), nullable=False),
    Column("events", JSON, nullable=False),
    Column("secrets", JSON, nullable=False),  # [{value, created_at, expires_at}]
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# One row per outbox message and endpoint; `id` is the stable webhook-id receivers dedupe on.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(80), primary_key=True),
    Column("endpoint_id", ID, ForeignKey("webhook_endpoints.id"), nullable=False),
    Column("outbox_id", ID, nullable=False),
    Column("case_id", ID, nullable=True),
    Column("topic", String(60), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False),  # pending | succeeded | dead
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("last_status", Integer, nullable=True),
    Column("last_error", String(300), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime, nullable=True),
    Column("lease", String(32), nullable=True),  # who may send it now (see adapters/dispatch)
    Index("ix_deliveries_due", "status", "next_attempt_at"),
    Index("ix_deliveries_endpoint", "endpoint_id", "created_at"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "delivery_id", String(80), ForeignKey("webhook_deliveries.id"), nullable=False, index=True
    ),
    Column("at", UTCDateTime, nullable=False),
    Column("status", Integer, nullable=True),
    Column("error", String(300), nullable=True),
    Column("duration_ms", Integer, nullable=False),
)

# One row per buyer email: rendered when its outbox messages are fanned out (so what was sent
# is what is shown), sent by the dispatcher. `id` is the stable Message-ID receivers dedupe on.
email_messages = Table(
    "email_messages",
    metadata,
    Column("id", String(80), primary_key=True),
    Column("store_id", ID, ForeignKey("stores.id"), nullable=False),
    Column("case_id", ID, nullable=False),
    Column("case_number", String(20), nullable=False),
    Column("outbox_id", ID, nullable=False),
    Column("kind", String(32), nullable=False),  # the primary section
    Column("sections", JSON, nullable=False),
    Column("urgent", Boolean, nullable=False),
    Column("to_address", String(320), nullable=False),
    Column("language", String(8), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("text_body", Text, nullable=False),
    Column("html_body", Text, nullable=False),
    Column("status", String(16), nullable=False),  # pending | sent | dead
    Column("attempts", Integer, nullable=False),
    Column("not_before", UTCDateTime, nullable=False),  # quiet hours end, or the event time
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("last_error", String(300), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("lease", String(32), nullable=True),
    Index("ix_emails_due", "status", "next_attempt_at"),
    Index("ix_emails_case", "case_id", "created_at"),
    Index("ix_emails_store", "store_id", "created_at", "id"),
)

# Evidence on a case: one row per file, each a link of the case's hash chain (domain/evidence).
evidence_items = Table(
    "evidence_items",
    metadata,
    Column("id", ID, primary_key=True),
    Column("case_id", ID, ForeignKey("return_cases.id"), nullable=False),
    Column("store_id", ID, ForeignKey("stores.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("captured_by", String(80), nullable=False),
    Column("captured_by_name", String(200), nullable=False),
    Column("captured_at", UTCDateTime, nullable=False),
    Column("device", String(300), nullable=False),
    Column("case_status", String(32), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False),
    Column("details", JSON, nullable=False),
    # Erased (retention ended, or an erasure request): the link stays, the bytes are gone.
    Column("erased_at", UTCDateTime, nullable=True),
    Column("erased_reason", String(300), nullable=True),
    UniqueConstraint("case_id", "seq", name="uq_evidence_case_seq"),
    Index("ix_evidence_case", "case_id", "seq"),
)

# Resumable uploads (tus 1.0) in progress; the bytes are in RETURNDESK_HOME/uploads/<id>.part.
uploads = Table(
    "uploads",
    metadata,
    Column("id", ID, primary_key=True),
    Column("store_id", ID, ForeignKey("stores.id"), nullable=False),
    Column("case_id", ID, ForeignKey("return_cases.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("length", BigInteger, nullable=False),
    Column("principal", String(80), nullable=False),  # who may continue it
    Column("principal_name", String(200), nullable=False),
    Column("device", String(300), nullable=False),
    Column("status", String(16), nullable=False),  # open | done | failed
    Column("evidence_id", ID, nullable=True),
    Column("error", String(300), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_uploads_case", "case_id"),
)

# Live recordings from the browser (MediaRecorder), chunk by chunk while they are made; the
# bytes are in RETURNDESK_HOME/recordings/<id>/<seq>.chunk until the recording is finished.
recordings = Table(
    "recordings",
    metadata,
    Column("id", ID, primary_key=True),
    Column("store_id", ID, ForeignKey("stores.id"), nullable=False),
    Column("case_id", ID, ForeignKey("return_cases.id"), nullable=False),
    Column("principal", String(80), nullable=False),
    Column("principal_name", String(200), nullable=False),
    Column("device", String(300), nullable=False),
    Column("mime_type", String(100), nullable=False),
    Column("timeslice_ms", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # open | done | failed
    Column("evidence_id", ID, nullable=True),
    Column("error", String(300), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_recordings_case", "case_id"),
)

recording_chunks = Table(
    "recording_chunks",
    metadata,
    Column("recording_id", ID, ForeignKey("recordings.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("arrived_at", UTCDateTime, nullable=False),
)

# A signature over a case's chain head each time it grows (the store's Ed25519 key).
evidence_checkpoints = Table(
    "evidence_checkpoints",
    metadata,
    Column("case_id", ID, ForeignKey("return_cases.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("entry_hash", String(64), nullable=False),
    Column("signed_at", UTCDateTime, nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("signature", String(200), nullable=False),  # base64 Ed25519 over the statement
    # An RFC 3161 timestamp of the statement from the configured authority (base64 DER).
    Column("timestamp_token", Text, nullable=True),
    Column("timestamped_at", UTCDateTime, nullable=True),
)

# A legal hold keeps a case's evidence from retention and erasure until it is released.
evidence_holds = Table(
    "evidence_holds",
    metadata,
    Column("case_id", ID, ForeignKey("return_cases.id"), primary_key=True),
    Column("reason", String(500), nullable=False),
    Column("placed_by", String(200), nullable=False),
    Column("placed_at", UTCDateTime, nullable=False),
)

# The store's outbound reference photos of a product (sku): what a returned item should look
# like. Returned items' photos are compared with them (feature matching).
reference_photos = Table(
    "reference_photos",
    metadata,
    Column("id", ID, primary_key=True),
    Column("store_id", ID, ForeignKey("stores.id"), nullable=False),
    Column("sku", String(100), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_reference_photos_sku", "store_id", "sku"),
)

# The assistant: a conversation per chat (portal, widget, API), bound to an order once the
# buyer proved it is theirs; handed to the agents' queue with a summary when it needs a person.
conversations = Table(
    "conversations",
    metadata,
    Column("id", String(40), primary_key=True),  # unguessable: it is the anonymous chat's key
    Column("store_id", ID, ForeignKey("stores.id"), nullable=False),
    Column("order_id", ID, nullable=True),
    Column("case_id", ID, nullable=True),
    Column("channel", String(16), nullable=False),  # portal | widget | api
    Column("language", String(8), nullable=False),
    Column("status", String(16), nullable=False),  # open | handed_off | closed
    Column("handoff_reason", String(32), nullable=True),
    Column("summary", JSON, nullable=True),
    Column("state", JSON, nullable=False),  # what the assistant is waiting for, failures
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # A chat handed to people about no case: when a person's answer is due (domain/sla
    # AnswerClock), and when the sweep must look at it again.
    Column("answer_clock", JSON, nullable=True),
    Column("next_check_at", UTCDateTime, nullable=True, index=True),
    Index("ix_conversations_queue", "store_id", "status", "updated_at"),
    Index("ix_conversations_order", "order_id"),
)

conversation_messages = Table(
    "conversation_messages",
    metadata,
    Column("id", ID, primary_key=True),
    Column("conversation_id", String(40), ForeignKey("conversations.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("author", String(16), nullable=False),  # buyer | assistant | agent
    Column("author_name", String(200), nullable=False),
    Column("text", Text, nullable=False),
    Column("language", String(8), nullable=False),
    Column("intent", String(32), nullable=True),
    Column("confidence", Integer, nullable=True),  # per mille
    Column("actions", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("conversation_id", "seq"),
)

# Product help articles (the knowledge base) and their passages with e5 embeddings.
help_articles = Table(
    "help_articles",
    metadata,
    Column("id", ID, primary_key=True),
    Column("store_id", ID, ForeignKey("stores.id"), nullable=False),
    Column("slug", String(80), nullable=False),
    Column("language", String(8), nullable=False),
    Column("title", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("skus", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(200), nullable=False),
    UniqueConstraint("store_id", "slug", "language"),
)

help_passages = Table(
    "help_passages",
    metadata,
    Column("article_id", ID, ForeignKey("help_articles.id", ondelete="CASCADE"), primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("heading", String(300), nullable=False),
    Column("text", Text, nullable=False),
    Column("vector", LargeBinary, nullable=False),  # float32 x 384, normalized
)

teams = Table(
    "teams",
    metadata,
    Column("id", ID, primary_key=True),
    Column("store_id", ID, ForeignKey("stores.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("hours", JSON, nullable=False),  # [{days, start, end}]
    Column("holiday_country", String(2), nullable=True),
    Column("closed_dates", JSON, nullable=False),  # ["YYYY-MM-DD"]
    Column("languages", JSON, nullable=False),
    Column("markets", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("store_id", "name"),
)

team_members = Table(
    "team_members",
    metadata,
    Column("team_id", ID, ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("staff_id", ID, ForeignKey("staff_users.id"), primary_key=True, index=True),
    Column("languages", JSON, nullable=False),
    Column("markets", JSON, nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("skills", JSON, nullable=False),
)

agent_presence = Table(
    "agent_presence",
    metadata,
    Column("staff_id", ID, ForeignKey("staff_users.id"), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

sla_targets = Table(
    "sla_targets",
    metadata,
    Column("store_id", ID, ForeignKey("stores.id"), primary_key=True),
    Column("case_type", String(32), primary_key=True),  # "default" or a return reason
    Column("first_response_minutes", Integer, nullable=False),
    Column("next_response_minutes", Integer, nullable=False),
    Column("resolution_minutes", Integer, nullable=False),
)

# Who handles a case and its service-level clocks (domain/sla.py), one row per case.
case_work = Table(
    "case_work",
    metadata,
    Column("case_id", ID, ForeignKey("return_cases.id"), primary_key=True),
    Column("store_id", ID, ForeignKey("stores.id"), nullable=False),
    Column("team_id", ID, ForeignKey("teams.id"), nullable=True),
    Column("assignee_id", ID, ForeignKey("staff_users.id"), nullable=True),
    Column("assigned_at", UTCDateTime, nullable=True),
    Column("open", Boolean, nullable=False),  # not yet at an outcome: counts in the load
    Column("breached", Boolean, nullable=False),
    Column("next_check_at", UTCDateTime, nullable=True, index=True),
    Column("first_responded_at", UTCDateTime, nullable=True),  # for the dashboard's figures
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("sla", JSON, nullable=False),
    # Routing counts each agent's open cases from this index alone.
    Index("ix_case_work_assignee_open", "assignee_id", "open", "assigned_at"),
    # A team's open cases page by page in case order (recomputing their clocks) without
    # sorting all of them for each page.
    Index("ix_case_work_team_open", "team_id", "open", "case_id"),
)

# Video calls on a case (domain/calls.py): the record of who was in it, never the media.
calls = Table(
    "calls",
    metadata,
    Column("id", ID, primary_key=True),
    Column("store_id", ID, ForeignKey("stores.id"), nullable=False),
    Column("case_id", ID, ForeignKey("return_cases.id"), nullable=False, index=True),
    Column("started_by", ID, ForeignKey("staff_users.id"), nullable=False),
    Column("started_by_name", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime, nullable=True),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("consent", String(16), nullable=True),
    Column("consent_at", UTCDateTime, nullable=True),
    Column("participants", JSON, nullable=False),
    Column("recording_ids", JSON, nullable=False),
    Column("still_ids", JSON, nullable=False),
    Column("version", Integer, nullable=False),
)

# A store's own routing rules, in order (domain/routing_rules.py): the whole list is saved at
# once, as a policy document is.
routing_rules = Table(
    "routing_rules",
    metadata,
    Column("store_id", ID, ForeignKey("stores.id"), primary_key=True),
    Column("rules", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(200), nullable=False),
)

# Video calls the buyer booked in an agent's working time (domain/scheduling.py). One booked
# call per case and per agent and start at a time: two buyers racing for a slot, one wins.
call_bookings = Table(
    "call_bookings",
    metadata,
    Column("id", ID, primary_key=True),
    Column("store_id", ID, ForeignKey("stores.id"), nullable=False),
    Column("case_id", ID, ForeignKey("return_cases.id"), nullable=False, index=True),
    Column("team_id", ID, ForeignKey("teams.id"), nullable=False),
    Column("agent_id", ID, ForeignKey("staff_users.id"), nullable=False),
    Column("agent_name", String(200), nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("minutes", Integer, nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("booked_by", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("reminders", JSON, nullable=False),
    Column("next_check_at", UTCDateTime, nullable=True),
    Column("call_id", ID, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("version", Integer, nullable=False),
    Index(
        "ux_call_bookings_case_booked",
        "case_id",
        unique=True,
        sqlite_where=text("status = 'booked'"),
        postgresql_where=text("status = 'booked'"),
    ),
    Index(
        "ux_call_bookings_agent_booked",
        "agent_id",
        "starts_at",
        unique=True,
        sqlite_where=text("status = 'booked'"),
        postgresql_where=text("status = 'booked'"),
    ),
    Index("ix_call_bookings_check", "next_check_at"),
)

# What a warehouse scanned and graded for a case (docs/logistics.md).
warehouse_receipts = Table(
    "warehouse_receipts",
    metadata,
    Column("id", ID, primary_key=True),
    Column("store_id", ID, ForeignKey("stores.id"), nullable=False),
    Column("case_id", ID, ForeignKey("return_cases.id"), nullable=False, index=True),
    Column("warehouse", String(40), nullable=False),
    Column("lines", JSON, nullable=False),
    Column("received_by", String(200), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("note", Text, nullable=False),
)

# Units put back on the shelf, per warehouse and sku (the restock count).
restock_counts = Table(
    "restock_counts",
    metadata,
    Column("store_id", ID, ForeignKey("stores.id"), primary_key=True),
    Column("warehouse", String(40), primary_key=True),
    Column("sku", String(100), primary_key=True),
    Column("quantity", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

refunds = Table(
    "refunds",
    metadata,
    Column("id", ID, primary_key=True),
    Column("store_id", ID, ForeignKey("stores.id"), nullable=False),
    Column("case_id", ID, ForeignKey("return_cases.id"), nullable=False, index=True),
    Column("provider", String(40), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("key", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("reference", String(200), nullable=False),
    Column("error_code", String(60), nullable=False),
    Column("error", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("final", Boolean, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("case_id", "key", name="uq_refunds_case_key"),
)

# The replacement order of an exchange and the card hold of an instant one (one per case).
exchanges = Table(
    "exchanges",
    metadata,
    Column("id", ID, primary_key=True),
    Column("store_id", ID, ForeignKey("stores.id"), nullable=False, index=True),
    Column("case_id", ID, ForeignKey("return_cases.id"), nullable=False, unique=True),
    Column("lines", JSON, nullable=False),
    Column("instant", Boolean, nullable=False),
    Column("channel", String(40), nullable=False),
    Column("status", String(16), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("order_reference", String(200), nullable=False),
    Column("order_name", String(200), nullable=False),
    Column("hold_provider", String(40), nullable=False),
    Column("hold_status", String(16), nullable=False),
    Column("hold_reference", String(200), nullable=False),
    Column("hold_amount", BigInteger, nullable=False),
    Column("error_code", String(60), nullable=False),
    Column("error", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("hold_tries", Integer, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# A return parcel's carrier scans; the same scan twice is stored once.
carrier_events = Table(
    "carrier_events",
    metadata,
    Column("id", ID, primary_key=True),
    Column("store_id", ID, ForeignKey("stores.id"), nullable=False),
    Column("case_id", ID, ForeignKey("return_cases.id"), nullable=False, index=True),
    Column("tracking_number", String(64), nullable=False),
    Column("carrier", String(60), nullable=False),
    Column("status", String(32), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("location", String(200), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    UniqueConstraint(
        "store_id", "tracking_number", "status", "occurred_at", name="uq_carrier_events_scan"
    ),
)

integration_tokens = Table(
    "integration_tokens",
    metadata,
    Column("id", ID, primary_key=True),
    Column("store_id", ID, ForeignKey("stores.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
)

# The dashboard's rollups (adapters/stats.py): per store and UTC day of a case's creation (or an
# order's placing), the figures of that day's cases as they are now. Database triggers
# (migration 0015) note every day a write touches in stats_dirty; the refresh recomputes those
# days from the tables above, so the figures never drift from the data the API reads.
stats_dirty = Table(
    "stats_dirty",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("store_id", ID, nullable=False),
    Column("day", Date, nullable=False),
    Index("ix_stats_dirty_store_day", "store_id", "day"),
)

stats_day_totals = Table(
    "stats_day_totals",
    metadata,
    Column("store_id", ID, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("cases", BigInteger, nullable=False),
    Column("units", BigInteger, nullable=False),
    Column("decided", BigInteger, nullable=False),
    Column("automatic", BigInteger, nullable=False),
    Column("refunded", BigInteger, nullable=False),
    Column("refunded_cases", BigInteger, nullable=False),  # cases with a refund amount set
    Column("returnless", BigInteger, nullable=False),
    Column("costs", BigInteger, nullable=False),
    Column("recovered", BigInteger, nullable=False),
    Column("graded_cases", BigInteger, nullable=False),  # cases with a recovered value set
    Column("with_sla", BigInteger, nullable=False),
    Column("breached", BigInteger, nullable=False),
    Column("resolved", BigInteger, nullable=False),
)

stats_day_groups = Table(
    "stats_day_groups",
    metadata,
    Column("store_id", ID, primary_key=True),
    Column("dimension", String(16), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("key", String(120), primary_key=True),  # a team's id, not its name
    Column("currency", String(3), primary_key=True),
    Column("cases", BigInteger, nullable=False),
    Column("units", BigInteger, nullable=False),
    Column("value", BigInteger, nullable=False),
    Column("refunded", BigInteger, nullable=False),
    Column("refunded_cases", BigInteger, nullable=False),
)

# Time to resolution as a histogram (minutes, coarser for long ones): medians are not additive.
stats_day_resolutions = Table(
    "stats_day_resolutions",
    metadata,
    Column("store_id", ID, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("minutes", Integer, primary_key=True),
    Column("cases", BigInteger, nullable=False),
)

# Open cases of the day by status, language, team and breach: summed over all days, the queue.
stats_day_open = Table(
    "stats_day_open",
    metadata,
    Column("store_id", ID, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("status", String(32), primary_key=True),
    Column("language", String(8), primary_key=True),
    Column("team_id", String(36), primary_key=True),  # '' when no team handles it
    Column("breached", Boolean, primary_key=True),
    Column("cases", BigInteger, nullable=False),
)

# Units sold per sku on the orders placed that day: the return rate's denominator.
stats_day_sold = Table(
    "stats_day_sold",
    metadata,
    Column("store_id", ID, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("sku", String(100), primary_key=True),
    Column("units", BigInteger, nullable=False),
)

# The console's notification inbox (adapters/staff_inbox.py): what a member of staff was told
# about a case (a missed service level, a call booked with them...), made at the same fan-out
# as staff emails, read or not. The text is rendered when shown, in the reader's language.
staff_notifications = Table(
    "staff_notifications",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("store_id", ID, ForeignKey("stores.id"), nullable=False),
    Column("staff_id", ID, ForeignKey("staff_users.id"), nullable=False),
    # About a case, or about a chat handed to people about no case.
    Column("case_id", ID, ForeignKey("return_cases.id"), nullable=True),
    Column("case_number", String(20), nullable=True),
    Column("conversation_id", String(40), nullable=True),
    Column("kind", String(40), nullable=False),
    Column("data", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("read_at", UTCDateTime, nullable=True),
    Index("ix_staff_notifications_staff", "staff_id", "created_at"),
    Index("ix_staff_notifications_unread", "staff_id", "read_at"),
)

# A member of staff's own time off (domain/scheduling.py TimeOff): no call is booked then.
staff_time_off = Table(
    "staff_time_off",
    metadata,
    Column("id", ID, primary_key=True),
    Column("store_id", ID, ForeignKey("stores.id"), nullable=False),
    Column("staff_id", ID, ForeignKey("staff_users.id"), nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("note", String(200), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_staff_time_off_staff_ends", "staff_id", "ends_at"),
)
