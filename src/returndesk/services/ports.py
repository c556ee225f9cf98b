"""What the handlers need from the outside world, as small interfaces.

The database adapter (adapters/db) implements these with SQLAlchemy; nothing here imports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

from returndesk.domain.assistant.conversation import ChatMessage, Conversation
from returndesk.domain.assistant.understanding import Understanding
from returndesk.domain.calls import Call
from returndesk.domain.carriers import CarrierEvent
from returndesk.domain.cases.model import CaseLine, LineUsage, ReturnCase, TimelineEvent
from returndesk.domain.cases.status import CaseStatus, Resolution
from returndesk.domain.evidence import (
    Checkpoint,
    EvidenceItem,
    EvidenceKind,
    Hold,
    Inspection,
    ReferencePhoto,
)
from returndesk.domain.exchanges import Exchange, ExchangeStatus
from returndesk.domain.help import HelpArticle, Passage
from returndesk.domain.integrations import IntegrationToken
from returndesk.domain.logistics import Receipt, Refund
from returndesk.domain.notifications import EmailView, StaffNotification
from returndesk.domain.orders import Order
from returndesk.domain.policy.document import Policy
from returndesk.domain.routing_rules import RoutingRule
from returndesk.domain.scheduling import CallBooking, TimeOff
from returndesk.domain.sla import CaseWork, SlaTargets
from returndesk.domain.stores import StaffUser, Store
from returndesk.domain.teams import Presence, Team, TeamMember
from returndesk.domain.webhooks import DeliveryView, WebhookEndpoint


class Clock(Protocol):
    def __call__(self) -> datetime: ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str, password: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class CaseQuery:
    store_id: str | None  # None: every store (platform admin)
    statuses: tuple[CaseStatus, ...] = ()
    market: str | None = None
    language: str | None = None
    outcome: str | None = None  # the decision's outcome (e.g. human_review: needs a person)
    q: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    assignee_id: str | None = None  # handled by this person ("" : by nobody yet)
    team_id: str | None = None  # in this team's hands
    breached: bool | None = None  # True: a service level was missed
    sort: str = "-created_at"
    cursor: tuple[str, str] | None = None  # (sort value as ISO text, id) of the last row seen
    limit: int = 50


@dataclass(frozen=True, slots=True)
class CaseSummary:
    id: str
    store_id: str
    number: str
    order_number: str
    buyer_email: str
    market: str
    language: str
    currency: str
    status: CaseStatus
    preferred_resolution: str
    created_at: datetime
    updated_at: datetime
    version: int
    line_count: int
    refundable_total: int
    decision_outcome: str | None = None


@dataclass(frozen=True, slots=True)
class ReplayItem:
    case_id: str
    number: str
    created_at: datetime
    buyer_email: str
    preferred_resolution: Resolution
    order: Order
    lines: list[CaseLine]
    decision: dict[str, Any] | None  # the engine's original decision on the case


@dataclass(frozen=True, slots=True)
class CasePage:
    items: list[CaseSummary]
    next_cursor: tuple[str, str] | None


@dataclass(slots=True)
class IdempotencyRecord:
    store_id: str
    principal: str
    key: str
    request_hash: str
    case_id: str
    created_at: datetime


@dataclass(slots=True)
class OutboxMessage:
    id: str
    store_id: str
    topic: str
    payload: dict[str, Any]
    created_at: datetime


class StoreRepository(Protocol):
    def get(self, store_id: str) -> Store | None: ...
    def get_by_slug(self, slug: str) -> Store | None: ...
    def list(self) -> list[Store]: ...
    def add(self, store: Store) -> None: ...


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    store_id: str
    version: int  # 0: the built-in default a new store starts with, never saved
    document: dict[str, Any]
    created_at: datetime | None
    created_by: str
    note: str


class PolicyRepository(Protocol):
    def active(self, store: Store) -> tuple[PolicyVersion, Policy]:
        """The store's active version (number and document; who saved it and when: get())
        and its compiled form, cached per version. One read: it runs on every decision."""
        ...

    def get(self, store_id: str, version: int) -> PolicyVersion | None: ...
    def compiled(self, store_id: str, version: int) -> Policy | None:
        """A saved version (0: the built-in default) compiled, cached per version."""
        ...

    def list(self, store_id: str) -> list[PolicyVersion]: ...
    def add(self, version: PolicyVersion) -> None:
        """Save a new version and make it the active one."""
        ...

    def compile(self, document: dict[str, Any]) -> Policy:
        """Check a document and compile its rules; raises PolicyInvalid."""
        ...


class StaffRepository(Protocol):
    def get(self, user_id: str) -> StaffUser | None: ...
    def get_by_email(self, email: str) -> StaffUser | None: ...
    def list(self, store_id: str | None) -> list[StaffUser]: ...
    def add(self, user: StaffUser) -> None: ...
    def update(self, user: StaffUser) -> None: ...


class OrderRepository(Protocol):
    def get_by_number(self, store_id: str, number: str) -> Order | None: ...
    def get(self, order_id: str) -> Order | None: ...
    def add(self, order: Order) -> None: ...
    def replace(self, order: Order) -> None: ...
    def lock(self, order_id: str) -> None:
        """Serialize writers on one order (returns compete for its units)."""
        ...

    def line_usage(self, order_id: str) -> dict[str, LineUsage]:
        """Units and refund shares of each line held by returns that still hold them."""
        ...

    def lines_in_returns(self, order_id: str) -> set[str]:
        """Ids of the order's lines that any return refers to, whatever its status."""
        ...


