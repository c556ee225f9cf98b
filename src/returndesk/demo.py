"""Realistic demo data: one store selling to seven markets, cases in every state.

Everything goes through the same handlers as the web and the CLI, so the timelines are real.
"""

from __future__ import annotations

import random
import tempfile
import tomllib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from returndesk.bootstrap import Container
from returndesk.domain.access import Role
from returndesk.domain.cases.model import LineRequest, ReceiptLine
from returndesk.domain.cases.reasons import ReasonCode
from returndesk.domain.cases.status import CaseStatus as S
from returndesk.domain.cases.status import ReceiptCondition, Resolution
from returndesk.domain.help import parse_front_matter
from returndesk.services.assistant import BuyerMessage, send_message
from returndesk.services.buyers import start_buyer_session
from returndesk.services.help import ArticleInput, save_article
from returndesk.services.orders import LineInput, OrderInput, ShipmentInput, upsert_order
from returndesk.services.policies import save_policy
from returndesk.services.principal import SYSTEM, Principal
from returndesk.services.returns import MoveCase, OpenReturn, open_return, transition_case
from returndesk.services.staff import create_staff_user, staff_principal
from returndesk.services.stores import ensure_default_store
from returndesk.services.teams import HoursInput, MemberInput, TeamInput, add_member, create_team

DEMO_PASSWORD = "returndesk-demo"  # noqa: S105 - printed for the demo on purpose

STAFF = (
    (Role.admin, "admin@demo.returndesk.dev", "Alex Admin", "en", "Asia/Shanghai"),
    (Role.supervisor, "supervisor@demo.returndesk.dev", "Wang Fang", "zh", "Asia/Shanghai"),
    (Role.agent, "agent@demo.returndesk.dev", "Li Wei", "zh", "Asia/Shanghai"),
    (Role.agent, "agent.br@demo.returndesk.dev", "Ana Souza", "en", "America/Sao_Paulo"),
    (Role.warehouse, "warehouse@demo.returndesk.dev", "Jonas Weber", "en", "Europe/Berlin"),
)

# sku, title, category, unit price by currency (minor units)
PRODUCTS = (
    ("TEE-ORG-M", "Organic cotton T-shirt, M", "apparel", 2500),
    ("TEE-ORG-L", "Organic cotton T-shirt, L", "apparel", 2500),
    ("JKT-RAIN-S", "Packable rain jacket, S", "apparel", 8900),
    ("JKT-RAIN-M", "Packable rain jacket, M", "apparel", 8900),
    ("BUD-PRO", "Wireless earbuds Pro", "electronics", 12900),
    ("LAMP-SMART", "Smart desk lamp", "electronics", 5900),
    ("SERUM-30", "Vitamin C serum 30 ml", "hygiene", 3400),
    ("MUG-STONE", "Stoneware mug", "home", 1800),
)
# market: currency, scale to local prices, language, buyers
MARKETS = {
    "US": ("USD", 1.0, "en", ("Emily Carter", "James Miller", "Olivia Brown", "Noah Davis")),
    "GB": ("GBP", 0.8, "en", ("Oliver Smith", "Amelia Jones", "Harry Taylor")),
    "BR": ("BRL", 5.2, "pt-BR", ("Ana Pereira", "Lucas Oliveira", "Mariana Costa", "Pedro Alves")),
    "JP": ("JPY", 1.5, "ja", ("佐藤 花子", "鈴木 一郎", "高橋 美咲")),
    "DE": ("EUR", 0.95, "de", ("Lena Schmidt", "Felix Müller", "Hannah Becker")),
    "FR": ("EUR", 0.95, "fr", ("Camille Martin", "Louis Bernard", "Chloé Dubois")),
    "ES": ("EUR", 0.95, "es", ("Lucía García", "Hugo Fernández", "Sofía López")),
}
CARRIERS = {"US": "UPS", "GB": "Royal Mail", "BR": "Correios", "JP": "Japan Post",
            "DE": "DHL", "FR": "Colissimo", "ES": "Correos"}  # fmt: skip

