"""A small paced HTTP/1.1 load generator that records every response (run as its own process).

Run: ``python -m bench.loadgen URL --rate R --connections C --duration S --out FILE``.

Each of C keep-alive connections takes the next request slot of a global schedule
(slot i is due at start + i/R), waits for it, sends ``GET``, and reads the response; when the
server cannot keep up, requests go out as fast as answers come back. Every answer is recorded
as ``[sent_ns, received_ns, status, x-app-version]`` with ``time.monotonic_ns()`` (the system's
monotonic clock, comparable with the parent process's). Connection failures are recorded with
status 0 and the connection is reopened. Prints ``ready`` on stdout once every connection is
open, and writes the records (orjson) to FILE at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

import orjson

Record = tuple[int, int, int, str]


async def _open(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(host, port)


async def _one(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, str]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    chunked = False
    version = ""
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        lowered = name.strip().lower()
        if lowered == b"content-length":
            length = int(value)
        elif lowered == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif lowered == b"x-app-version":
            version = value.strip().decode()
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # no trailers: the final CRLF
                break
            await reader.readexactly(size + 2)
    elif length:
        await reader.readexactly(length)
    return status, version


async def drive(
    url: str, rate: float, connections: int, duration_s: float, host_header: str | None
) -> list[Record]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path or "/"
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host_header or f'{host}:{port}'}\r\n"
        "User-Agent: apicanary-bench\r\n\r\n"
    ).encode()
    records: list[Record] = []
    conns = [await _open(host, port) for _ in range(connections)]
    print("ready", flush=True)
    start = time.monotonic_ns()
    end = start + int(duration_s * 1e9)
    interval = int(1e9 / rate)
    next_slot = 0

    async def worker(index: int) -> None:
        nonlocal next_slot
        reader, writer = conns[index]
        while True:
            slot = next_slot
            next_slot += 1
            due = start + slot * interval
            now = time.monotonic_ns()
            if due >= end or now >= end:
                break
            if due > now:
                await asyncio.sleep((due - now) / 1e9)
            sent = time.monotonic_ns()
            try:
                status, version = await asyncio.wait_for(_one(reader, writer, request), 10.0)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                records.append((sent, time.monotonic_ns(), 0, ""))
                writer.close()
                try:
                    reader, writer = await _open(host, port)
                except OSError:
                    await asyncio.sleep(0.01)
                continue
            records.append((sent, time.monotonic_ns(), status, version))
        writer.close()

    await asyncio.gather(*(worker(i) for i in range(connections)))
    return records


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, default=1500.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--host-header", default=None)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop
    try:
        import uvloop

        factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover
        pass
    with asyncio.Runner(loop_factory=factory) as runner:
        records = runner.run(
            drive(args.url, args.rate, args.connections, args.duration, args.host_header)
        )
    with open(args.out, "wb") as out:
        out.write(orjson.dumps(records))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
