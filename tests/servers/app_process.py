"""The app in a process of its own (`returndesk serve`), to kill with SIGKILL or to run beside
another one (scale-out through Redis)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from servers.live import free_port


class AppProcess:
    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.home = home
        self._env = {**os.environ, "RETURNDESK_HOME": str(home), **env}
        self._process: subprocess.Popen[bytes] | None = None
        self._log = home / "app.log"

    def start(self) -> AppProcess:
        self.home.mkdir(parents=True, exist_ok=True)
        cli = Path(sys.executable).with_name("returndesk")
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(
                [str(cli), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self._process.poll() is not None:
                raise RuntimeError(f"the app did not start: {self.log()}")
            time.sleep(0.1)

    def log(self) -> str:
        return self._log.read_text(errors="replace")[-4000:] if self._log.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when the machine dies."""
        if self._process is not None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=10)
            self._process = None

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
            self._process = None

    def __enter__(self) -> AppProcess:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