# The status each demo case is driven to, and how it gets there.
PATHS: dict[S, tuple[S, ...]] = {
    S.requested: (),
    S.under_review: (S.under_review,),
    S.needs_evidence: (S.under_review, S.needs_evidence),
    S.escalated: (S.under_review, S.escalated),
    S.approved: (S.under_review, S.approved),
    S.declined: (S.under_review, S.declined),
    S.awaiting_return: (S.approved, S.awaiting_return),
    S.in_transit: (S.approved, S.awaiting_return, S.in_transit),
    S.partially_received: (S.approved, S.awaiting_return, S.in_transit, S.partially_received),
    S.received: (S.approved, S.awaiting_return, S.in_transit, S.received),
    S.inspected: (S.approved, S.awaiting_return, S.in_transit, S.received, S.inspected),
    S.refund_pending: (S.approved, S.awaiting_return, S.received, S.inspected, S.refund_pending),
    S.refunded: (
        S.approved,
        S.awaiting_return,
        S.received,
        S.inspected,
        S.refund_pending,
        S.refunded,
    ),
    # the replacement is ordered once the return is inspected (the last step, see _exchange)
    S.exchange_shipped: (S.approved, S.awaiting_return, S.in_transit, S.received, S.inspected),
    S.resolved_without_return: (S.under_review, S.resolved_without_return),
    S.closed: (S.approved, S.refund_pending, S.refunded, S.closed),
    S.canceled: (S.canceled,),
}
NOTES = {
    S.needs_evidence: "Please send a photo of the label and the fault.",
    S.escalated: "Buyer disputes the inspection; needs a supervisor.",
    S.declined: "Outside the policy: item shows heavy use.",
    S.resolved_without_return: "Walked the buyer through pairing; works now.",
    S.partially_received: "One unit still missing from the parcel.",
    S.canceled: "",
}


@dataclass(slots=True)
class SeedResult:
    logins: list[tuple[str, str, str]] = field(default_factory=list)
    buyers: list[tuple[str, str, str]] = field(default_factory=list)
    orders: int = 0
    cases: int = 0
    help_articles: int = 0
    existed: bool = False


def _clock(at: list[datetime]) -> datetime:
    at[0] += timedelta(minutes=37)
    return at[0]


