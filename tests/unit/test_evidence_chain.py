"""The evidence chain and live attestation, as pure functions."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from returndesk.domain.evidence import (
    GENESIS,
    EvidenceItem,
    EvidenceKind,
    attest,
    next_link,
    verify_chain,
)

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def build(count: int) -> list[EvidenceItem]:
    items: list[EvidenceItem] = []
    for n in range(count):
        sha = f"{n:064x}"
        link = next_link(
            items[-1] if items else None, case_id="c1", item_id=f"i{n}", sha256=sha, size=10 + n,
            media_type="image/jpeg", captured_by="buyer:o1", captured_at=T0 + timedelta(seconds=n),
        )  # fmt: skip
        items.append(
            EvidenceItem(
                id=f"i{n}",
                case_id="c1",
                store_id="s",
                kind=EvidenceKind.photo,
                media_type="image/jpeg",
                filename=f"{n}.jpg",
                size=10 + n,
                sha256=sha,
                captured_by="buyer:o1",
                captured_by_name="Ana",
                captured_at=link.captured_at,
                device="test",
                case_status="requested",
                seq=link.seq,
                prev_hash=link.prev_hash,
                entry_hash=link.hash(),
                details={},
            )
        )
    return items


def intact(items: list[EvidenceItem]) -> dict[str, str | None]:
    return {i.id: i.sha256 for i in items}


def codes(problems: list) -> set[str]:  # type: ignore[type-arg]
    return {p.code for p in problems}


def test_an_intact_chain_has_no_problems() -> None:
    items = build(4)
    assert items[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.entry_hash for a, b in itertools.pairwise(items))
    assert verify_chain(items, intact(items), [i.id for i in items]) == []


def test_a_changed_file_is_named() -> None:
    items = build(3)
    hashes = intact(items) | {"i1": "f" * 64}
    assert codes(verify_chain(items, hashes, [i.id for i in items])) == {"file_altered"}
    hashes = intact(items) | {"i2": None}
    assert codes(verify_chain(items, hashes, [i.id for i in items])) == {"file_missing"}


@pytest.mark.parametrize("field", ["size", "captured_by", "captured_at", "sha256", "media_type"])
def test_a_changed_record_is_named(field: str) -> None:
    items = build(3)
    value = {"size": 999, "captured_by": "staff:x", "captured_at": T0 - timedelta(days=1),
             "sha256": "e" * 64, "media_type": "image/png"}[field]  # fmt: skip
    items[1] = replace(items[1], **{field: value})
    hashes = intact(items)
    assert "entry_altered" in codes(verify_chain(items, hashes, [i.id for i in items]))


def test_removed_and_reordered_items_are_named() -> None:
    items = build(4)
    announced = [i.id for i in items]
    without_last = items[:3]
    assert codes(verify_chain(without_last, intact(items), announced)) == {"missing_item"}
    without_middle = [items[0], items[2], items[3]]
    found = codes(verify_chain(without_middle, intact(items), announced))
    assert {"missing_item", "chain_broken", "out_of_order"} <= found
    swapped = [replace(items[1], seq=1), replace(items[0], seq=2), *items[2:]]
    found = codes(verify_chain(swapped, intact(items), announced))
    assert {"chain_broken", "out_of_order"} <= found


@given(st.integers(min_value=1, max_value=12), st.data())
def test_any_single_change_is_caught(count: int, data: st.DataObject) -> None:
    items = build(count)
    victim = data.draw(st.integers(min_value=0, max_value=count - 1))
    items[victim] = replace(items[victim], size=items[victim].size + 1)
    assert verify_chain(items, intact(items), [i.id for i in items])


def arrivals(gaps: list[float]) -> list[datetime]:
    out = [T0]
    for gap in gaps:
        out.append(out[-1] + timedelta(seconds=gap))
    return out


def test_chunks_at_the_pace_of_the_recording_are_live() -> None:
    result = attest(arrivals([1.0] * 9), 1000, 10.0)
    assert result.live and result.reason == "live" and result.chunks == 10
    # Mobile networks are bursty: a chunk late, the next two right after, still live.
    assert attest(arrivals([1, 1, 3.2, 0.1, 0.2, 1, 1, 1, 1]), 1000, 10.0).live


def test_chunks_faster_than_real_time_are_not_live() -> None:
    fast = attest(arrivals([0.05] * 9), 1000, 10.0)
    assert not fast.live and fast.reason == "arrived_faster_than_recorded"
    # The start on time, the rest of a 60-second video in a burst: not live.
    burst = attest(arrivals([1, 1, 1] + [0.01] * 56), 1000, 60.0)
    assert not burst.live


def test_too_short_to_tell() -> None:
    assert attest([T0], 1000, 1.0).reason == "too_short"
