"""Load on ``biometrix server`` over loopback HTTPS: ``--clients`` concurrent counters (threads with their own
HTTPS connection, default 16) run a mix of enroll / verify / identify for ``--duration`` seconds (default 120) against
one server process on a scratch SQLite database; then the database is read directly to count lost writes.

Printed: requests and throughput, 5xx and other errors, p50/p99 latency per operation, lost writes (enrollments a
client saw acknowledged that are not in the database), and the server's own overhead per verify: the p50 of a verify
over HTTPS (one client, the server otherwise idle) minus the p50 of the same verify in process (``Biometrix.verify``
on the same database and file), both measured in this run, alternating rounds (the machine is shared and noisy).

Data: CEDAR genuine signatures (../shared/data/cedar): ``--subjects`` signers enrolled first with genuine 1-5 (their
probes: genuine 6-24); each load enrollment is a new subject with 3 genuine signatures of a random signer.
Certificates are made on the fly (trustme, dev extra).

    python bench/server_load.py [--duration 120] [--clients 16] [--subjects 20] [--mix 1:3:1] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
PASSWORD = {"root": "admin-password-1", "tom": "teller-password-3"}


def _signers(data: Path, tmp: Path, count: int) -> dict[int, list[Path]]:
    """Genuine 1..24 of the first ``count`` CEDAR signers of the archive, as files."""
    from biometrix.evaluation.datasets import CEDAR_ZIP

    out: dict[int, list[Path]] = {}
    with zipfile.ZipFile(data / CEDAR_ZIP) as zf:
        names = set(zf.namelist())
        for signer in range(1, 56):
            files = [f"CEDAR_half/full_org/original_{signer}_{n}.png" for n in range(1, 25)]
            if not all(f in names for f in files):
                continue
            out[signer] = []
            for f in files:
                p = tmp / Path(f).name
                p.write_bytes(zf.read(f))
                out[signer].append(p)
            if len(out) == count:
                break
    if len(out) < count:
        raise SystemExit(f"only {len(out)} CEDAR signers with 24 genuine signatures in {data}")
    return out


def _certs(tmp: Path) -> tuple[Path, Path, Path]:
    import trustme

    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    paths = tmp / "ca.pem", tmp / "server.pem", tmp / "server.key"
    ca.cert_pem.write_to_path(str(paths[0]))
    leaf.private_key_and_cert_chain_pem.write_to_path(str(paths[1]))
    leaf.private_key_pem.write_to_path(str(paths[2]))
    return paths


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


class Counter16:
    """One counter: its own HTTPS connection and token; records (operation, seconds, status) of each request."""

    def __init__(self, url: str, ca: Path) -> None:
        self.http = httpx.Client(base_url=url, verify=ssl.create_default_context(cafile=str(ca)), timeout=120)
        r = self.http.post("/v1/login", json={"name": "tom", "password": PASSWORD["tom"]})
        r.raise_for_status()
        self.headers = {"Authorization": f"Bearer {r.json()['token']}"}

    def call(self, path: str, body: dict[str, Any]) -> tuple[float, int]:
        t0 = time.perf_counter()
        try:
            r = self.http.post(path, json=body, headers=self.headers)
            status = r.status_code
            if renewed := r.headers.get("X-Biometrix-Token"):
                self.headers = {"Authorization": f"Bearer {renewed}"}
        except httpx.HTTPError:
            status = 0
        return time.perf_counter() - t0, status


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=120.0, help="seconds of load (default 120)")
    p.add_argument("--clients", type=int, default=16, help="concurrent counters (default 16)")
    p.add_argument("--subjects", type=int, default=20, help="CEDAR signers enrolled before the load (default 20)")
    p.add_argument("--mix", default="1:3:1", help="enroll:verify:identify weights (default 1:3:1)")
    p.add_argument("--overhead-n", type=int, default=30, help="verifies per side and round for the overhead")
    p.add_argument("--json", metavar="FILE", default=None, help="also write the figures as JSON")
    args = p.parse_args(argv)
    from biometrix.client.wire import signature_sample
    from biometrix.evaluation.datasets import default_data_root

    weights = [float(w) for w in args.mix.split(":")]
    tmp = Path(tempfile.mkdtemp(prefix="server-load-"))
    os.environ["BIOMETRIX_KEY_DIR"] = str(tmp / "keys")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    signers = _signers(default_data_root(), tmp, args.subjects)
    samples = {path: signature_sample(path) for files in signers.values() for path in files}
    db = tmp / "bank.db"

    from biometrix import Biometrix

    local = Biometrix(db, prefer_gpu=False)
    local.add_operator("root", "admin", PASSWORD["root"])
    local.login("root", PASSWORD["root"])
    local.add_operator("tom", "teller", PASSWORD["tom"])
    local.login("tom", PASSWORD["tom"])
    for signer, files in signers.items():
        local.enroll(f"s{signer}", signatures=files[:5])
    ca, cert, key = _certs(tmp)
    port = 20000 + os.getpid() % 20000
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    log = (tmp / "server.log").open("wb")
    server = subprocess.Popen([sys.executable, "-m", "biometrix", "server", "--db", str(db), "--port", str(port),
                               "--certfile", str(cert), "--keyfile", str(key)], env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/v1/ready", verify=ssl.create_default_context(cafile=str(ca))).is_success:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start: {(tmp / 'server.log').read_text()[-2000:]}")
            time.sleep(0.3)
        overhead = _overhead(local, Counter16(url, ca), signers, samples, args.overhead_n)
        results, acknowledged, wall = _load(url, ca, signers, samples, args, weights)
    finally:
        server.terminate()
        server.wait(60)
        local.close()
    from biometrix.store import open_store

    with open_store(db, create=False) as store:
        present = {s.subject_id for s in store.subjects()}
    lost = sorted(set(acknowledged) - present)
    report = _report(results, wall, lost, len(acknowledged), overhead, args)
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0 if not lost and report["server_errors_5xx"] == 0 else 1


def _overhead(local: Any, counter: Counter16, signers: dict[int, list[Path]], samples: dict[Path, Any],
              n: int) -> dict[str, float]:
    """p50 of the same verify in process and over HTTPS (the server idle otherwise), alternating 3 rounds."""
    signer = next(iter(signers))
    probe = signers[signer][5]
    body = {"subject_id": f"s{signer}", "signature": samples[probe]}
    inproc: list[float] = []
    https: list[float] = []
    for _ in range(3):
        local.verify(f"s{signer}", signature=probe)
        counter.call("/v1/verify", body)
        for _ in range(n):
            t0 = time.perf_counter()
            local.verify(f"s{signer}", signature=probe)
            inproc.append(time.perf_counter() - t0)
        for _ in range(n):
            seconds, status = counter.call("/v1/verify", body)
            if status != 200:
                raise SystemExit(f"verify over HTTPS answered {status}")
            https.append(seconds)
    a, b = statistics.median(inproc), statistics.median(https)
    return {"in_process_p50_ms": 1000 * a, "https_p50_ms": 1000 * b, "overhead_ms": 1000 * (b - a)}


def _load(url: str, ca: Path, signers: dict[int, list[Path]], samples: dict[Path, Any], args: argparse.Namespace,
          weights: list[float]) -> tuple[dict[str, list[tuple[float, int]]], list[str], float]:
    results: dict[str, list[tuple[float, int]]] = defaultdict(list)
    acknowledged: list[str] = []
    lock = threading.Lock()
    counters = [Counter16(url, ca) for _ in range(args.clients)]
    start = time.monotonic()
    stop_at = start + args.duration

    def run(k: int) -> None:
        rng = random.Random(k)
        counter, n = counters[k], 0
        while time.monotonic() < stop_at:
            op = rng.choices(("enroll", "verify", "identify"), weights=weights)[0]
            signer = rng.choice(list(signers))
            files = signers[signer]
            if op == "enroll":
                subject = f"c{k}-{n}"
                n += 1
                body = {"subject_id": subject, "signatures": [samples[f] for f in rng.sample(files[:5], 3)]}
                seconds, status = counter.call("/v1/enroll", body)
            elif op == "verify":
                body = {"subject_id": f"s{signer}", "signature": samples[rng.choice(files[5:])]}
                seconds, status = counter.call("/v1/verify", body)
            else:
                seconds, status = counter.call("/v1/identify", {"signature": samples[rng.choice(files[5:])]})
            with lock:
                results[op].append((seconds, status))
                if op == "enroll" and status == 200:
                    acknowledged.append(subject)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, acknowledged, time.monotonic() - start


def _report(results: dict[str, list[tuple[float, int]]], wall: float, lost: list[str], n_ack: int,
            overhead: dict[str, float], args: argparse.Namespace) -> dict[str, Any]:
    statuses = Counter(status for rows in results.values() for _, status in rows)
    total = sum(statuses.values())
    ops = {}
    for op, rows in sorted(results.items()):
        ok = [s for s, status in rows if status == 200]
        ops[op] = {"requests": len(rows), "ok": len(ok),
                   "p50_ms": round(1000 * _percentile(ok, 50), 1) if ok else None,
                   "p99_ms": round(1000 * _percentile(ok, 99), 1) if ok else None}
    every = [s for rows in results.values() for s, status in rows if status == 200]
    return {"clients": args.clients, "duration_s": round(wall, 1), "requests": total,
            "throughput_per_s": round(total / wall, 1), "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "server_errors_5xx": sum(v for k, v in statuses.items() if k >= 500),
            "connection_errors": statuses.get(0, 0), "enrollments_acknowledged": n_ack, "lost_writes": len(lost),
            "p50_ms": round(1000 * _percentile(every, 50), 1) if every else None,
            "p99_ms": round(1000 * _percentile(every, 99), 1) if every else None, "operations": ops,
            "verify_overhead": {k: round(v, 1) for k, v in overhead.items()}, "cpu_count": os.cpu_count()}


if __name__ == "__main__":
    raise SystemExit(main())