def seed(container: Container, *, now: datetime | None = None) -> SeedResult:
    now = now or container.clock()
    rng = random.Random(20261127)  # the same demo every time  # noqa: S311
    store = ensure_default_store(container.uow, container.clock)
    result = SeedResult(logins=[(r.value, e, DEMO_PASSWORD) for r, e, *_ in STAFF])
    with container.uow() as uow:
        existing = uow.staff.get_by_email(STAFF[0][1])
    if existing is not None:
        result.existed = True
        with container.uow() as uow:
            result.orders = 0
            result.cases = sum(uow.cases.count_by_status(store.id).values())
        result.buyers = _buyers()
        return result
    principals: dict[Role, Principal] = {}
    for role, email, name, language, tz in STAFF:
        user = create_staff_user(
            container.uow, container.hasher, container.clock, SYSTEM,
            email=email, role=role, password=DEMO_PASSWORD, name=name,
            language=language, timezone=tz,
        )  # fmt: skip
        principals.setdefault(role, staff_principal(user))
    seed_teams(container)
    # The history is seeded with decisions as suggestions only, so that agents moved every case
    # (and every status shows up); then automation is turned on for returns filed from now on.
    document = demo_policy_document()
    manual = {**document, "automation": {"apply": False}}
    save_policy(container.uow, container.clock, SYSTEM, None, manual, note="Demo policy")

    statuses = list(PATHS)
    order_index = 0
    for market, (currency, scale, language, names) in MARKETS.items():
        for i in range(6 if market in ("US", "BR") else 5):
            order_index += 1
            number = f"{market}{1000 + order_index}"
            name = names[i % len(names)]
            email = _email(name, market, i)
            placed = now - timedelta(days=rng.randint(3, 55), hours=rng.randint(0, 23))
            shipped = placed + timedelta(days=1)
            delivered = shipped + timedelta(days=rng.randint(4, 12))
            picks = rng.sample(PRODUCTS, k=rng.randint(1, 3))
            target = statuses[result.cases % len(statuses)] if i < 4 else None
            lines = []
            for sku, title, category, usd in picks:
                unit = _local_price(usd, scale, currency)
                qty = rng.choice((1, 1, 1, 2, 3))
                if target is S.partially_received:
                    qty = max(qty, 2)
                discount = unit * qty // 10 if rng.random() < 0.3 else 0
                lines.append(LineInput(
                    sku=sku, title=title, quantity=qty, unit_price=unit,
                    paid_amount=unit * qty - discount, category=category,
                    serial_numbers=tuple(
                        f"SN{rng.randint(10**7, 10**8 - 1)}" for _ in range(qty)
                    ) if category == "electronics" else (),
                ))  # fmt: skip
            delivered_at = delivered if delivered < now else None
            upsert_order(
                container.uow, SYSTEM,
                OrderInput(
                    number=number, email=email, market=market, currency=currency,
                    language=language, placed_at=placed, buyer_name=name, lines=tuple(lines),
                    shipments=(ShipmentInput(CARRIERS[market], f"{CARRIERS[market][:2].upper()}"
                               f"{rng.randint(10**9, 10**10 - 1)}", shipped, delivered_at),),
                ),
            )  # fmt: skip
            result.orders += 1
            if i == 0:
                result.buyers.append((market, number, email))
            if target is None or delivered_at is None:  # no return yet: try the wizard on it
                continue
            _make_case(container, principals, number, email, lines, target, delivered, rng)
            result.cases += 1
    save_policy(
        container.uow, container.clock, SYSTEM, None, document,
        note="Automation on: approve, keep-the-item and evidence requests move cases by themselves",
    )  # fmt: skip
    result.help_articles = seed_help(container)
    seed_chats(container)
    return result


# Follow-the-sun: Shanghai answers Asia and, overnight for the Americas, English; São Paulo
# takes Portuguese and Spanish in the Americas' day; Berlin covers Europe (nobody in it yet,
# so European cases wait in its queue).
DEMO_TEAMS = (
    ("Shanghai", "Asia/Shanghai", (("mon-fri", "09:00", "18:00"),), "CN",
     ("zh", "ja", "en"), (), (("agent@demo.returndesk.dev", ("zh", "ja", "en"), 8),
                              ("supervisor@demo.returndesk.dev", ("zh", "en"), 3))),
    ("São Paulo", "America/Sao_Paulo", (("mon-fri", "09:00", "18:00"), ("sat", "09:00", "13:00")),
     "BR", ("pt-BR", "es", "en"), ("BR", "US", "ES", "GB"),
     (("agent.br@demo.returndesk.dev", ("pt-BR", "es", "en"), 8),)),
    ("Berlin", "Europe/Berlin", (("mon-fri", "08:00", "16:00"),), "DE", ("de", "fr", "en"),
     ("DE", "FR", "ES", "GB"), ()),
)  # fmt: skip
WEEKDAYS = {"mon-fri": ("mon", "tue", "wed", "thu", "fri"), "sat": ("sat",)}


def seed_teams(container: Container) -> None:
    for name, zone, hours, country, languages, markets, members in DEMO_TEAMS:
        team = create_team(
            container.uow,
            container.clock,
            SYSTEM,
            TeamInput(
                name=name,
                timezone=zone,
                hours=tuple(HoursInput(WEEKDAYS[days], start, end) for days, start, end in hours),
                holiday_country=country,
                languages=languages,
                markets=markets,
            ),
        )
        for email, spoken, capacity in members:
            add_member(container.uow, SYSTEM, team.id, MemberInput(email, spoken, (), capacity))


