"""A real RFC 3161 time-stamping authority on loopback: `openssl ts -reply` behind HTTP, with
a throwaway root CA and a TSA certificate (extendedKeyUsage timeStamping) made at start."""

from __future__ import annotations

import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

CONFIG = """
[ tsa_ext ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature,nonRepudiation
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = .
serial = ./serial
crypto_device = builtin
signer_cert = ./tsa.crt
signer_key = ./tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _openssl(folder: Path, *args: str, data: bytes | None = None) -> bytes:
    done = subprocess.run(
        ["openssl", *args],
        cwd=folder,
        input=data,
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {done.stderr.decode()[-500:]}")
    return done.stdout


class LocalTsa:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self.requests = 0
        self.refusing = False  # answer 503, as an authority that is down
        tsa = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                query = self.rfile.read(int(self.headers.get("content-length", "0")))
                if tsa.refusing:
                    self.send_response(503)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                try:
                    reply = tsa.reply(query)
                except RuntimeError:
                    self.send_response(500)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("content-type", "application/timestamp-reply")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/tsa"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def ca_path(self) -> Path:
        return self.folder / "ca.crt"

    def _make_certificates(self) -> None:
        f = self.folder
        f.mkdir(parents=True, exist_ok=True)
        (f / "tsa.cnf").write_text(CONFIG)
        (f / "serial").write_text("01\n")
        ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
        _openssl(f, "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "30",
                 "-subj", "/CN=ReturnDesk Test Root",
                 "-addext", "basicConstraints=critical,CA:true",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
        _openssl(f, "req", *ec, "-keyout", "tsa.key", "-out", "tsa.csr", "-subj",
                 "/CN=ReturnDesk Test TSA")  # fmt: skip
        _openssl(f, "x509", "-req", "-in", "tsa.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", "tsa.crt", "-days", "30", "-extfile", "tsa.cnf",
                 "-extensions", "tsa_ext")  # fmt: skip

    def reply(self, query: bytes) -> bytes:
        with self._lock, tempfile.TemporaryDirectory(dir=self.folder) as work:
            self.requests += 1
            (Path(work) / "q.tsq").write_bytes(query)
            _openssl(self.folder, "ts", "-reply", "-config", "tsa.cnf", "-queryfile",
                     f"{work}/q.tsq", "-out", f"{work}/r.tsr")  # fmt: skip
            return (Path(work) / "r.tsr").read_bytes()

    def __enter__(self) -> LocalTsa:
        self._make_certificates()
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
