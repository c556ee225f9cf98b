"""A store's return policy as data: parsed from a plain document (TOML/JSON), checked, compiled.

The document is what supervisors edit, export and import; `Policy` is its checked, compiled
form. Every error names the offending path (and rule id), and nothing is half-applied: a
document either parses whole or raises `PolicyInvalid`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from returndesk.domain.cases.reasons import FAULT_REASONS, REASON_TREE, ReasonCode
from returndesk.domain.errors import ValidationFailed
from returndesk.domain.money import check_currency
from returndesk.domain.policy.decision import (
    DeclineReason,
    EvidenceKind,
    Outcome,
    RefundTiming,
)
from returndesk.domain.policy.law import REGIONS, STATUTES, DayCount, MarketLaw, Payer

SCHEMA = 1
MAX_RULES = 500
_RULE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_CATEGORY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_E = TypeVar("_E", bound=StrEnum)
_REASON_GROUPS = {group.code: group.reasons for group in REASON_TREE}


class PolicyInvalid(ValidationFailed):
    code = "invalid_policy"
    title = "The policy is not valid"


class RuleFailed(Exception):
    """A rule's condition could not be evaluated against the facts (wrong type, missing key)."""


class Condition(Protocol):
    names: frozenset[str]  # the top-level facts the condition reads

    def matches(self, facts: object) -> bool: ...


class HolidayCalendar(Protocol):
    """Public holidays of a country (ISO 3166), for periods counted in business days."""

    def __call__(self, country: str, day: date) -> bool: ...


class RuleLanguage(Protocol):
    """Compiles a rule's `when` expression; binds a decision's facts once for every rule."""

    name: str

    def compile(self, source: str) -> Condition: ...
    def bind(self, facts: dict[str, Any]) -> object: ...


@dataclass(frozen=True, slots=True)
class RuleAction:
    outcome: Outcome | None = None
    decline_reason: DeclineReason | None = None
    evidence: EvidenceKind | None = None
    return_shipping_paid_by: Payer | None = None
    restocking_fee_bp: int | None = None  # basis points of the line amounts


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    description: str
    markets: frozenset[str]  # countries or legal regions (EU, UK); empty: every market
    reasons: frozenset[ReasonCode]  # empty: every reason
    categories: frozenset[str]  # empty: every category
    when: str  # the condition's source, "" for none
    condition: Condition | None
    then: RuleAction


@dataclass(frozen=True, slots=True)
class WindowOverride:
    markets: frozenset[str]
    categories: frozenset[str]
    change_of_mind_days: int | None
    fault_days: int | None


@dataclass(frozen=True, slots=True)
class ReturnAddress:
    markets: frozenset[str]
    name: str
    lines: tuple[str, ...]
    local: bool  # in the buyer's country (a consolidation warehouse or partner)
    # Label-free: the buyer shows a QR code at this carrier's or network's drop-off points
    # ("Correios", "UPS Access Point") and the counter prints the label; "" for a printed label.
    drop_off: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "lines": list(self.lines), "local": self.local}
        if self.drop_off:  # only then: decisions stored before drop-offs existed replay equal
            out["drop_off"] = self.drop_off
        return out


