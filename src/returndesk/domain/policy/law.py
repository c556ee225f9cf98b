"""The statutory floor per market, from shared/docs/consumer-law.md. Not legal advice.

Every number here is a default a store can override per market (sources disagree on some,
such as calendar or business days in Brazil). The engine cites `basis` in every decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

EU_MEMBERS = frozenset(
    {
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "IE", "IT",
        "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
    }
)  # fmt: skip


class DayCount(StrEnum):
    calendar = "calendar"
    business = "business"  # Monday to Friday; public holidays are not subtracted


class Payer(StrEnum):
    buyer = "buyer"
    store = "store"
    nobody = "nobody"  # keep-the-item: nothing is shipped back


@dataclass(frozen=True, slots=True)
class MarketLaw:
    """What the law of one market guarantees a buyer of a distance sale."""

    region: str  # EU, UK, BR, JP, US, AU
    withdrawal_days: int | None  # change-of-mind right in days; None: no such right
    day_count: DayCount = DayCount.calendar
    withdrawal_basis: str = ""
    # Who pays the return on a withdrawal: the buyer only if told so before buying (EU).
    withdrawal_return_paid_by: Payer = Payer.buyer
    refund_outbound_shipping: bool = False  # standard delivery refunded on a full withdrawal
    restocking_fee_allowed: bool = True  # on a statutory withdrawal
    only_without_displayed_policy: bool = False  # JP: the right exists only with no policy shown
    fault_days: int | None = None  # statutory right for faulty goods, in days
    fault_basis: str = ""
    fault_remedy_choice: bool = False  # AU: on a major failure the buyer picks refund/replace
    exempt_basis: str = ""  # why non-returnable categories are exempt from the withdrawal right
    refund_basis: str = ""  # refund of what was paid, incl. standard outbound delivery


STATUTES: dict[str, MarketLaw] = {
    "EU": MarketLaw(
        region="EU",
        withdrawal_days=14,
        withdrawal_basis="Directive 2011/83/EU Art. 9",
        withdrawal_return_paid_by=Payer.buyer,
        refund_outbound_shipping=True,
        restocking_fee_allowed=False,
        fault_days=730,
        fault_basis="Directive (EU) 2019/771 Art. 10",
        exempt_basis="Directive 2011/83/EU Art. 16",
        refund_basis="Directive 2011/83/EU Art. 13",
    ),
    "UK": MarketLaw(
        region="UK",
        withdrawal_days=14,
        withdrawal_basis="Consumer Contracts Regulations 2013 reg. 30",
        withdrawal_return_paid_by=Payer.buyer,
        refund_outbound_shipping=True,
        restocking_fee_allowed=False,
        fault_days=30,
        fault_basis="Consumer Rights Act 2015 s.22",
        exempt_basis="Consumer Contracts Regulations 2013 reg. 28",
        refund_basis="Consumer Contracts Regulations 2013 reg. 34",
    ),
    "BR": MarketLaw(
        region="BR",
        withdrawal_days=7,
        withdrawal_basis="CDC (Lei 8.078/1990) Art. 49",
        withdrawal_return_paid_by=Payer.store,
        refund_outbound_shipping=True,
        restocking_fee_allowed=False,
    ),
    "JP": MarketLaw(
        region="JP",
        withdrawal_days=8,
        withdrawal_basis="特定商取引法 Art. 15-3 (Act on Specified Commercial Transactions)",
        withdrawal_return_paid_by=Payer.buyer,
        only_without_displayed_policy=True,
    ),
    "US": MarketLaw(region="US", withdrawal_days=None),
    "AU": MarketLaw(
        region="AU",
        withdrawal_days=None,
        fault_days=None,
        fault_basis="Australian Consumer Law s.259",
        fault_remedy_choice=True,
    ),
}
REGIONS = tuple(STATUTES)
NO_STATUTE = MarketLaw(region="", withdrawal_days=None)


def region_of(market: str) -> str:
    """The legal region of an ISO 3166 country: EU members share one; others are their own."""
    if market in EU_MEMBERS:
        return "EU"
    if market == "GB":
        return "UK"
    return market
