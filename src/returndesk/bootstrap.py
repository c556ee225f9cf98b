"""Wire once: build adapters from settings and hand them to the edges (web, CLI, tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from returndesk.adapters.auth.passwords import Argon2Hasher
from returndesk.adapters.auth.tokens import TokenIssuer
from returndesk.adapters.blobs import Blobs, S3Blobs
from returndesk.adapters.db.engine import build_engine
from returndesk.adapters.db.uow import SqlUnitOfWorkFactory
from returndesk.adapters.dispatch import Channel, DeliveryQueue, Dispatcher, ThreadQueue
from returndesk.adapters.evidence import LocalEvidenceFiles
from returndesk.adapters.jobs import InProcessJobs, Progress
from returndesk.adapters.live import LiveHub
from returndesk.adapters.mail import MailChannel, transport_from_settings
from returndesk.adapters.scaleout import DramatiqQueue, RedisLive
from returndesk.adapters.timestamps import Rfc3161Timestamper
from returndesk.adapters.webhooks import WebhookChannel
from returndesk.config import Settings
from returndesk.domain.notifications import QuietHours
from returndesk.services.assistant import AssistantDeps
from returndesk.services.ports import (
    Clock,
    HoldingProvider,
    LanguageModel,
    PasswordHasher,
    PaymentProvider,
    StoreOrders,
)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Container:
    settings: Settings
    engine: Engine
    uow: SqlUnitOfWorkFactory
    hasher: PasswordHasher
    tokens: TokenIssuer
    clock: Clock
    jobs: InProcessJobs = field(default_factory=InProcessJobs)
    live: LiveHub = field(default_factory=LiveHub)
    redis_live: RedisLive | None = None
    files: LocalEvidenceFiles = field(default_factory=lambda: LocalEvidenceFiles(Path("var")))
    dispatcher: Dispatcher | None = None
    _model: LanguageModel | None = None
    _payments: dict[str, PaymentProvider] | None = None
    _holders: dict[str, HoldingProvider] | None = None
    _store_orders: StoreOrders | None = None

    def language_model(self) -> LanguageModel | None:
        """The optional OpenAI-compatible chat model (RETURNDESK_LLM_BASE_URL), one per app."""
        settings = self.settings
        if not settings.llm_base_url:
            return None
        if self._model is None:
            from returndesk.adapters.llm import OpenAiCompatibleChat

            self._model = OpenAiCompatibleChat(
                settings.llm_base_url,
                settings.llm_model,
                settings.llm_api_key,
                settings.llm_timeout_seconds,
            )
        return self._model

    def payment_providers(self) -> dict[str, PaymentProvider]:
        """The providers refunds can go through, by name ("manual" needs none)."""
        if self._payments is None:
            settings = self.settings
            found: dict[str, PaymentProvider] = {}
            holders: dict[str, HoldingProvider] = {}
            if settings.stripe_api_key:
                from returndesk.adapters.payments import StripeRefunds

                stripe = StripeRefunds(
                    settings.stripe_api_key,
                    settings.stripe_api_base,
                    settings.payment_timeout_seconds,
                )
                found["stripe"] = holders["stripe"] = stripe
            if settings.shopify_shop and settings.shopify_access_token:
                from returndesk.adapters.shopify import ShopifyOrders, ShopifyRefunds

                shop = (
                    settings.shopify_shop,
                    settings.shopify_access_token,
                    settings.shopify_api_version,
                    settings.payment_timeout_seconds,
                    settings.shopify_api_base,
                )
                found["shopify"] = ShopifyRefunds(*shop)
                self._store_orders = ShopifyOrders(*shop)
            self._holders = holders
            self._payments = found
        return self._payments

    def holding_providers(self) -> dict[str, HoldingProvider]:
        """The providers that can hold a card for an instant exchange (Stripe)."""
        self.payment_providers()
        return dict(self._holders or {})

    def store_orders(self) -> StoreOrders | None:
        """The store's own order system, where exchanges' replacement orders are made (Shopify);
        None: staff make them by hand from the export."""
        self.payment_providers()
        return self._store_orders

    def after_parcel_moved(self, case_id: str) -> None:
        """After a scan moved a case, in the background: refund it if its policy says so now,
        and let an instant exchange's card hold go (the dispatcher's sweeps catch any this
        process did not get to)."""
        providers = self.payment_providers()
        holders = self.holding_providers()
        if not providers:
            return
        from returndesk.services.exchanges import follow_up
        from returndesk.services.refunds import refund_if_due

        def run(_progress: Progress) -> None:
            refund_if_due(self.uow, self.clock, providers, case_id)
            follow_up(self.uow, self.clock, holders, case_id)

        self.jobs.submit("system", "after_parcel_moved", run)

    def sweep_after_scans(self) -> None:
        """After a batch of scans (a CSV import), in the background: the refunds now due and
        the card holds to settle, as the dispatcher's sweeps would a minute later."""
        providers = self.payment_providers()
        holders = self.holding_providers()
        if not providers:
            return
        from returndesk.services.exchanges import sweep_holds
        from returndesk.services.refunds import sweep_due_refunds

        def run(_progress: Progress) -> None:
            sweep_due_refunds(self.uow, self.clock, providers)
            sweep_holds(self.uow, self.clock, holders)

        self.jobs.submit("system", "sweep_after_scans", run)

    def assistant(self) -> AssistantDeps:
        """The assistant's dependencies; the model is loaded once per process, on first use."""
        from returndesk.adapters.nlu.model import shared_classifier
        from returndesk.web.pages.assistant_replies import ReplyWriter

        classifier = shared_classifier()
        return AssistantDeps(
            uow=self.uow,
            clock=self.clock,
            understander=classifier,
            embedder=classifier.embedder,
            model=self.language_model(),
            writer=ReplyWriter(),
            handoff_minutes=self.settings.assistant_handoff_minutes,
        )

    def build_dispatcher(self) -> Dispatcher:
        """The outbox's consumer with every channel (webhooks, buyer emails)."""
        # The pages package imports this module: import the email templates when needed.
        from returndesk.services.calls import sweep_calls
        from returndesk.services.evidence import timestamp_pending
        from returndesk.services.exchanges import sweep_holds
        from returndesk.services.refunds import sweep_due_refunds
        from returndesk.services.retention import apply_retention
        from returndesk.services.return_window import sweep_unsent
        from returndesk.services.scheduling import sweep_bookings
        from returndesk.services.stats import refresh_stats
        from returndesk.services.teams import sweep_sla
        from returndesk.web.pages.emails import render_email, render_staff_email

        settings = self.settings
        queue: DeliveryQueue = (
            DramatiqQueue(settings.redis_url, settings.redis_namespace)
            if settings.redis_url
            else ThreadQueue()
        )
        channels: list[Channel] = [
            WebhookChannel(
                self.engine,
                self.clock,
                allow_private=settings.webhook_allow_private,
                lease_seconds=settings.delivery_lease_seconds,
            ),
            MailChannel(
                self.engine,
                self.clock,
                transport_from_settings(settings.smtp_url, settings.home),
                render_email,
                sender=settings.mail_from,
                public_url=settings.public_url,
                quiet_hours=QuietHours.parse(settings.quiet_hours),
                lease_seconds=settings.delivery_lease_seconds,
                staff_renderer=render_staff_email,
            ),
        ]

        def timestamps() -> None:
            timestamp_pending(self.uow, self.clock, self.files)

        def retention() -> None:
            apply_retention(self.uow, self.clock, self.files, settings.evidence_retention_days)

        def service_levels() -> None:
            sweep_sla(self.uow, self.clock)

        def dashboard() -> None:  # recount the days writes touched, so the dashboard is quick
            refresh_stats(self.uow, seconds=2.0)  # a big backlog: a little every minute

        def calls() -> None:
            sweep_calls(self.uow, self.clock, self.files)
            sweep_bookings(self.uow, self.clock)

        def unsent_returns() -> None:
            sweep_unsent(
                self.uow,
                self.clock,
                settings.return_ship_days,
                settings.return_reminder_days,
                hold_days=settings.return_hold_ship_days,
            )

        def refunds_due() -> None:
            sweep_due_refunds(self.uow, self.clock, self.payment_providers())
            sweep_holds(self.uow, self.clock, self.holding_providers())

        chores = [
            (30.0, timestamps),
            (60.0, refunds_due),
            (600.0, unsent_returns),
            (3600.0, retention),
            (settings.sla_sweep_seconds, service_levels),
            (30.0, calls),
            (60.0, dashboard),
        ]
        return Dispatcher(self.engine, self.clock, channels, queue, chores=chores)

    def start_dispatcher(self) -> None:
        """Deliver the outbox (webhooks, emails) from background threads of this process."""
        if self.dispatcher is None:
            self.dispatcher = self.build_dispatcher().start()

    def close(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.stop()
            self.dispatcher = None
        if self.redis_live is not None:
            self.redis_live.close()
            self.redis_live = None
        self.engine.dispose()


def _blobs(settings: Settings) -> Blobs | None:
    """Where stored evidence goes: a bucket when one is configured, else the home folder."""
    if not settings.evidence_s3_bucket:
        return None
    return S3Blobs(
        endpoint_url=settings.evidence_s3_endpoint,
        bucket=settings.evidence_s3_bucket,
        region=settings.evidence_s3_region,
        access_key=settings.evidence_s3_access_key,
        secret_key=settings.evidence_s3_secret_key,
        lock_days=settings.evidence_s3_lock_days,
    )


def bootstrap(
    settings: Settings | None = None,
    *,
    clock: Clock = utc_now,
    hasher: PasswordHasher | None = None,
) -> Container:
    settings = settings or Settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = build_engine(settings.database_url)
    live = LiveHub()
    timestamper = (
        Rfc3161Timestamper(settings.tsa_url, settings.tsa_ca_file) if settings.tsa_url else None
    )
    redis_live = (
        RedisLive(live, settings.redis_url, settings.redis_namespace).start()
        if (settings.redis_url)
        else None
    )
    return Container(
        settings=settings,
        engine=engine,
        uow=SqlUnitOfWorkFactory(
            engine, after_commit=redis_live.publish if redis_live else live.publish
        ),
        live=live,
        redis_live=redis_live,
        files=LocalEvidenceFiles(settings.home, timestamper, _blobs(settings)),
        hasher=hasher or Argon2Hasher(),
        tokens=TokenIssuer(settings.secret_key, clock),
        clock=clock,
    )