@dataclass(frozen=True, slots=True)
class Policy:
    document: dict[str, Any]
    name: str = "Return policy"
    auto_apply: bool = False  # move new cases on by the decision; off: decisions only suggest
    policy_displayed: bool = True
    origin_country: str | None = None
    change_of_mind_days: int = 30
    fault_days: int = 365
    windows: tuple[WindowOverride, ...] = ()
    final_sale_categories: frozenset[str] = frozenset()
    non_returnable_categories: frozenset[str] = frozenset()
    law: Mapping[str, MarketLaw] = field(default_factory=lambda: dict(STATUTES))
    return_shipping_default: Payer = Payer.buyer
    return_shipping_by_reason: Mapping[ReasonCode, Payer] = field(default_factory=dict)
    deduct_return_cost: bool = False  # buyer-paid returns: deduct the lane cost from the refund
    restocking_fee_bp: int = 0
    restocking_fee_reasons: frozenset[ReasonCode] = frozenset()
    refund_timing: RefundTiming = RefundTiming.on_receipt
    refund_automatic: bool = False  # refund through the order's payment provider at `timing`
    exchange_enabled: bool = True
    # Instant exchanges: the replacement ships before the return arrives, secured by a hold on
    # the buyer's card (docs/logistics.md).
    exchange_instant: bool = False
    store_credit_bonus_bp: int = 0
    block_emails: frozenset[str] = frozenset()
    block_orders: frozenset[str] = frozenset()
    block_skus: frozenset[str] = frozenset()
    allow_emails: frozenset[str] = frozenset()
    returnless_below: Mapping[str, int] = field(default_factory=dict)
    handling_cost: Mapping[str, int] = field(default_factory=dict)
    return_cost: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # market->cur
    resale_bp: int = 6000
    resale_faulty_bp: int = 1000
    # What the payment provider keeps of a refunded payment (card fees are not given back):
    # booked as a cost of the return on each refund through a provider.
    payment_fee_bp: int = 0
    return_addresses: tuple[ReturnAddress, ...] = ()
    fraud_lookback_days: int = 90
    fraud_max_returns: int | None = None
    review_above: Mapping[str, int] = field(default_factory=dict)
    evidence_by_reason: Mapping[ReasonCode, EvidenceKind] = field(default_factory=dict)
    evidence_not_below: Mapping[str, int] = field(default_factory=dict)
    # The warehouse's checklist per product category, in the store's words ("*": any other);
    # empty: the built-in items (domain/inspection.py).
    inspection_checklists: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()
    language: RuleLanguage | None = None  # what compiled the rules; binds a decision's facts
    holidays: HolidayCalendar | None = None  # public holidays for business-day periods

    def law_for(self, region: str) -> MarketLaw | None:
        return self.law.get(region)

    def windows_for(self, market: str, region: str, category: str) -> tuple[int, int]:
        """(change-of-mind days, fault days) for a line; the first matching override wins."""
        cm, fault = self.change_of_mind_days, self.fault_days
        for w in self.windows:
            if w.markets and market not in w.markets and region not in w.markets:
                continue
            if w.categories and category not in w.categories:
                continue
            return (
                cm if w.change_of_mind_days is None else w.change_of_mind_days,
                fault if w.fault_days is None else w.fault_days,
            )
        return cm, fault

    def address_for(self, market: str, region: str) -> ReturnAddress | None:
        """A local address in the buyer's market first, then any address for its region."""
        regional: ReturnAddress | None = None
        catch_all: ReturnAddress | None = None
        for address in self.return_addresses:
            if market in address.markets:
                return address
            if regional is None and region in address.markets:
                regional = address
            if catch_all is None and not address.markets:
                catch_all = address
        return regional or catch_all


# --- the reader ----------------------------------------------------------------------------


