"""Identifiers: time-ordered UUIDs (version 7 layout) keep indexes local and sort by creation."""

from __future__ import annotations

import os
import threading
import time
import uuid

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


_lock = threading.Lock()
_last_millis = 0
_counter = 0


def new_id() -> str:
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version, a 12-bit counter, random bits.

    The counter (RFC 9562 method 1) keeps ids made in one process in creation order even
    within the same millisecond, so "order by id" is "order of creation" for a case's events.
    """
    global _last_millis, _counter
    rand = int.from_bytes(os.urandom(8), "big")
    with _lock:
        millis = max(time.time_ns() // 1_000_000, _last_millis)
        if millis == _last_millis:
            _counter += 1
            if _counter > 0xFFF:  # counter exhausted: borrow the next millisecond
                millis += 1
                _counter = 0
        else:
            _counter = rand >> 56  # a random start in the lower half leaves room to count
        _last_millis = millis
        counter = _counter
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= (counter & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def new_reference(prefix: str, length: int = 8) -> str:
    """A short human-friendly reference (Crockford base32, no ambiguous letters)."""
    rand = int.from_bytes(os.urandom(8), "big")
    chars = []
    for _ in range(length):
        chars.append(_CROCKFORD[rand & 31])
        rand >>= 5
    return prefix + "".join(chars)