class CaseRepository(Protocol):
    def get(self, case_id: str) -> ReturnCase | None: ...
    def id_by_number(self, store_id: str | None, number: str) -> str | None: ...
    def id_by_tracking(self, store_id: str, tracking_number: str) -> str | None: ...
    def awaiting_parcel(self, opened_before: datetime, limit: int) -> list[str]: ...
    def refund_candidates(self, providers: list[str], limit: int) -> list[str]: ...
    def add(self, case: ReturnCase) -> None: ...
    def save(self, case: ReturnCase, expected_version: int) -> None: ...
    def add_events(self, case: ReturnCase) -> None:
        """Append new timeline entries only (the case's row and version stay as they are)."""
        ...

    def timeline(self, case_id: str) -> list[TimelineEvent]: ...
    def query(self, query: CaseQuery) -> CasePage: ...
    def for_order(self, order_id: str) -> list[CaseSummary]: ...
    def count_by_status(self, store_id: str | None) -> dict[CaseStatus, int]: ...
    def buyer_history(self, store_id: str, email: str, since: datetime) -> tuple[int, int]:
        """(returns opened, amount refunded) by this buyer since a moment, any status."""
        ...

    def count_since(self, store_id: str, since: datetime) -> int: ...
    def replay(
        self, store_id: str, since: datetime, after: tuple[datetime, str] | None, limit: int
    ) -> list[ReplayItem]:
        """A page of cases opened since a moment, oldest first, with what a decision needs."""
        ...


class IdempotencyRepository(Protocol):
    def get(self, store_id: str, principal: str, key: str) -> IdempotencyRecord | None: ...
    def add(self, record: IdempotencyRecord) -> None: ...


class Outbox(Protocol):
    def add(self, messages: Sequence[OutboxMessage]) -> None: ...


class WebhookRepository(Protocol):
    def add(self, endpoint: WebhookEndpoint) -> None: ...
    def save(self, endpoint: WebhookEndpoint) -> None: ...
    def get(self, endpoint_id: str) -> WebhookEndpoint | None: ...
    def for_store(self, store_id: str) -> list[WebhookEndpoint]: ...
    def deliveries(self, endpoint_id: str, limit: int = 100) -> list[DeliveryView]: ...
    def replay(self, endpoint_id: str, delivery_id: str, now: datetime) -> bool: ...


class EmailRepository(Protocol):
    def for_store(
        self, store_id: str, status: str | None = None, limit: int = 200
    ) -> list[EmailView]: ...
    def for_case(self, case_id: str) -> list[EmailView]: ...
    def get(self, email_id: str) -> EmailView | None: ...
    def retry(self, email_id: str, now: datetime) -> bool: ...