class _Reader:
    """Reads one table of the document, naming the path of anything wrong."""

    def __init__(self, data: object, path: str, rule: str | None = None) -> None:
        if not isinstance(data, Mapping):
            raise _error(path, "must be a table", rule)
        self.data: Mapping[str, Any] = data
        self.path = path
        self.rule = rule
        self.seen: set[str] = set()

    def _at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, message: str) -> PolicyInvalid:
        return _error(self._at(key), message, self.rule)

    def raw(self, key: str) -> Any:
        self.seen.add(key)
        return self.data.get(key)

    def table(self, key: str) -> _Reader:
        value = self.raw(key)
        return _Reader({} if value is None else value, self._at(key), self.rule)

    def tables(self, key: str) -> list[_Reader]:
        value = self.raw(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(key, "must be a list of tables")
        return [_Reader(item, f"{self._at(key)}[{i}]", self.rule) for i, item in enumerate(value)]

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(key, "must be true or false")
        return value

    def integer(self, key: str, default: int | None, low: int, high: int) -> int | None:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(key, f"must be a whole number from {low} to {high}")
        return value

    def days(self, key: str, default: int) -> int:
        value = self.integer(key, default, 0, 3650)
        assert value is not None
        return value

    def percent_bp(self, key: str, default: int) -> int:
        """A percentage (up to two decimals) as basis points."""
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, "must be a percentage from 0 to 100")
        if not math.isfinite(value) or not 0 <= value <= 100:
            raise self.fail(key, "must be a percentage from 0 to 100")
        bp = round(value * 100)
        if not 0 <= bp <= 10_000 or abs(bp - value * 100) > 1e-6:
            raise self.fail(key, "must be a percentage from 0 to 100 with at most two decimals")
        return bp

    def text(self, key: str, default: str, max_length: int = 200) -> str:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, str) or len(value) > max_length or "\x00" in value:
            raise self.fail(key, f"must be text of at most {max_length} characters")
        return value.strip()

    def choice(self, key: str, enum: type[_E], default: _E | None) -> _E | None:
        value = self.raw(key)
        if value is None:
            return default
        try:
            return enum(value)
        except ValueError:
            allowed = ", ".join(e.value for e in enum)
            raise self.fail(key, f"{value!r} is not one of: {allowed}") from None

    def strings(self, key: str, pattern: re.Pattern[str] | None = None) -> frozenset[str]:
        value = self.raw(key)
        if value is None:
            return frozenset()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, "must be a list of text values")
        if len(value) > 10_000:
            raise self.fail(key, "has more than 10000 entries")
        for v in value:
            if pattern is not None and not pattern.match(v):
                raise self.fail(key, f"{v!r} is not valid here")
        return frozenset(value)

    def markets(self, key: str) -> frozenset[str]:
        values = self.strings(key)
        for v in values:
            if v not in REGIONS and not _COUNTRY.match(v):
                raise self.fail(key, f"{v!r} is neither a country code nor one of {REGIONS}")
        return values

    def reasons(self, key: str) -> frozenset[ReasonCode]:
        out: set[ReasonCode] = set()
        for v in self.strings(key):
            if v in _REASON_GROUPS:
                out.update(_REASON_GROUPS[v])
                continue
            try:
                out.add(ReasonCode(v))
            except ValueError:
                raise self.fail(key, f"{v!r} is neither a reason nor a reason group") from None
        return frozenset(out)

    def amounts(self, key: str) -> dict[str, int]:
        """A {currency: minor units} table."""
        table = self.table(key)
        out: dict[str, int] = {}
        for currency in table.data:
            try:
                check_currency(currency)
            except ValidationFailed:
                raise table.fail(currency, "is not an ISO 4217 currency code") from None
            amount = table.integer(currency, None, 0, 10**12)
            if amount is None:
                raise table.fail(currency, "must be an amount in minor units")
            out[currency] = amount
        return out

    def done(self) -> None:
        extra = sorted(set(self.data) - self.seen)
        if extra:
            raise self.fail(extra[0], "is not a setting this policy knows")


def _error(path: str, message: str, rule: str | None) -> PolicyInvalid:
    where = f"rule {rule!r}, {path}" if rule else path
    data: dict[str, Any] = {"path": path}
    if rule:
        data["rule"] = rule
    return PolicyInvalid(f"{where}: {message}", **data)


# --- parsing -------------------------------------------------------------------------------