# Chats through the assistant (the same use case as the portal): the console's Conversations
# page starts with one waiting for a person and one the assistant settled.
DEMO_CHATS = {
    "BR": ("Oi! Cadê meu pedido?", "Quero falar com um atendente, por favor"),
    "DE": ("Wo ist mein Paket?", "Wie lange habe ich Zeit für eine Rücksendung?"),
}


def seed_chats(container: Container) -> None:
    deps = container.assistant()
    for market, number, email in _buyers():
        if market not in DEMO_CHATS:
            continue
        buyer = start_buyer_session(container.uow, number, email)
        conversation = None
        for text in DEMO_CHATS[market]:
            reply = send_message(deps, buyer, BuyerMessage(text, conversation, channel="portal"))
            conversation = reply.conversation_id


def seed_help(container: Container) -> int:
    """The demo products' help articles (src/returndesk/help/*.md), through the handler."""
    folder = resources.files("returndesk.help")
    count = 0
    embedder = container.assistant().embedder_or_fail()
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".md") or entry.name.count(".") != 2:
            continue
        slug, language, _ = entry.name.split(".")
        fields, body = parse_front_matter(entry.read_text(encoding="utf-8"))
        skus = tuple(s.strip() for s in fields.get("skus", "").split(",") if s.strip())
        save_article(
            container.uow, container.clock, embedder, SYSTEM,
            ArticleInput(fields.get("slug", slug), language, fields["title"], body, skus),
        )  # fmt: skip
        count += 1
    return count


