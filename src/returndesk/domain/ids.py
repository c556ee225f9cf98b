"""Identifiers: time-ordered UUIDs (version 7 layout) keep indexes local and sort by creation."""

from __future__ import annotations

import os
import time
import uuid

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id() -> str:
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version, variant, random bits."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 64) & 0xFFF) << 64
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
