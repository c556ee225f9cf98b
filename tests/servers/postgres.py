"""A throwaway PostgreSQL cluster for tests: a private data directory, a free loopback port.

Usage::

    with ThrowawayPostgres() as pg:
        url = pg.create_database("returndesk_test")  # postgresql+psycopg://postgres@127.0.0.1:PORT/...

``initdb`` and ``pg_ctl`` refuse to run as root, so when the tests run as root every server
command runs as the ``postgres`` system user (``runuser -u postgres --``) and the temporary
directory is handed to that user. Missing binaries raise ``RuntimeError``; nothing skips.
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Final, Self

import psycopg
from psycopg import sql

_SUPERUSER: Final = "postgres"
_HOST: Final = "127.0.0.1"
_DB_NAME_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_SPEED_SETTINGS: Final[dict[str, str]] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}


def _version_key(initdb: str) -> tuple[int, ...]:
    # /usr/lib/postgresql/<version>/bin/initdb
    version = Path(initdb).parent.parent.name
    return tuple(int(part) for part in re.findall(r"\d+", version)) or (0,)


def find_postgres_bin_dir() -> Path:
    """Directory holding ``initdb`` and ``pg_ctl`` (the highest installed Debian version)."""
    candidates = sorted(
        (str(path) for path in Path("/usr/lib/postgresql").glob("*/bin/initdb")),
        key=_version_key,
    )
    for initdb in reversed(candidates):
        bin_dir = Path(initdb).parent
        if os.access(bin_dir / "initdb", os.X_OK) and os.access(bin_dir / "pg_ctl", os.X_OK):
            return bin_dir
    initdb_on_path = shutil.which("initdb")
    if initdb_on_path is not None:
        bin_dir = Path(initdb_on_path).resolve().parent
        if os.access(bin_dir / "pg_ctl", os.X_OK):
            return bin_dir
    raise RuntimeError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin "
        "or on PATH: install the Debian package 'postgresql' (run `make setup` as root)."
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class ThrowawayPostgres:
    """A private PostgreSQL server on 127.0.0.1, removed with its data on :meth:`stop`."""

    def __init__(
        self,
        *,
        bin_dir: Path | None = None,
        base_dir: Path | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        self._bin_dir = bin_dir
        self._base_dir = base_dir
        self._startup_timeout = startup_timeout
        self._as_root = os.geteuid() == 0
        self._root: Path | None = None
        self._port: int | None = None
        self._running = False

    # -- public API --------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None or not self._running:
            raise RuntimeError("ThrowawayPostgres is not running; call start() first")
        return self._port

    @property
    def host(self) -> str:
        return _HOST

    @property
    def directory(self) -> Path:
        if self._root is None:
            raise RuntimeError("ThrowawayPostgres is not running; call start() first")
        return self._root

    @property
    def log_file(self) -> Path:
        return self.directory / "postgres.log"

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL for ``database`` on this server."""
        return f"postgresql+psycopg://{_SUPERUSER}@{_HOST}:{self.port}/{database}"

    def conninfo(self, database: str = "postgres") -> str:
        """libpq connection string for ``database`` (for psycopg)."""
        return f"host={_HOST} port={self.port} user={_SUPERUSER} dbname={database}"

    def start(self) -> Self:
        if self._running:
            return self
        bin_dir = self._bin_dir or find_postgres_bin_dir()
        self._bin_dir = bin_dir
        if self._as_root:
            self._check_runuser()
        self._root = self._make_root()
        atexit.register(self.stop)
        try:
            self._initdb()
            self._start_server()
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def create_database(self, name: str) -> str:
        """Create database ``name`` and return its SQLAlchemy URL."""
        self._check_name(name)
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists, disconnecting any sessions."""
        self._check_name(name)
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def stop(self) -> None:
        """Stop the server immediately and remove its directory (safe to call twice)."""
        root = self._root
        if root is None:
            return
        try:
            if self._running:
                self._run(
                    [
                        self._tool("pg_ctl"),
                        "stop",
                        "-D",
                        str(root / "data"),
                        "-m",
                        "immediate",
                        "-w",
                        "-t",
                        "30",
                    ],
                    check=False,
                )
        finally:
            self._running = False
            self._root = None
            self._port = None
            atexit.unregister(self.stop)
            shutil.rmtree(root, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals ---------------------------------------------------------------------------

    @staticmethod
    def _check_name(name: str) -> None:
        if not _DB_NAME_RE.fullmatch(name):
            raise ValueError(f"invalid database name {name!r}: use [A-Za-z_][A-Za-z0-9_]*")

    def _check_runuser(self) -> None:
        if shutil.which("runuser") is None:
            raise RuntimeError("running as root but 'runuser' is missing (util-linux)")
        try:
            pwd.getpwnam(_SUPERUSER)
        except KeyError:
            raise RuntimeError(
                "running as root but there is no 'postgres' system user: initdb refuses root; "
                "install the Debian package 'postgresql' (it creates the user)."
            ) from None

    def _make_root(self) -> Path:
        root = Path(tempfile.mkdtemp(prefix="returndesk-pg-", dir=self._base_dir))
        (root / "sock").mkdir()
        (root / "postgres.log").touch()
        if self._as_root:
            user = pwd.getpwnam(_SUPERUSER)
            for path in (root, root / "sock", root / "postgres.log"):
                os.chown(path, user.pw_uid, user.pw_gid)
            probe = self._run(["test", "-w", str(root)], check=False)
            if probe.returncode != 0:
                shutil.rmtree(root, ignore_errors=True)
                raise RuntimeError(
                    f"the postgres user cannot write {root} (a parent directory is not "
                    "traversable); pass base_dir= or set TMPDIR to a directory like /tmp"
                )
        return root

    def _tool(self, name: str) -> str:
        assert self._bin_dir is not None
        return str(self._bin_dir / name)

    def _run(
        self, args: list[str], *, check: bool = True, timeout: float = 120.0
    ) -> subprocess.CompletedProcess[str]:
        command = ["runuser", "-u", _SUPERUSER, "--", *args] if self._as_root else args
        result = subprocess.run(
            command,
            cwd=self._root,  # a directory the postgres user can enter (not /root)
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args)} failed with exit code {result.returncode}:\n"
                f"{result.stdout}{result.stderr}"
            )
        return result

    def _initdb(self) -> None:
        data = self.directory / "data"
        common = [
            self._tool("initdb"),
            "-D",
            str(data),
            "--auth=trust",
            "-U",
            _SUPERUSER,
            "--encoding=UTF8",
            "--no-sync",
        ]
        first = self._run([*common, "--locale=C.UTF-8"], check=False)
        if first.returncode == 0:
            return
        # C.UTF-8 is missing on this system: fall back to the C locale (still UTF8 encoded).
        shutil.rmtree(data, ignore_errors=True)
        second = self._run([*common, "--no-locale"], check=False)
        if second.returncode != 0:
            raise RuntimeError(
                "initdb failed with --locale=C.UTF-8 and with --no-locale:\n"
                f"{first.stdout}{first.stderr}\n---\n{second.stdout}{second.stderr}"
            )

    def _start_server(self) -> None:
        root = self.directory
        data = root / "data"
        conf = data / "postgresql.conf"
        base_conf = conf.read_text(encoding="utf-8")
        last_error = ""
        for _attempt in range(5):  # another process may grab the free port before we do
            port = _free_port()
            settings = {
                "listen_addresses": f"'{_HOST}'",
                "port": str(port),
                "unix_socket_directories": f"'{root / 'sock'}'",
                **_SPEED_SETTINGS,
            }
            extra = "".join(f"{key} = {value}\n" for key, value in settings.items())
            conf.write_text(f"{base_conf}\n# ThrowawayPostgres\n{extra}", encoding="utf-8")
            result = self._run(
                [
                    self._tool("pg_ctl"),
                    "start",
                    "-D",
                    str(data),
                    "-l",
                    str(self.log_file),
                    "-w",
                    "-t",
                    str(int(self._startup_timeout)),
                ],
                check=False,
                timeout=self._startup_timeout + 30,
            )
            if result.returncode == 0:
                self._port = port
                self._running = True
                return
            log = self.log_file.read_text(encoding="utf-8", errors="replace")
            last_error = f"{result.stdout}{result.stderr}\n{log[-4000:]}"
            # pg_ctl -w may give up while the postmaster still runs: make sure it is gone.
            self._run(
                [self._tool("pg_ctl"), "stop", "-D", str(data), "-m", "immediate"], check=False
            )
            if "could not bind" not in log and "already in use" not in log:
                break
        raise RuntimeError(f"PostgreSQL did not start:\n{last_error}")

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self._startup_timeout
        while True:
            try:
                with psycopg.connect(self.conninfo(), connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as exc:
                if time.monotonic() >= deadline:
                    raise RuntimeError(
                        f"PostgreSQL on port {self._port} did not accept connections: {exc}"
                    ) from exc
                time.sleep(0.1)