@dataclass(frozen=True, slots=True)
class Upload:
    """A resumable upload in progress (tus); its bytes live in a file, not here."""

    id: str
    store_id: str
    case_id: str
    kind: EvidenceKind
    filename: str
    length: int
    principal: str  # who may continue it: Principal.key
    principal_name: str
    device: str
    status: str  # open | done | failed
    evidence_id: str | None
    error: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Recording:
    """A live recording being made in a browser, chunk by chunk."""

    id: str
    store_id: str
    case_id: str
    principal: str
    principal_name: str
    device: str
    mime_type: str
    timeslice_ms: int
    status: str  # open | done | failed
    evidence_id: str | None
    error: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Chunk:
    seq: int
    size: int
    sha256: str
    arrived_at: datetime


class EvidenceRepository(Protocol):
    def for_case(self, case_id: str) -> list[EvidenceItem]: ...
    def get(self, item_id: str) -> EvidenceItem | None: ...
    def add(self, item: EvidenceItem) -> None: ...
    def add_upload(self, upload: Upload) -> None: ...
    def get_upload(self, upload_id: str) -> Upload | None: ...
    def end_upload(
        self, upload_id: str, status: str, evidence_id: str | None, error: str | None
    ) -> None: ...
    def hold(self, case_id: str) -> Hold | None: ...
    def place_hold(self, hold: Hold) -> None: ...
    def release_hold(self, case_id: str) -> None: ...
    def mark_erased(self, item_ids: Sequence[str], at: datetime, reason: str) -> None: ...
    def still_used(self, sha256: str) -> bool: ...
    def retention_due(self, statuses: Sequence[str], before: datetime, limit: int) -> list[str]: ...
    def add_reference(self, photo: ReferencePhoto) -> None: ...
    def references(
        self, store_id: str, skus: Sequence[str] | None = None
    ) -> list[ReferencePhoto]: ...
    def remove_reference(self, store_id: str, reference_id: str) -> bool: ...
    def add_checkpoint(self, checkpoint: Checkpoint) -> None: ...
    def checkpoints(self, case_id: str) -> list[Checkpoint]: ...
    def unstamped(self, limit: int) -> list[Checkpoint]: ...
    def set_timestamp(self, case_id: str, seq: int, token: str, at: datetime) -> None: ...
    def add_recording(self, recording: Recording) -> None: ...
    def get_recording(self, recording_id: str) -> Recording | None: ...
    def end_recording(
        self, recording_id: str, status: str, evidence_id: str | None, error: str | None
    ) -> None: ...
    def chunks(self, recording_id: str) -> list[Chunk]: ...
    def add_chunk(self, recording_id: str, chunk: Chunk) -> bool:
        """False if a chunk with that number is already there."""
        ...