def parse_policy(document: Mapping[str, Any], language: RuleLanguage) -> Policy:
    """Check a whole document and compile its rules; raise PolicyInvalid naming what is wrong."""
    top = _Reader(document, "")
    schema = top.integer("schema", SCHEMA, 1, 1)
    del schema
    windows = top.table("windows")
    categories = top.table("categories")
    shipping = top.table("return_shipping")
    fee = top.table("restocking_fee")
    refund = top.table("refund")
    exchange = top.table("exchange")
    lists = top.table("lists")
    economics = top.table("economics")
    fraud = top.table("fraud")
    evidence = top.table("evidence")
    inspection = top.table("inspection")
    automation = top.table("automation")
    origin = top.text("origin_country", "") or None
    if origin is not None and not _COUNTRY.match(origin):
        raise top.fail("origin_country", "must be an ISO 3166 country code such as DE")

    policy = Policy(
        document=dict(document),
        name=top.text("name", "Return policy"),
        auto_apply=automation.boolean("apply", False),
        policy_displayed=top.boolean("policy_displayed", True),
        origin_country=origin,
        change_of_mind_days=windows.days("change_of_mind_days", 30),
        fault_days=windows.days("fault_days", 365),
        windows=tuple(_window(w) for w in windows.tables("overrides")),
        final_sale_categories=categories.strings("final_sale", _CATEGORY),
        non_returnable_categories=categories.strings("non_returnable", _CATEGORY),
        law=_law(top.table("law")),
        return_shipping_default=shipping.choice("default", Payer, Payer.buyer) or Payer.buyer,
        return_shipping_by_reason=_payers(shipping.table("by_reason")),
        deduct_return_cost=shipping.boolean("deduct_return_cost", False),
        restocking_fee_bp=fee.percent_bp("percent", 0),
        restocking_fee_reasons=fee.reasons("reasons"),
        refund_timing=refund.choice("timing", RefundTiming, RefundTiming.on_receipt)
        or RefundTiming.on_receipt,
        refund_automatic=refund.boolean("automatic", False),
        exchange_enabled=exchange.boolean("enabled", True),
        exchange_instant=exchange.boolean("instant", False),
        store_credit_bonus_bp=exchange.percent_bp("store_credit_bonus_percent", 0),
        block_emails=frozenset(e.lower() for e in lists.strings("block_emails")),
        block_orders=lists.strings("block_orders"),
        block_skus=lists.strings("block_skus"),
        allow_emails=frozenset(e.lower() for e in lists.strings("allow_emails")),
        returnless_below=economics.amounts("returnless_below"),
        handling_cost=economics.amounts("handling_cost"),
        return_cost=_return_costs(economics.table("return_cost")),
        resale_bp=economics.percent_bp("resale_percent", 6000),
        resale_faulty_bp=economics.percent_bp("resale_percent_faulty", 1000),
        payment_fee_bp=economics.percent_bp("payment_fee_percent", 0),
        return_addresses=tuple(_address(a) for a in top.tables("return_addresses")),
        fraud_lookback_days=fraud.days("lookback_days", 90),
        fraud_max_returns=fraud.integer("max_returns", None, 1, 100_000),
        review_above=fraud.amounts("review_above"),
        evidence_by_reason=_evidence(evidence.table("by_reason")),
        evidence_not_below=evidence.amounts("not_below"),
        inspection_checklists=_checklists(inspection.table("checklists")),
        rules=_rules(top.tables("rules"), language),
        language=language,
    )
    for reader in (windows, categories, shipping, fee, refund, exchange, lists, economics):
        reader.done()
    fraud.done()
    evidence.done()
    inspection.done()
    automation.done()
    top.done()
    _check_contradictions(policy)
    return policy


def _window(r: _Reader) -> WindowOverride:
    w = WindowOverride(
        markets=r.markets("markets"),
        categories=r.strings("categories", _CATEGORY),
        change_of_mind_days=r.integer("change_of_mind_days", None, 0, 3650),
        fault_days=r.integer("fault_days", None, 0, 3650),
    )
    if w.change_of_mind_days is None and w.fault_days is None:
        raise r.fail("change_of_mind_days", "an override sets change_of_mind_days or fault_days")
    r.done()
    return w


_LAW_FIELDS = {f.name for f in fields(MarketLaw)} - {"region"}


