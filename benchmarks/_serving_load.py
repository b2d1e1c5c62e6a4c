"""A small closed-loop HTTP/1.1 load generator, used when ``wrk`` is not available.

    python _serving_load.py URL BODY_FILE CONCURRENCY SECONDS [HOLD_MS]

CONCURRENCY keep-alive connections are opened, left idle for HOLD_MS (so the server has set
them all up before the clock starts), then each sends the same JSON POST body back to back
for SECONDS, recording every request's latency. Raw asyncio streams (uvloop when installed):
an HTTP client library costs more CPU per request than a fast server on a small machine.
Prints one JSON object: requests, errors, seconds, rps, p50_ms, p99_ms, mean_ms, max_ms and
grid_ms, the latency at every 0.1 % quantile (as the wrk script reports it).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any
from urllib.parse import urlsplit


async def _worker(
    streams: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    request: bytes,
    until: float,
    latencies: list[float],
    errors: list[int],
) -> None:
    reader, writer = streams
    clock = time.perf_counter
    try:
        while clock() < until:
            start = clock()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            latencies.append(clock() - start)
            if not head.startswith((b"HTTP/1.1 2", b"HTTP/1.0 2")):
                errors[0] += 1
    finally:
        writer.close()


async def _run(
    url: str, body: bytes, concurrency: int, seconds: float, hold_ms: float
) -> dict[str, Any]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = (
        f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []
    errors = [0]
    connections = [await asyncio.open_connection(host, port) for _ in range(concurrency)]
    await asyncio.sleep(hold_ms / 1000)
    start = time.perf_counter()
    until = start + seconds
    await asyncio.gather(
        *(_worker(streams, request, until, latencies, errors) for streams in connections)
    )
    elapsed = time.perf_counter() - start
    latencies.sort()
    n = len(latencies)

    def pct(q: float) -> float:
        return latencies[min(n - 1, int(q * n))] * 1000 if n else float("nan")

    return {
        "requests": n,
        "errors": errors[0],
        "seconds": elapsed,
        "rps": n / elapsed,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "mean_ms": sum(latencies) / n * 1000 if n else float("nan"),
        "max_ms": latencies[-1] * 1000 if n else float("nan"),
        "grid_ms": [pct(i / 1000) for i in range(1, 1000)] if n else [],
    }


def main() -> None:
    """Run one load test and print its JSON summary."""
    url, body_file, concurrency, seconds = sys.argv[1:5]
    hold_ms = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    run = asyncio.run
    try:
        import uvloop

        run = uvloop.run
    except (ImportError, AttributeError):
        pass
    with open(body_file, "rb") as f:
        body = f.read()
    print(json.dumps(run(_run(url, body, int(concurrency), float(seconds), hold_ms))))


if __name__ == "__main__":
    main()
