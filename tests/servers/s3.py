"""A real S3-compatible server on loopback: moto's server (`python -m moto.server`), which
speaks the S3 wire protocol incl. versioning, object lock and presigned URLs."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
import httpx

from servers.live import free_port

ACCESS_KEY = "returndesk-test"
SECRET_KEY = "returndesk-test-secret"


class S3Server:
    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._folder = folder
        self._process: subprocess.Popen[bytes] | None = None

    def client(self) -> Any:
        return boto3.client(
            "s3", endpoint_url=self.url, region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
        )  # fmt: skip

    def start(self) -> S3Server:
        self._folder.mkdir(parents=True, exist_ok=True)
        log = (self._folder / "moto.log").open("wb")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=log, stderr=subprocess.STDOUT, cwd=self._folder,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(self.url, timeout=1).status_code < 500:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self._process.poll() is not None:
                raise RuntimeError("the S3 server did not start")
            time.sleep(0.1)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None

    def __enter__(self) -> S3Server:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