def _law(r: _Reader) -> dict[str, MarketLaw]:
    out = dict(STATUTES)
    for region in r.data:
        if region not in REGIONS:
            raise r.fail(region, f"is not a legal region ({', '.join(REGIONS)})")
        t = r.table(region)
        base = STATUTES[region]
        values: dict[str, Any] = {}
        for key in t.data:
            if key not in _LAW_FIELDS:
                raise t.fail(key, "is not a setting of the statutory floor")
        if "withdrawal_days" in t.data:
            values["withdrawal_days"] = t.integer("withdrawal_days", None, 0, 365)
        if "fault_days" in t.data:
            values["fault_days"] = t.integer("fault_days", None, 0, 3650)
        for key, enum in (("day_count", DayCount), ("withdrawal_return_paid_by", Payer)):
            if key in t.data:
                chosen = t.choice(key, enum, None)
                if chosen is None:
                    raise t.fail(key, "needs a value")
                values[key] = chosen
        for flag in (
            "refund_outbound_shipping",
            "restocking_fee_allowed",
            "only_without_displayed_policy",
            "fault_remedy_choice",
        ):
            if flag in t.data:
                values[flag] = t.boolean(flag, False)
        for text in ("withdrawal_basis", "fault_basis", "exempt_basis", "refund_basis"):
            if text in t.data:
                values[text] = t.text(text, "")
        t.done()
        out[region] = replace(base, **values)
    return out


def _payers(r: _Reader) -> dict[ReasonCode, Payer]:
    out: dict[ReasonCode, Payer] = {}
    for key in r.data:
        payer = r.choice(key, Payer, None)
        if payer is None:
            raise r.fail(key, "must be buyer, store or nobody")
        reasons = _REASON_GROUPS.get(key)
        if reasons is None:
            try:
                reasons = (ReasonCode(key),)
            except ValueError:
                raise r.fail(key, "is neither a reason nor a reason group") from None
        for reason in reasons:
            out[reason] = payer
    return out


def _evidence(r: _Reader) -> dict[ReasonCode, EvidenceKind]:
    out: dict[ReasonCode, EvidenceKind] = {}
    for key in r.data:
        try:
            reason = ReasonCode(key)
        except ValueError:
            raise r.fail(key, "is not a reason code") from None
        kind = r.choice(key, EvidenceKind, None)
        if kind is None:
            raise r.fail(key, "must be photo, unboxing_video or inspection_call")
        out[reason] = kind
    return out


def _return_costs(r: _Reader) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for market in r.data:
        if not _COUNTRY.match(market):
            raise r.fail(market, "is not an ISO 3166 country code")
        out[market] = r.amounts(market)
    return out


def _checklists(r: _Reader) -> dict[str, tuple[str, ...]]:
    """`[inspection.checklists]`: category = ["item", ...] (at most 30 items of 100 chars)."""
    out: dict[str, tuple[str, ...]] = {}
    for category in r.data:
        items = r.raw(category)
        if (
            not isinstance(items, list)
            or not 1 <= len(items) <= 30
            or not all(isinstance(x, str) and 0 < len(x.strip()) <= 100 for x in items)
            or len(set(items)) != len(items)
        ):
            raise r.fail(category, "must be 1 to 30 different items of at most 100 characters")
        out[category] = tuple(x.strip() for x in items)
    return out


def _address(r: _Reader) -> ReturnAddress:
    lines = r.raw("lines")
    if (
        not isinstance(lines, list)
        or not 1 <= len(lines) <= 8
        or not all(isinstance(x, str) and 0 < len(x) <= 200 for x in lines)
    ):
        raise r.fail("lines", "must be 1 to 8 lines of text")
    address = ReturnAddress(
        markets=r.markets("markets"),
        name=r.text("name", ""),
        lines=tuple(lines),
        local=r.boolean("local", False),
        drop_off=r.text("drop_off", "", max_length=60),
    )
    if not address.name:
        raise r.fail("name", "an address needs a name")
    r.done()
    return address


def _rules(readers: list[_Reader], language: RuleLanguage) -> tuple[Rule, ...]:
    if len(readers) > MAX_RULES:
        raise _error("rules", f"a policy has at most {MAX_RULES} rules", None)
    rules: list[Rule] = []
    seen: set[str] = set()
    for r in readers:
        rule_id = r.text("id", "")
        if not _RULE_ID.match(rule_id):
            raise r.fail("id", "a rule needs an id: lowercase letters, digits, - and _")
        if rule_id in seen:
            raise _error(f"{r.path}.id", f"the id {rule_id!r} is used twice", rule_id)
        seen.add(rule_id)
        r.rule = rule_id
        when = r.text("when", "", max_length=2000)
        condition: Condition | None = None
        if when:
            try:
                condition = language.compile(when)
            except ValidationFailed as exc:
                raise r.fail("when", exc.detail) from None
        rules.append(
            Rule(
                id=rule_id,
                description=r.text("description", ""),
                markets=r.markets("markets"),
                reasons=r.reasons("reasons"),
                categories=r.strings("categories", _CATEGORY),
                when=when,
                condition=condition,
                then=_action(r.table("then")),
            )
        )
        r.done()
    return tuple(rules)


