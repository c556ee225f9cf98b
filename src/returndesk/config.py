"""One Settings object, read from RETURNDESK_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from returndesk.domain.notifications import QuietHours

DEFAULT_SECRET = "change-me-returndesk-demo-secret-key"  # noqa: S105 - the refused default


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RETURNDESK_", extra="ignore")

    home: Path = Field(default=Path("./var"), description="data folder")
    database_url: str = Field(default="", description="default: SQLite file in home")
    secret_key: str = DEFAULT_SECRET
    demo: bool = False
    token_ttl_seconds: int = 8 * 3600
    buyer_token_ttl_seconds: int = 24 * 3600
    # An agent's presence lapses this long after the console last renewed it (it renews
    # every 30 s while open): a closed console leaves the agent offline, never assigned.
    presence_ttl_seconds: int = Field(default=90, ge=30, le=3600)
    sla_sweep_seconds: float = Field(default=30.0, gt=0, le=3600)
    max_body_bytes: int = 1_000_000
    buyer_session_rate: str = "10/minute"
    public_url: str = "http://127.0.0.1:8000"
    webhook_allow_private: bool = False  # deliver to loopback/private addresses (tests, LANs)
    dispatch: bool = True  # run the outbox dispatcher (webhooks, emails) in this process
    smtp_url: str = ""  # smtp://user:pass@host:587?starttls=1 or smtps://...; empty: home/outbox
    mail_from: str = "returns@returndesk.localhost"  # the store's name is the display name
    quiet_hours: str = "21:00-08:00"  # buyer's local time; non-urgent email waits; "" = none
    delivery_lease_seconds: int = Field(default=90, ge=1)  # a dead sender's deliveries wait this
    evidence_retention_days: int = Field(default=730, ge=0)  # after a case ends; 0 = forever
    # Evidence files in an S3-compatible bucket instead of RETURNDESK_HOME/evidence.
    evidence_s3_bucket: str = ""
    evidence_s3_endpoint: str = ""  # e.g. http://127.0.0.1:9000; empty: AWS
    evidence_s3_region: str = "us-east-1"
    evidence_s3_access_key: str = ""  # empty: the usual AWS credential chain
    evidence_s3_secret_key: str = ""
    evidence_s3_lock_days: int = Field(default=0, ge=0)  # object lock (GOVERNANCE) per file
    tsa_url: str = ""  # an RFC 3161 time-stamping authority for evidence checkpoints
    tsa_ca_file: Path | None = None  # its root certificate(s), PEM, to check its timestamps
    redis_url: str = ""  # set to share live events and delivery jobs between processes
    redis_namespace: str = "returndesk"
    # The assistant: how soon a person answers a conversation it handed over (told the buyer).
    assistant_handoff_minutes: int = Field(default=240, ge=1, le=7 * 24 * 60)
    assistant_message_rate: str = "60/minute"  # chat messages per client address and chat
    # An OpenAI-compatible Chat Completions endpoint (optional): it phrases replies and routes
    # messages the offline model is unsure of; it never decides. Empty URL: offline only.
    llm_base_url: str = ""  # e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1
    llm_model: str = ""
    llm_api_key: str = ""
    llm_timeout_seconds: float = Field(default=8.0, gt=0, le=120)

    # Video calls: STUN/TURN servers the browsers use (comma-separated ICE URLs), and the
    # shared secret of a TURN server run with the REST-API scheme (coturn's
    # `use-auth-secret` + `static-auth-secret`): each participant gets credentials that expire.
    stun_urls: str = ""  # e.g. stun:stun.example.com:3478
    turn_urls: str = ""  # e.g. turn:turn.example.com:3478?transport=udp,turns:...:5349
    turn_secret: str = ""
    turn_ttl_seconds: int = Field(default=3600, ge=60, le=86400)
    call_ice_policy: str = Field(default="all", pattern="^(all|relay)$")  # relay: TURN only
    call_link_minutes: int = Field(default=60, ge=5, le=24 * 60)

    # Refunds through Stripe (docs/logistics.md): the secret key, and the API's address (the
    # real one unless a test points it at a local server). Empty key: no Stripe refunds.
    stripe_api_key: str = ""
    stripe_api_base: str = "https://api.stripe.com"
    payment_timeout_seconds: float = Field(default=20.0, gt=0, le=120)
    # A Shopify store (docs/logistics.md): refunds of orders paid through Shopify and the
    # replacement orders of exchanges, through the Admin API with an app's access token.
    # `shopify_api_base` replaces https://<shop> (a local server in tests).
    shopify_shop: str = Field(default="", pattern=r"^$|^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
    shopify_access_token: str = ""
    shopify_api_version: str = Field(default="2024-10", pattern=r"^\d{4}-\d{2}$")
    shopify_api_base: str = Field(default="", pattern=r"^$|^https?://")
    # The buyer sends an approved return's parcel within this many days (a carrier's scan
    # counts), is reminded this many days before, and the return is closed after.
    return_ship_days: int = Field(default=14, ge=1, le=365)
    return_reminder_days: int = Field(default=3, ge=0, le=60)
    # An instant exchange's parcel is due this many days after its card hold, if sooner: the
    # hold must be captured before the card authorisation lapses (about 7 days at Stripe).
    return_hold_ship_days: int = Field(default=6, ge=1, le=30)
    # The warehouse a scan is booked to when the scanner names none.
    default_warehouse: str = Field(default="main", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")

    @model_validator(mode="after")
    def _check(self) -> Settings:
        self.home = self.home.resolve()
        if not self.database_url:
            self.database_url = f"sqlite:///{self.home / 'returndesk.sqlite3'}"
        if not self.demo and (self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 32):
            raise ValueError(
                "RETURNDESK_SECRET_KEY must be set to a random value of 32+ characters "
                "(the default is only accepted with RETURNDESK_DEMO=1)"
            )
        QuietHours.parse(self.quiet_hours)  # a typo fails at start, not at 21:00
        return self
