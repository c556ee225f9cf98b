"""The store's Ed25519 key, which signs evidence checkpoints and dispute exports.

One key per store, made on first use under RETURNDESK_HOME/keys/<store id>.pem (mode 0600);
a key id is the first 16 bytes of the SHA-256 of the raw public key, in hex. Anyone can check
a signature with the public key alone (`openssl pkeyutl -verify -rawin`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import threading
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


class Ed25519Keys:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._cache: dict[str, Ed25519PrivateKey] = {}

    def _key(self, store_id: str) -> Ed25519PrivateKey:
        with self._lock:
            key = self._cache.get(store_id)
            if key is not None:
                return key
            path = self.folder / f"{store_id}.pem"
            if not path.exists():
                self.folder.mkdir(parents=True, exist_ok=True)
                fresh = Ed25519PrivateKey.generate().private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
                partial = path.with_suffix(f".{os.getpid()}.tmp")
                fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(fresh)
                with contextlib.suppress(FileExistsError):
                    os.link(partial, path)  # the first writer wins; the others read its key
                partial.unlink(missing_ok=True)
            loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
            assert isinstance(loaded, Ed25519PrivateKey)
            self._cache[store_id] = loaded
            return loaded

    def _public(self, store_id: str) -> Ed25519PublicKey:
        return self._key(store_id).public_key()

    def key_id(self, store_id: str) -> str:
        raw = self._public(store_id).public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return hashlib.sha256(raw).hexdigest()[:32]

    def sign(self, store_id: str, message: bytes) -> tuple[str, str]:
        signature = self._key(store_id).sign(message)
        return self.key_id(store_id), base64.b64encode(signature).decode()

    def verify(self, store_id: str, key_id: str, message: bytes, signature: str) -> bool:
        if key_id != self.key_id(store_id):
            return False
        try:
            self._public(store_id).verify(base64.b64decode(signature), message)
        except (InvalidSignature, ValueError):
            return False
        return True

    def public_key_pem(self, store_id: str) -> str:
        return (
            self._public(store_id)
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
