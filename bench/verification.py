"""Benchmark of the verification responder: ``python bench/verification.py --scale 1``.

Scale 1 = 10 million serials in the lookup store (written straight with the store's own
writer: building 10 M serials through the line and dbt is the warehouse benchmark's job).
The responder runs as ``serialtrace verify serve`` (its own processes); the load comes from
a separate process: paced, open-loop at ``--rate`` requests/s over ``--connections``
keep-alive HTTP/1.1 connections, latency measured from each request's scheduled start (so
a stalled server is not hidden). Every answer is checked against the one expected from
the rule that generated the serial. Prints figures, the last line as one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing as mp
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# this file is named like the package it measures: keep bench/ off the import path
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from serialtrace.settings import Home  # noqa: E402
from verification.identifiers import CatalogProduct  # noqa: E402
from verification.keys import key_store  # noqa: E402
from verification.store import store_path, write_store  # noqa: E402

GTINS = ["00312345678906", "10312345678903", "09506000134352"]
REQ_GLN = "0614141000012"
FULL = 10_000_000

#: serial index % 20 → (status, status_reason, lot release, expected data)
KINDS = [
    ("commissioned", None, "released", {"verified": True}),
    ("aggregated", None, "released", {"verified": True}),
    ("shipped", None, "released", {"verified": True}),
    ("decommissioned", "recalled", "released", {"verified": True, "additionalInfo": "Recalled"}),
    (
        "dispensed",
        None,
        "released",
        {"verified": False, "verificationFailureReason": "Manufacturer_policy"},
    ),
    (
        "decommissioned",
        "stolen",
        "released",
        {
            "verified": False,
            "verificationFailureReason": "Not_for_re-distribution",
            "additionalInfo": "Illegitimate",
        },
    ),
] + [("commissioned", None, "released", {"verified": True})] * 14
NOT_FOUND = {"verified": False, "verificationFailureReason": "No_match_GTIN_Serial"}


def serial_of(i: int) -> str:
    return f"{(i * 7_919_813 + 1_234_567) % 10**12:012d}"  # a bijection on 0..10^12-1


def rows(n: int) -> Iterator[tuple[str, str, str, str, str, str | None, str | None, str | None]]:
    for i in range(n):
        status, reason, release, _ = KINDS[i % len(KINDS)]
        yield (GTINS[i % 3], serial_of(i), "LOT1", "2030-10-31", status, reason, release, "DEMO")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def requests_for(n_serials: int, count: int, seed: int) -> list[tuple[bytes, dict[str, object]]]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        if rng.random() < 0.1:  # never issued: beyond the generated range
            i = n_serials + rng.randrange(10**6)
            expected = NOT_FOUND
        else:
            i = rng.randrange(n_serials)
            expected = KINDS[i % len(KINDS)][3]
        path = (
            f"/01/{GTINS[i % 3]}/10/LOT1/21/{serial_of(i)}?17=301031&linkType=verificationService"
            f"&context=dscsaSaleableReturn&reqGLN={REQ_GLN}"
            f"&corrUUID={uuid.UUID(int=rng.getrandbits(128), version=4)}"
        )
        out.append((path.encode(), expected))
    return out


async def _connection(
    port: int,
    key: str,
    work: list[tuple[bytes, dict[str, object]]],
    start: float,
    interval: float,
    latencies: list[float],
    errors: list[str],
    skip: int,
    stalls: list[tuple[float, float]],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f" HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n\r\n".encode()
    for n, (path, expected) in enumerate(work):
        scheduled = start + n * interval
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        writer.write(b"GET " + path + head)
        status_line = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        body = await reader.readexactly(length)
        if n >= skip:  # warm-up requests are checked but not timed
            latencies.append(time.perf_counter() - scheduled)
            stalls.append((latencies[-1], scheduled - start))
        if not status_line.startswith(b"HTTP/1.1 200"):
            errors.append(f"{status_line.decode().strip()} {body[:80]!r}")
            continue
        data = json.loads(body)["data"]
        if data != expected:
            errors.append(f"{path[:60]!r}: got {data}, expected {expected}")
    writer.close()


def load_process(
    port: int,
    key: str,
    n_serials: int,
    rate: float,
    seconds: float,
    warmup: float,
    connections: int,
    out: mp.Queue,  # type: ignore[type-arg]
) -> None:
    import uvloop

    total = int(rate * (seconds + warmup))
    skip = int(rate * warmup / connections)
    work = requests_for(n_serials, total, seed=42)
    per = [work[c::connections] for c in range(connections)]
    gc.freeze()  # the load generator's own GC pauses must not count as server latency
    gc.disable()
    latencies: list[float] = []
    errors: list[str] = []
    stalls: list[tuple[float, float]] = []

    async def main() -> float:
        start = time.perf_counter() + 0.2
        interval = connections / rate
        tasks = [
            _connection(
                port,
                key,
                per[c],
                start + c * (interval / connections),
                interval,
                latencies,
                errors,
                skip,
                stalls,
            )
            for c in range(connections)
        ]
        await asyncio.gather(*tasks)
        return time.perf_counter() - start - warmup

    elapsed = uvloop.run(main())
    worst = sorted(stalls, reverse=True)[: max(1, len(stalls) // 100)]  # the slowest 1 %
    out.put((latencies, errors, elapsed, sorted({round(at) for _, at in worst})))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=0.01, help="1 = 10 M serials")
    parser.add_argument("--rate", type=float, default=2000.0, help="requests/s offered")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds sent but not timed")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--store", type=Path, default=None, help="reuse/keep the store file here")
    parser.add_argument("--workers", type=int, default=2, help="responder processes")
    args = parser.parse_args()
    n = max(1000, int(FULL * args.scale))
    with tempfile.TemporaryDirectory(prefix="bench-verification-") as tmp:
        home = Home(Path(tmp) / "home").ensure()
        t0 = time.perf_counter()
        products = [CatalogProduct(g, "DEMO", "Bench product") for g in GTINS]
        target = store_path(home.root)
        kept = args.store.with_name(f"{args.store.name}.{n}") if args.store else None
        if kept is not None and kept.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(kept)
        else:
            write_store(kept or target, rows(n), products)
            if kept is not None:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(kept)
        build_s = time.perf_counter() - t0
        print(f"lookup store: {n:,} serials in {build_s:.1f} s", file=sys.stderr)
        key = key_store(home).add("Bench wholesaler", gln=REQ_GLN)
        port = free_port()
        env = {**os.environ, "SERIALTRACE_HOME": str(home.root)}
        server = subprocess.Popen(
            [sys.executable, "-m", "serialtrace.cli", "verify", "serve", "--port", str(port),
             "--workers", str(args.workers)],
            cwd=ROOT, env=env, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit("responder did not start") from None
                    time.sleep(0.2)
            time.sleep(1.0)  # let every worker come up
            queue: mp.Queue = mp.get_context("spawn").Queue()  # type: ignore[type-arg]
            loader = mp.get_context("spawn").Process(
                target=load_process,
                args=(port, key, n, args.rate, args.seconds, args.warmup, args.connections, queue),
            )
            loader.start()
            latencies, errors, elapsed, worst_at = queue.get(timeout=args.seconds * 20 + 120)
            loader.join()
        finally:
            server.terminate()
            server.wait(30)
    latencies.sort()
    done = len(latencies)
    total = int(args.rate * args.seconds)  # timed requests (warm-up ones are checked too)

    def pct(p: float) -> float:
        return latencies[min(done - 1, int(p * done))] * 1000 if done else float("nan")

    figures = {
        "benchmark": "verification",
        "scale": args.scale,
        "serials": n,
        "store_build_s": round(build_s, 1),
        "offered_rps": args.rate,
        "requests": total,
        "answered": done,
        "warmup_s": args.warmup,
        "requests_per_s": round(done / elapsed, 1),
        "p50_ms": round(pct(0.50), 2),
        "p99_ms": round(pct(0.99), 2),
        "max_ms": round(latencies[-1] * 1000, 2) if done else None,
        "errors": len(errors),
        "slowest_at_s": worst_at,
        "workers": args.workers,
        "connections": args.connections,
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
    }
    for error in errors[:5]:
        print(f"error: {error}", file=sys.stderr)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
