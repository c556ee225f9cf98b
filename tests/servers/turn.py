"""A real coturn TURN server on loopback (Debian's `coturn`, installed by `make setup`), with
the TURN REST-API scheme (`use-auth-secret`): the app hands out credentials that expire.

`--allow-loopback-peers` is what lets media flow between two relay addresses on 127.0.0.1
(docs/pitfalls.md); the relay ports are a small range of its own.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from servers.live import free_port

SECRET = "turn-test-secret-0123456789abcdef"


def _free_udp_range(size: int) -> int:
    """A start port with `size` free UDP ports after it (checked, not guaranteed)."""
    for start in range(50_000, 60_000, size):
        sockets = []
        try:
            for port in range(start, start + size):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return start
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free UDP port range for the TURN relay")


class TurnServer:
    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.urls = (
            f"turn:127.0.0.1:{self.port}?transport=udp,turn:127.0.0.1:{self.port}?transport=tcp"
        )
        self.secret = SECRET
        self._folder = folder
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> TurnServer:
        binary = shutil.which("turnserver")
        if binary is None:
            raise RuntimeError(
                "coturn's turnserver is missing: install the Debian package 'coturn'"
            )
        self._folder.mkdir(parents=True, exist_ok=True)
        low = _free_udp_range(40)
        self.log = self._folder / "turn.log"
        self._process = subprocess.Popen(
            [binary, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
             f"--listening-port={self.port}", f"--min-port={low}", f"--max-port={low + 39}",
             "--use-auth-secret", f"--static-auth-secret={self.secret}",
             "--realm=returndesk.test", "--allow-loopback-peers", "--no-cli", "--no-tls",
             "--no-dtls", "--fingerprint", "--no-software-attribute", "--simple-log", "--verbose",
             f"--log-file={self.log}", f"--pidfile={self._folder / 'turn.pid'}",
             f"--db={self._folder / 'turndb'}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:  # ready when it accepts on its TCP listener
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline or self._process.poll() is not None:
                    raise RuntimeError("turnserver did not start") from None
                time.sleep(0.05)
        return self

    def allocations(self) -> int:
        """How many relay allocations the server logged (media that went through it)."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return text.count("ALLOCATE processed, success")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
            self._process = None

    def __enter__(self) -> TurnServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
