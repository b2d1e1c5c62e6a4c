"""Real servers for tests, started on loopback with ephemeral ports.

- PostgreSQL: a throwaway cluster in a temporary folder (Debian's ``postgresql`` is
  installed with apt when no ``initdb`` is found and we are root).
- S3: moto's standalone server as a subprocess (a real HTTP endpoint, not an in-process mock).

Both fail loudly with the server's own output when they cannot start; they never skip.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- PostgreSQL -------------------------------------------------------------------------------
def _pg_bindir() -> Path | None:
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name),
    )
    return Path(versions[-1]).parent if versions else None


def _install_postgres() -> None:
    if os.geteuid() != 0:
        raise RuntimeError(
            "PostgreSQL is not installed and tests are not running as root; install it with "
            "`sudo apt-get install postgresql` or set LOOPML_TEST_POSTGRES_URL"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, capture_output=True)
    done = subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"apt-get install postgresql failed:\n{done.stderr[-3000:]}")


@dataclass
class PostgresServer:
    """A running throwaway PostgreSQL cluster."""

    port: int
    datadir: Path
    bindir: Path
    user: str | None  # OS user that owns the cluster when we are root

    @property
    def admin_url(self) -> str:
        """URL of the maintenance database."""
        return self.url("postgres")

    def url(self, database: str) -> str:
        """SQLAlchemy URL of a database on this server."""
        return f"postgresql+psycopg://loopml@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True)

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "stop")
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def start_postgres() -> PostgresServer:
    """Start a throwaway cluster on a free port (installing PostgreSQL if needed)."""
    bindir = _pg_bindir()
    if bindir is None:
        _install_postgres()
        bindir = _pg_bindir()
        if bindir is None:
            raise RuntimeError("postgresql was installed but initdb is still not found")
    user = None
    if os.geteuid() == 0:
        user = "postgres"
        try:
            pwd.getpwnam(user)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", user], check=True)
    base = Path(tempfile.mkdtemp(prefix="loopml-pg-"))
    os.chmod(base, 0o755)
    datadir = base / "data"
    if user:
        shutil.chown(base, user)
    server = PostgresServer(free_port(), datadir, bindir, user)
    init = server._run("initdb", "-D", str(datadir), "-U", "loopml", "-A", "trust", "-E", "UTF8")
    if init.returncode != 0:
        raise RuntimeError(f"initdb failed:\n{init.stdout}\n{init.stderr}")
    options = (
        f"-p {server.port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    start = server._run(
        "pg_ctl", "-D", str(datadir), "-o", options, "-l", str(base / "log"), "-w", "start"
    )
    if start.returncode != 0:
        log = (base / "log").read_text() if (base / "log").exists() else ""
        raise RuntimeError(f"PostgreSQL did not start:\n{start.stdout}\n{start.stderr}\n{log}")
    _wait_for_postgres(server)
    return server


def _wait_for_postgres(server: PostgresServer, timeout: float = 60) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(
                host="127.0.0.1", port=server.port, user="loopml", dbname="postgres"
            ):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@contextlib.contextmanager
def postgres_database(server_url: str, name: str) -> Iterator[str]:
    """Create an empty database, yield its URL, drop it afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(server_url)
    params = {
        "host": admin.host,
        "port": admin.port,
        "user": admin.username,
        "password": admin.password,
        "dbname": admin.database or "postgres",
    }
    with psycopg.connect(**params, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(**params, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- S3 (moto) --------------------------------------------------------------------------------
@dataclass
class MotoServer:
    """moto's standalone S3 server in a subprocess."""

    endpoint_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        """Terminate the server."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_moto() -> MotoServer:
    """Start ``moto.server`` on a free loopback port and wait until it answers."""
    port = free_port()
    log_path = Path(tempfile.mkdtemp(prefix="loopml-moto-")) / "moto.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2):
                break
        except (urllib.error.URLError, ConnectionError, OSError):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(
                    f"moto server did not start on {endpoint}:\n{log_path.read_text()[-3000:]}"
                ) from None
            time.sleep(0.2)
    return MotoServer(endpoint, process, log_path)