class EvidenceFiles(Protocol):
    """Where evidence bytes live: uploads in progress, and stored files by their SHA-256."""

    def upload_path(self, upload_id: str) -> Path: ...
    def inspect(self, path: Path, kind: EvidenceKind) -> Inspection: ...
    def sha256(self, path: Path) -> str: ...
    def store(self, source: Path, sha256: str) -> None: ...
    def exists(self, sha256: str) -> bool: ...
    def local_copy(self, sha256: str) -> AbstractContextManager[Path]:
        """The stored bytes as a local file for the block (downloaded when remote)."""
        ...

    def local_path(self, sha256: str) -> Path | None:
        """The stored file itself when it is on this machine, else None."""
        ...

    def download_url(
        self, sha256: str, filename: str, media_type: str, attachment: bool
    ) -> str | None:
        """A short-lived URL to get the bytes straight from the store, when it has one."""
        ...

    def hash_of(self, sha256: str) -> str | None: ...
    def remove(self, sha256: str) -> None: ...
    def chunk_path(self, recording_id: str, seq: int) -> Path: ...
    def match_score(self, reference: Path, candidate: Path) -> int:
        """How well a photo shows the object of a reference photo (feature-match inliers)."""
        ...

    def read_text(self, path: Path) -> str:
        """Text read from an image (OCR); empty when none or OCR is unavailable."""
        ...

    def display_copy(self, path: Path, media_type: str) -> Path | None:
        """A copy to show others (location metadata removed), or None if the original will do."""
        ...

    def playable_copy(self, raw: Path, out: Path) -> None:
        """Remux a browser recording so players know its duration (no re-encoding)."""
        ...

    def sign(self, store_id: str, message: bytes) -> tuple[str, str]:
        """(key id, base64 signature) with the store's key."""
        ...

    def verify_signature(
        self, store_id: str, key_id: str, message: bytes, signature: str
    ) -> bool: ...
    def public_key_pem(self, store_id: str) -> str: ...
    @property
    def timestamps_enabled(self) -> bool: ...
    def timestamp(self, data: bytes) -> bytes | None:
        """An RFC 3161 token for `data`; None without an authority or when it failed."""
        ...

    def check_timestamp(self, token: bytes, data: bytes) -> str | None:
        """None if the token is a valid timestamp of `data`, else what is wrong."""
        ...

    def tsa_roots_pem(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class PassageHit:
    article_id: str
    slug: str
    language: str
    title: str
    skus: tuple[str, ...]  # the products the article is about (empty: any)
    passage: Passage
    vector: Any  # numpy float32 (384,), normalized


class HelpRepository(Protocol):
    def get(self, store_id: str, slug: str, language: str) -> HelpArticle | None: ...
    def for_store(self, store_id: str) -> list[HelpArticle]: ...
    def save(self, article: HelpArticle, vectors: list[bytes]) -> None: ...
    def delete(self, store_id: str, slug: str, language: str) -> bool: ...
    def passages(self, store_id: str, skus: tuple[str, ...] | None) -> list[PassageHit]: ...


class Embedder(Protocol):
    """Multilingual sentence embeddings (e5): questions and passages are embedded apart."""

    def embed(self, texts: Sequence[str]) -> Any: ...
    def embed_passages(self, texts: Sequence[str]) -> Any: ...


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ModelAnswer:
    text: str
    tool_calls: tuple[ToolCall, ...] = ()


class LanguageModel(Protocol):
    """An optional chat model (OpenAI-compatible): phrases and routes, never decides."""

    def chat(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
    ) -> ModelAnswer: ...


class Understander(Protocol):
    """The offline language/intent model (adapters/nlu)."""

    @property
    def version(self) -> str: ...

    def understand(
        self, text: str, fallback_language: str = "en", known_skus: Sequence[str] = ()
    ) -> Understanding: ...


class ConversationRepository(Protocol):
    def get(self, conversation_id: str) -> Conversation | None:
        """With all its messages, oldest first."""
        ...

    def add(self, conversation: Conversation) -> None: ...
    def save(
        self,
        conversation: Conversation,
        new_messages: list[ChatMessage],
        expected_updated_at: datetime | None = None,
    ) -> None:
        """Conflict if expected_updated_at is given and the row changed since."""
        ...

    def add_messages(self, conversation_id: str, messages: list[ChatMessage]) -> None: ...
    def queue(
        self, store_id: str, status: str | None = None, limit: int = 200
    ) -> list[Conversation]: ...
    def for_order(self, order_id: str) -> list[Conversation]: ...
    def due_for_check(self, now: datetime, limit: int = 500) -> list[Conversation]:
        """Chats whose answer clock warns or breaches by `now`, held for this transaction."""
        ...

    def save_clock(self, conversation: Conversation) -> None: ...


class TeamRepository(Protocol):
    def public_holiday(self, country: str, day: date) -> bool: ...
    def add(self, team: Team) -> None: ...
    def update(self, team: Team) -> None: ...
    def get(self, team_id: str) -> Team | None: ...
    def by_name(self, store_id: str, name: str) -> Team | None: ...
    def for_store(self, store_id: str) -> list[Team]: ...
    def save_member(self, member: TeamMember) -> None: ...
    def remove_member(self, team_id: str, staff_id: str) -> bool: ...
    def members(self, store_id: str) -> list[TeamMember]: ...
    def memberships(self, staff_id: str) -> list[TeamMember]: ...
    def set_presence(self, presence: Presence) -> None: ...
    def presences(self, store_id: str) -> dict[str, Presence]: ...
    def presence(self, staff_id: str) -> Presence | None: ...
    def online_loads(
        self, store_id: str, staff_ids: list[str], now: datetime
    ) -> dict[str, tuple[int, datetime | None]]:
        """Of these staff, those online now, with their open cases and latest assignment."""
        ...

    def routing_rules(self, store_id: str) -> list[RoutingRule]: ...
    def save_routing_rules(
        self, store_id: str, rules: list[RoutingRule], now: datetime, by: str
    ) -> None:
        """Replace the store's whole ordered list."""
        ...

    def targets(self, store_id: str) -> dict[str, SlaTargets]: ...
    def set_targets(self, store_id: str, case_type: str, targets: SlaTargets) -> None: ...
    def work(self, case_id: str, *, lock: bool = False) -> CaseWork | None:
        """`lock`: hold the row until the transaction ends (PostgreSQL; SQLite's writers
        already take turns), so two writers of the same clocks never lose one's change."""
        ...

    def works(self, case_ids: list[str]) -> dict[str, CaseWork]: ...
    def save_work(self, work: CaseWork, *, new: bool = False) -> None: ...
    def loads(self, staff_ids: list[str]) -> dict[str, tuple[int, datetime | None]]:
        """Open cases and the latest assignment time per agent."""
        ...

    def due_for_check(self, now: datetime, limit: int = 500) -> list[CaseWork]: ...
    def open_works_of_team(
        self, team_id: str, after: str | None = None, limit: int = 2000, *, lock: bool = False
    ) -> list[CaseWork]: ...
    def save_clocks(self, works: list[CaseWork]) -> None: ...
    def queue_counts(self, store_id: str) -> list[tuple[str | None, str | None, int, int]]: ...


# What the dashboard can group returns by: a line's reason or sku, or the case's market,
# language, status, carrier, handling team, decision outcome, wished resolution or day opened.
STAT_DIMENSIONS = (
    "reason", "sku", "market", "language", "status", "carrier", "team", "outcome",
    "resolution", "day",
)  # fmt: skip


@dataclass(slots=True)
class Group:
    key: str
    cases: int = 0
    units: int = 0
    value: dict[str, int] = field(default_factory=dict)  # returned items, per currency
    refunded: dict[str, int] = field(default_factory=dict)  # per currency (case dimensions)


@dataclass(slots=True)
class PeriodTotals:
    cases: int = 0
    units: int = 0
    decided: int = 0  # cases with a decision
    automatic: int = 0  # cases the decision moved with no person involved
    refunded: dict[str, int] = field(default_factory=dict)
    returnless_refunded: dict[str, int] = field(default_factory=dict)  # refunds, item kept
    return_costs: dict[str, int] = field(default_factory=dict)  # shipping + handling, graded
    recovered: dict[str, int] = field(default_factory=dict)  # resale value of graded units
    with_sla: int = 0
    breached: int = 0
    resolved: int = 0
    median_hours_to_resolution: float | None = None


@dataclass(frozen=True, slots=True)
class SkuRate:
    sku: str
    returned: int  # units in returns opened in the period
    sold: int  # units on orders placed in the period

    @property
    def rate(self) -> float | None:
        return round(self.returned / self.sold, 4) if self.sold else None


@dataclass(slots=True)
class QueueNow:
    by_status: dict[str, int] = field(default_factory=dict)
    by_language: dict[str, int] = field(default_factory=dict)
    by_team: dict[str, int] = field(default_factory=dict)
    breached_by_team: dict[str, int] = field(default_factory=dict)


class StatsRepository(Protocol):
    def groups(self, store_id: str, start: datetime, end: datetime, by: str) -> list[Group]: ...
    def totals(self, store_id: str, start: datetime, end: datetime) -> PeriodTotals: ...
    def sku_rates(
        self, store_id: str, start: datetime, end: datetime, limit: int = 20
    ) -> list[SkuRate]: ...
    def queue_now(self, store_id: str) -> QueueNow: ...
    def refresh(self, store_id: str | None = None, days: int = 10) -> int:
        """Recount up to `days` touched days (the store's, or any store's); how many."""
        ...


class CallRepository(Protocol):
    def get(self, call_id: str, *, for_update: bool = False) -> Call | None: ...
    def for_case(self, case_id: str) -> list[Call]: ...
    def add(self, call: Call) -> None: ...
    def save(self, call: Call) -> None:
        """Raises StaleVersion when the call changed since it was read."""
        ...

    def open_calls(self, now: datetime, limit: int = 100) -> list[Call]:
        """Open calls whose links ran out (for the sweep that ends them)."""
        ...

    def ended_since(self, since: datetime, limit: int = 100) -> list[Call]: ...


class BookingRepository(Protocol):
    def add(self, booking: CallBooking) -> None: ...
    def save(self, booking: CallBooking) -> None:
        """Raises StaleVersion when the booking changed since it was read."""
        ...

    def get(self, booking_id: str) -> CallBooking | None: ...
    def active_for_case(self, case_id: str) -> CallBooking | None: ...
    def for_case(self, case_id: str) -> list[CallBooking]: ...
    def booked_between(
        self, agent_ids: list[str], start: datetime, end: datetime
    ) -> list[CallBooking]: ...
    def lock_agent(self, agent_id: str) -> None:
        """Make the agent's bookings one at a time until this unit of work ends."""
        ...

    def add_time_off(self, time_off: TimeOff) -> None: ...
    def time_off_between(
        self, staff_ids: list[str], start: datetime, end: datetime
    ) -> list[TimeOff]: ...
    def time_off(self, store_id: str, staff_id: str | None, since: datetime) -> list[TimeOff]:
        """Time off not over at `since` (one person's, or the store's), soonest first."""
        ...

    def get_time_off(self, time_off_id: str) -> TimeOff | None: ...
    def remove_time_off(self, time_off_id: str) -> None: ...

    def upcoming(
        self, store_id: str, now: datetime, agent_id: str | None = None, limit: int = 100
    ) -> list[CallBooking]: ...
    def due(self, now: datetime, limit: int = 200) -> list[CallBooking]: ...


@dataclass(frozen=True, slots=True)
class PaymentRefund:
    """What a payment provider is asked to send back, once (the key makes retries safe)."""

    payment_reference: str  # the provider's payment (Stripe: PaymentIntent pi_ or charge ch_)
    amount: int  # minor units
    currency: str
    idempotency_key: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProviderRefund:
    reference: str  # the provider's refund id
    status: str  # "succeeded" | "pending" (the provider accepted it and will finish it)


class PaymentFailed(Exception):
    """The provider refused (retryable=False) or could not be reached (retryable=True)."""

    def __init__(self, code: str, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable


class PaymentProvider(Protocol):
    name: str

    def refund(self, request: PaymentRefund) -> ProviderRefund: ...


@dataclass(frozen=True, slots=True)
class PaymentHold:
    """A card authorisation that secures an instant exchange: the buyer's card (the one the
    order was paid with) is held for `amount` until the returned parcel is scanned."""

    payment_reference: str  # the order's payment (Stripe: the PaymentIntent it was paid with)
    amount: int  # minor units
    currency: str
    idempotency_key: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProviderHold:
    reference: str  # the provider's authorisation (Stripe: a PaymentIntent to capture)
    status: str  # "authorised" | "released" | "captured"
    amount: int = 0


class HoldingProvider(Protocol):
    """A payment provider that can hold money on the buyer's card and later let it go or take
    it (Stripe: a PaymentIntent with capture_method=manual, canceled or captured). Raises
    PaymentFailed like refunds do."""

    name: str

    def hold(self, request: PaymentHold) -> ProviderHold: ...
    def release(self, reference: str, idempotency_key: str) -> ProviderHold: ...
    def capture(self, reference: str, idempotency_key: str) -> ProviderHold: ...


@dataclass(frozen=True, slots=True)
class ReplacementLine:
    sku: str
    title: str
    quantity: int


@dataclass(frozen=True, slots=True)
class ReplacementRequest:
    """The replacement order of an exchange, for the store to ship at no charge."""

    idempotency_key: str  # the same exchange asked twice makes one order
    rma: str
    order_number: str  # the original order, as the buyer knows it
    order_reference: str  # the store's id of the original order ("" when unknown)
    email: str
    buyer_name: str
    market: str
    currency: str
    lines: tuple[ReplacementLine, ...]
    note: str = ""


@dataclass(frozen=True, slots=True)
class ReplacementOrder:
    reference: str  # the store's id of the new order
    name: str  # what people call it (Shopify: "#1002")


class StoreFailed(Exception):
    """The store refused (retryable=False) or could not be reached (retryable=True)."""

    def __init__(self, code: str, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable


class StoreOrders(Protocol):
    """Creates orders in the store's own system (Shopify through its Admin API)."""

    name: str

    def create_replacement(self, request: ReplacementRequest) -> ReplacementOrder: ...


@dataclass(frozen=True, slots=True)
class LabelItem:
    sku: str
    title: str
    quantity: int


@dataclass(frozen=True, slots=True)
class LabelRequest:
    """Everything a return label shows, already in the buyer's language (`texts`)."""

    rma: str
    store_name: str
    order_number: str
    address_name: str
    address_lines: tuple[str, ...]
    items: tuple[LabelItem, ...]
    texts: dict[str, str]  # title, rma, order, ship_to, from, cut, slip, items
    instructions: tuple[str, ...] = ()
    sender_lines: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReturnLabel:
    pdf: bytes
    carrier: str  # "" for the store's own label (any carrier)
    tracking_number: str  # "" unless a shipping API bought the label


class LabelProvider(Protocol):
    """Makes the return label: the store's own (default), or one bought from a carrier."""

    name: str

    def label(self, request: LabelRequest) -> ReturnLabel: ...


class StaffInbox(Protocol):
    def list(
        self, staff_id: str, *, unread_only: bool, limit: int, before: str | None = None
    ) -> list[StaffNotification]: ...
    def get(self, staff_id: str, notification_id: str) -> StaffNotification | None:
        """The staff member's notification (another person's is None)."""
        ...

    def unread(self, staff_id: str) -> int: ...
    def mark_read(self, staff_id: str, ids: Sequence[str] | None, at: datetime) -> int:
        """Mark these (all when None) of the staff member's unread notifications read."""
        ...

    def add(self, store_id: str, staff_id: str, notification: StaffNotification) -> None: ...


class IntegrationRepository(Protocol):
    def add(self, token: IntegrationToken) -> None: ...
    def get(self, token_id: str) -> IntegrationToken | None: ...
    def for_store(self, store_id: str) -> list[IntegrationToken]: ...
    def save(self, token: IntegrationToken) -> None: ...


class LogisticsRepository(Protocol):
    def has_carrier_event(
        self, store_id: str, tracking_number: str, status: str, occurred_at: datetime
    ) -> bool: ...
    def add_carrier_event(self, event: CarrierEvent) -> None: ...
    def carrier_events(self, case_id: str) -> list[CarrierEvent]: ...
    def add_receipt(self, receipt: Receipt) -> None: ...
    def receipts(self, case_id: str) -> list[Receipt]: ...
    def restock(
        self, store_id: str, warehouse: str, sku: str, quantity: int, now: datetime
    ) -> None: ...
    def restock_counts(
        self, store_id: str | None, warehouse: str | None = None
    ) -> list[tuple[str, str, int]]: ...
    def refund_by_key(
        self, case_id: str, key: str, *, for_update: bool = False
    ) -> Refund | None: ...
    def refund(self, refund_id: str) -> Refund | None: ...
    def refunds(self, case_id: str) -> list[Refund]: ...
    def add_refund(self, refund: Refund) -> None: ...
    def save_refund(self, refund: Refund) -> None: ...
    def exchange(self, case_id: str, *, for_update: bool = False) -> Exchange | None: ...
    def exchanges(
        self, store_id: str | None, status: ExchangeStatus | None = None, limit: int = 1000
    ) -> list[Exchange]: ...
    def open_holds(self, limit: int = 10_000) -> list[str]: ...
    def add_exchange(self, exchange: Exchange) -> None: ...
    def save_exchange(self, exchange: Exchange) -> None: ...


class UnitOfWork(Protocol):
    @property
    def stores(self) -> StoreRepository: ...
    @property
    def staff(self) -> StaffRepository: ...
    @property
    def orders(self) -> OrderRepository: ...
    @property
    def cases(self) -> CaseRepository: ...
    @property
    def idempotency(self) -> IdempotencyRepository: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def policies(self) -> PolicyRepository: ...
    @property
    def webhooks(self) -> WebhookRepository: ...
    @property
    def emails(self) -> EmailRepository: ...
    @property
    def evidence(self) -> EvidenceRepository: ...
    @property
    def conversations(self) -> ConversationRepository: ...
    @property
    def help(self) -> HelpRepository: ...
    @property
    def teams(self) -> TeamRepository: ...
    @property
    def stats(self) -> StatsRepository: ...
    @property
    def calls(self) -> CallRepository: ...
    @property
    def bookings(self) -> BookingRepository: ...
    @property
    def logistics(self) -> LogisticsRepository: ...
    @property
    def integrations(self) -> IntegrationRepository: ...
    @property
    def inbox(self) -> StaffInbox: ...

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, write: bool = False) -> UnitOfWork:
        """write=True: the unit writes and must read the latest data (SQLite: BEGIN IMMEDIATE)."""
        ...