def demo_policy_document() -> dict[str, Any]:
    text = (resources.files("returndesk.policies") / "demo.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _buyers() -> list[tuple[str, str, str]]:
    found = []
    order_index = 0
    for market, (_, _, _, names) in MARKETS.items():
        for i in range(6 if market in ("US", "BR") else 5):
            order_index += 1
            if i == 0:
                found.append((market, f"{market}{1000 + order_index}", _email(names[0], market, 0)))
    return found


def _email(name: str, market: str, i: int) -> str:
    folded = unicodedata.normalize("NFKD", name.lower())
    ascii_name = "".join(c for c in folded if c.isascii() and c.isalpha())
    return f"{ascii_name or 'buyer'}{i}.{market.lower()}@example.com"


def _local_price(usd_minor: int, scale: float, currency: str) -> int:
    if currency == "JPY":  # no minor unit: USD cents * 1.5 ~ yen, rounded to 10
        return round(usd_minor * scale / 10) * 10
    return round(usd_minor * scale / 100) * 100 - 1  # x.99 prices


def _make_case(
    container: Container,
    principals: dict[Role, Principal],
    number: str,
    email: str,
    lines: list[LineInput],
    target: S,
    delivered: datetime,
    rng: random.Random,
) -> None:
    from returndesk.services.buyers import start_buyer_session

    buyer = start_buyer_session(container.uow, number, email)
    returnable = [ln for ln in lines if ln.category != "hygiene"] or lines
    if target is S.partially_received:
        returnable = [ln for ln in returnable if ln.quantity >= 2] or returnable
    line = returnable[0]
    needs_exchange = target is S.exchange_shipped
    reason = rng.choice(
        (ReasonCode.wrong_size,) if needs_exchange
        else (ReasonCode.changed_mind, ReasonCode.defective, ReasonCode.color_differs,
              ReasonCode.damaged_in_transit, ReasonCode.not_as_described)
    )  # fmt: skip
    if line.category == "hygiene":
        reason = ReasonCode.defective
    resolution = Resolution.exchange if needs_exchange else Resolution.refund
    at = [
        min(delivered + timedelta(days=rng.randint(1, 5)), datetime.now(UTC) - timedelta(hours=6))
    ]
    if target is S.awaiting_return:  # recent: an older one would be closed as never sent
        at[0] = max(at[0], datetime.now(UTC) - timedelta(days=3))
    opened = open_return(
        container.uow, lambda: _clock(at), buyer,
        OpenReturn(number, (LineRequest(line.sku, line.quantity, reason, _comment(reason)),),
                   resolution),
    )  # fmt: skip
    case = opened.case
    if reason in (ReasonCode.defective, ReasonCode.damaged_in_transit) and target is not S.canceled:
        _photo(container, buyer, case.id, lambda: _clock(at), "damage.jpg")
        with container.uow() as uow:
            case = uow.cases.get(case.id) or case  # a newer version: the photo is on it
    for step in PATHS[target]:
        actor = (
            principals[Role.warehouse]
            if step in (S.in_transit, S.partially_received, S.received, S.inspected)
            else principals[Role.supervisor] if case.status is S.escalated
            else buyer if step is S.canceled
            else principals[Role.agent]
        )  # fmt: skip
        receipt: tuple[ReceiptLine, ...] = ()
        if step is S.partially_received:
            if line.quantity < 2:
                continue
            receipt = (ReceiptLine(line.sku, line.quantity - 1, ReceiptCondition.intact),)
        case, _ = transition_case(
            container.uow, lambda: _clock(at), actor,
            MoveCase(case.id, step, case.version, NOTES.get(step, ""), receipt=receipt),
        )  # fmt: skip
    if target is S.exchange_shipped:
        _exchange(container, principals[Role.agent], case.id, line, number, lambda: _clock(at))


_NEXT_SIZE = {"XS": "S", "S": "M", "M": "L", "L": "XL", "XL": "XXL"}


def _exchange(
    container: Container,
    agent: Principal,
    case_id: str,
    line: LineInput,
    number: str,
    clock: Callable[[], datetime],
) -> None:
    """The next size up ordered for the buyer, as a store with no shop adapter does it: the
    exchange is exported, then the agent names the order made in the shop."""
    from returndesk.services.exchanges import OrderExchange, order_exchange, record_replacement

    stem, _, size = line.sku.rpartition("-")
    replacement = f"{stem}-{_NEXT_SIZE[size]}" if stem and size in _NEXT_SIZE else line.sku
    command = OrderExchange(case_id, ((line.sku, line.quantity, replacement),), instant=False)
    order_exchange(container.uow, clock, agent, {}, None, command)
    record_replacement(container.uow, clock, agent, case_id, f"#{number}-X")


def _photo(
    container: Container,
    principal: Principal,
    case_id: str,
    clock: Callable[[], datetime],
    name: str,
) -> None:
    """A made-up photo of the item with a scratch on it, added as the buyer's evidence."""
    from PIL import Image, ImageDraw

    from returndesk.services.evidence import add_file

    rng = random.Random(case_id)  # noqa: S311 - a picture, not a secret; the demo's own rng untouched

    image = Image.new("RGB", (800, 600), (rng.randint(200, 240),) * 3)
    draw = ImageDraw.Draw(image)
    box = (160, 120, 640, 480)
    draw.rounded_rectangle(box, radius=24, fill=(rng.randint(40, 90), 70, 110))
    x, y = rng.randint(260, 420), rng.randint(200, 300)
    draw.line((x, y, x + 140, y + 90), fill=(230, 230, 230), width=5)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        image.save(path, "JPEG", quality=85)
        add_file(
            container.uow, clock, container.files, principal, case_id=case_id, kind="photo",
            source=path, device="ReturnDesk demo data",
        )  # fmt: skip


def _comment(reason: ReasonCode) -> str:
    return {
        ReasonCode.defective: "It stopped working after two days.",
        ReasonCode.color_differs: "The colour is much darker than in the photos.",
        ReasonCode.damaged_in_transit: "The box was crushed and the item is scratched.",
        ReasonCode.wrong_size: "Too small, I need the next size up.",
    }.get(reason, "")
