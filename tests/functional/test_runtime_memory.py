"""A big engine process must not make its workers look out of memory."""

from __future__ import annotations

import asyncio
from pathlib import Path

from apicanary.engine.engine import Engine
from tests.support.lambda_zips import handler_zip


def test_workers_of_a_large_engine_are_not_killed_as_out_of_memory(tmp_path: Path) -> None:
    """On Linux execve folds the parent's RSS high-water mark into the child's ru_maxrss;
    a worker reporting that as its peak was killed whenever the engine process had grown past
    the function's MemorySize (found in a long test session; `serve` is a long-lived process)."""
    ballast = bytearray(256 * 1024 * 1024)
    for index in range(0, len(ballast), 4096):
        ballast[index] = 1  # resident, not just reserved

    async def scenario() -> tuple[str | None, bytes]:
        engine = Engine(tmp_path / "state")
        try:
            engine.lambdas.create_function(
                {"FunctionName": "small", "Runtime": "python3.11", "Handler": "app.handler",
                 "MemorySize": 128, "Code": {"ZipFile": handler_zip("return 'fine'")},
                 "Publish": True}
            )  # fmt: skip
            result = await engine.lambdas.invoker.invoke("small", "1", b"{}")
            return result.function_error, result.payload
        finally:
            await engine.aclose()

    error, payload = asyncio.run(scenario())
    del ballast
    assert (error, payload) == (None, b'"fine"')
