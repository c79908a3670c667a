"""Fixtures of the server tests: a bank CA and a server certificate made on the fly (trustme), a real uvicorn server
over HTTPS on a free loopback port (in a thread, sharing one service), and real SQLite databases and ONNX models."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("fastapi", reason="the server tests need the server extra: pip install '.[server]'")
trustme = pytest.importorskip("trustme", reason="the server tests make certificates with trustme (dev extra)")

from biometrix.server.app import AppOptions  # noqa: E402
from biometrix.server.run import ServerOptions, build_server, open_core  # noqa: E402
from biometrix.service import Biometrix  # noqa: E402
from tests.test_access_control import PASSWORDS, make_bank  # noqa: E402


@dataclass(frozen=True)
class Certs:
    """The bank CA's certificate (what clients trust) and the server's certificate chain and key."""

    ca: Path
    cert: Path
    key: Path


@dataclass
class Running:
    url: str
    core: Biometrix
    server: Any
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.core.close()


def make_certs(folder: Path) -> Certs:
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    paths = Certs(ca=folder / "ca.pem", cert=folder / "server.pem", key=folder / "server.key")
    ca.cert_pem.write_to_path(str(paths.ca))
    leaf.private_key_pem.write_to_path(str(paths.key))
    leaf.cert_chain_pems[0].write_to_path(str(paths.cert))
    for pem in leaf.cert_chain_pems[1:]:
        with paths.cert.open("ab") as f:
            f.write(pem.bytes())
    return paths


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("tls"))


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def start_server(db: Path | str, certs: Certs, *, app: AppOptions | None = None) -> Running:
    """A uvicorn server over HTTPS on a free loopback port, in a thread, serving the database ``db``."""
    options = ServerOptions(db=str(db), certfile=certs.cert, keyfile=certs.key, app=app or AppOptions())
    core = open_core(options)
    server = build_server(options, core)
    sock = free_socket()
    port = sock.getsockname()[1]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            core.close()
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    return Running(url=f"https://127.0.0.1:{port}", core=core, server=server, thread=thread)


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """root (admin), sue (supervisor), tom (teller); alice enrolled by tom with three drawn signatures."""
    return make_bank(tmp_path_factory.mktemp("bank") / "bank.db")


@pytest.fixture(scope="module")
def running(bank: Path, certs: Certs) -> Iterator[Running]:
    run = start_server(bank, certs)
    try:
        yield run
    finally:
        run.stop()


@contextmanager
def bank_server(folder: Path, certs: Certs, *, app: AppOptions | None = None,
                prepare: Callable[[Path], None] | None = None) -> Iterator[tuple[Running, Path]]:
    """A server over a new bank database (``make_bank``; ``prepare(db)`` runs before the server starts)."""
    db = make_bank(folder / "bank.db")
    if prepare is not None:
        prepare(db)
    run = start_server(db, certs, app=app)
    try:
        yield run, db
    finally:
        run.stop()


def spawn_server(db: Path | str, certs: Certs, *, log: Path,
                 extra: tuple[str, ...] = ()) -> tuple[subprocess.Popen[bytes], str]:
    """``biometrix server`` in its own process on a free loopback port, once it answers /v1/health."""
    for _ in range(5):
        sock = free_socket()
        port = sock.getsockname()[1]
        sock.close()
        cmd = [sys.executable, "-m", "biometrix", "server", "--db", str(db), "--port", str(port),
               "--certfile", str(certs.cert), "--keyfile", str(certs.key), *extra]
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "OMP_NUM_THREADS": "1"}
        with log.open("ab") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        url = f"https://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        with https(url, certs) as probe:
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    if probe.get("/v1/health", timeout=2).status_code == 200:
                        return proc, url
                except httpx.HTTPError:
                    time.sleep(0.2)
        kill(proc)
    raise RuntimeError(f"the server process did not start: {log.read_text(errors='replace')[-2000:]}")


def kill(proc: subprocess.Popen[bytes]) -> None:
    """kill -9, and reap it."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)


def https(url: str, certs: Certs) -> httpx.Client:
    """An httpx client trusting the test bank CA only."""
    return httpx.Client(base_url=url, verify=ssl.create_default_context(cafile=str(certs.ca)), timeout=60)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


__all__ = ["PASSWORDS", "Certs", "Running", "bank_server", "bearer", "free_socket", "https", "kill", "make_certs",
           "spawn_server", "start_server"]
