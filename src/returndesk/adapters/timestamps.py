"""RFC 3161 timestamps from a time-stamping authority (`RETURNDESK_TSA_URL`), checked against
its root certificates (`RETURNDESK_TSA_CA_FILE`). The token proves the statement existed at
the authority's time: a checkpoint cannot be made later and dated earlier."""

from __future__ import annotations

from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from rfc3161_client import (
    PKIStatus,
    TimestampRequestBuilder,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

TIMEOUT_SECONDS = 10.0


class TimestampFailed(Exception):
    pass


class Rfc3161Timestamper:
    def __init__(self, url: str, ca_file: Path | None) -> None:
        self.url = url
        self._roots = (
            x509.load_pem_x509_certificates(ca_file.read_bytes()) if ca_file is not None else []
        )

    def roots_pem(self) -> str | None:
        """The root certificates timestamps are checked against (for the dispute package)."""
        if not self._roots:
            return None
        return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in self._roots)

    def stamp(self, data: bytes) -> bytes:
        """The authority's response (DER) for `data`, checked before it is kept."""
        request = TimestampRequestBuilder(data=data).build()
        try:
            response = httpx.post(
                self.url,
                content=request.as_bytes(),
                headers={"content-type": "application/timestamp-query"},
                timeout=TIMEOUT_SECONDS,
            )
        except httpx.HTTPError as exc:
            raise TimestampFailed(f"the time-stamping authority is unreachable: {exc}") from None
        if response.status_code != 200:
            raise TimestampFailed(f"the time-stamping authority answered {response.status_code}")
        problem = self.check(response.content, data, nonce=request.nonce)
        if problem is not None:
            raise TimestampFailed(problem)
        return response.content

    def check(self, token: bytes, data: bytes, nonce: int | None = None) -> str | None:
        """None if `token` is a granted timestamp of exactly `data`, signed under our roots."""
        try:
            response = decode_timestamp_response(token)
        except ValueError as exc:
            return f"not a timestamp response: {exc}"
        if response.status not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
            return f"the authority refused: status {response.status}"
        if not self._roots:
            return "no root certificate configured to check timestamps (RETURNDESK_TSA_CA_FILE)"
        builder = VerifierBuilder(roots=list(self._roots))
        if nonce is not None:
            builder = builder.nonce(nonce)
        try:
            builder.build().verify_message(response, data)
        except VerificationError as exc:
            return f"the timestamp does not verify: {exc}"
        return None

    def time_of(self, token: bytes) -> str:
        return decode_timestamp_response(token).tst_info.gen_time.isoformat()