def _action(r: _Reader) -> RuleAction:
    action = RuleAction(
        outcome=r.choice("outcome", Outcome, None),
        decline_reason=r.choice("decline_reason", DeclineReason, None),
        evidence=r.choice("evidence", EvidenceKind, None),
        return_shipping_paid_by=r.choice("return_shipping_paid_by", Payer, None),
        restocking_fee_bp=(
            r.percent_bp("restocking_fee_percent", 0)
            if r.raw("restocking_fee_percent") is not None
            else None
        ),
    )
    r.done()
    if action == RuleAction():
        raise r.fail("outcome", "a rule's `then` must set at least one thing")
    if (action.decline_reason is not None) != (action.outcome is Outcome.decline):
        raise r.fail("decline_reason", "a decline needs a decline_reason, and only a decline")
    if (action.evidence is not None) != (action.outcome is Outcome.request_evidence):
        raise r.fail("evidence", "request_evidence needs `evidence`, and only it")
    return action


def _check_contradictions(policy: Policy) -> None:
    both = policy.block_emails & policy.allow_emails
    if both:
        raise _error("lists", f"{sorted(both)[0]!r} is on both the block and allow lists", None)
    if policy.change_of_mind_days > policy.fault_days:
        raise _error(
            "windows.change_of_mind_days", "is longer than the fault window (fault_days)", None
        )
    for i, w in enumerate(policy.windows):
        cm = policy.change_of_mind_days if w.change_of_mind_days is None else w.change_of_mind_days
        fault = policy.fault_days if w.fault_days is None else w.fault_days
        if cm > fault:
            raise _error(
                f"windows.overrides[{i}]", "change_of_mind_days is longer than fault_days", None
            )
    contradicted = policy.non_returnable_categories & policy.final_sale_categories
    if contradicted:
        raise _error(
            "categories",
            f"{sorted(contradicted)[0]!r} is both final sale and non-returnable: pick one",
            None,
        )
    # Two rules with the same scope and condition but different outcomes: the second can never
    # decide anything, which is almost certainly a mistake.
    earlier: dict[tuple[Any, ...], Rule] = {}
    for rule in policy.rules:
        key = (rule.markets, rule.reasons, rule.categories, rule.when.strip())
        first = earlier.get(key)
        if (
            first is not None
            and rule.then.outcome is not None
            and first.then.outcome is not None
            and rule.then.outcome is not first.then.outcome
        ):
            raise _error(
                "rules",
                f"rule {rule.id!r} has the same scope and condition as rule {first.id!r} "
                f"but a different outcome ({rule.then.outcome} vs {first.then.outcome})",
                rule.id,
            )
        earlier.setdefault(key, rule)
    for i, rule in enumerate(policy.rules):
        if rule.then.restocking_fee_bp and rule.reasons and rule.reasons <= FAULT_REASONS:
            raise _error(
                f"rules[{i}].then.restocking_fee_percent",
                "no restocking fee may be charged for faulty goods",
                rule.id,
            )
    for reason in policy.restocking_fee_reasons & FAULT_REASONS:
        raise _error(
            "restocking_fee.reasons",
            f"{reason} is a fault reason: no restocking fee may be charged for faulty goods",
            None,
        )


DEFAULT_DOCUMENT: dict[str, Any] = {
    "schema": SCHEMA,
    "name": "Return policy",
    "policy_displayed": True,
    "windows": {"change_of_mind_days": 30, "fault_days": 365},
    "categories": {"final_sale": [], "non_returnable": []},
    "return_shipping": {"default": "buyer"},
    "refund": {"timing": "on_receipt"},
    "exchange": {"enabled": True},
    "automation": {"apply": False},
}
