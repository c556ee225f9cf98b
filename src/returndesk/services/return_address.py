"""Where a return's parcel goes: fixed on the case when a parcel becomes due.

The decision names the address when it approves a return; a person who approves a case the
engine did not (a review, an exception) gets the store policy's address for the buyer's market
(a local one first, then one for the region, then the origin)."""

from __future__ import annotations

from returndesk.domain.cases.model import ReturnCase
from returndesk.domain.cases.status import CaseStatus
from returndesk.domain.policy.law import region_of
from returndesk.services.policies import store_policy
from returndesk.services.ports import UnitOfWork

PARCEL_DUE = frozenset(
    {CaseStatus.awaiting_return, CaseStatus.in_transit, CaseStatus.partially_received}
)


def fill_return_address(uow: UnitOfWork, case: ReturnCase) -> None:
    """Call before saving a case that may have moved: a case with a parcel due keeps the
    address it was told (later policy changes do not move a parcel already on its way)."""
    if case.status not in PARCEL_DUE or case.return_address is not None:
        return
    decided = (case.decision or {}).get("return_address")
    if isinstance(decided, dict):
        case.return_address = dict(decided)
        return
    policy = store_policy(uow, case.store_id)
    if policy is None:
        return
    found = policy.address_for(case.market, region_of(case.market))
    case.return_address = found.to_dict() if found else None
