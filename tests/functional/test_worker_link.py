"""The engine <-> worker link, on a real worker process: what a reply carries besides the
result, so that the engine's loop does not have to read it from /proc or the log pipe."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from apicanary.engine.functions.runtime import ExecutionSpec
from apicanary.engine.functions.runtime.environment import log_stream_name, worker_environment
from apicanary.engine.functions.runtime.wire import FrameReader, Message, frame
from apicanary.engine.functions.runtime.worker import BOOTSTRAP_MODULE

APP = textwrap.dedent(
    """
    import os, time

    def quiet(event, context):
        return {"pid": os.getpid()}

    def loud(event, context):
        print("x" * event["n"])
        return "printed"

    def spin(event, context):
        end = time.thread_time() + event["s"]
        while time.thread_time() < end:
            pass
        return "spun"
    """
)


class RawWorker:
    """The bootstrap process with its three pipes, driven frame by frame."""

    def __init__(self, code_dir: Path, handler: str = "app.quiet") -> None:
        (code_dir / "app.py").write_text(APP)
        spec = ExecutionSpec(
            function_name="fn", version="1", code_dir=code_dir, handler=handler,
            runtime="python3.11", timeout_s=5.0, memory_mb=256, environment={},
            pool_key="fn:1",
        )  # fmt: skip
        request_r, self.request_w = os.pipe()
        self.response_r, response_w = os.pipe()
        self.log_r, log_w = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, "-B", "-m", BOOTSTRAP_MODULE, str(request_r), str(response_w)],
            stdin=subprocess.DEVNULL, stdout=log_w, stderr=log_w,
            pass_fds=(request_r, response_w), cwd=code_dir,
            env=worker_environment(spec, log_stream_name("1")),
        )  # fmt: skip
        for fd in (request_r, response_w, log_w):
            os.close(fd)
        self.frames = FrameReader()
        assert self.read()[0] == {"t": "ready"}

    def read(self) -> Message:
        while True:
            data = os.read(self.response_r, 1 << 16)
            assert data, "the worker closed its response pipe"
            messages = self.frames.feed(data)
            if messages:
                assert len(messages) == 1
                return messages[0]

    def call(self, event: object) -> Message:
        meta = {"id": "r", "arn": "arn:aws:lambda:us-east-1:123456789012:function:fn", "dl": 0}
        os.write(self.request_w, b"".join(frame(meta, orjson.dumps(event))))
        return self.read()

    def close(self) -> None:
        os.close(self.request_w)
        self.process.wait(10)
        for fd in (self.response_r, self.log_r):
            os.close(fd)


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[RawWorker]:
    raw = RawWorker(tmp_path)
    yield raw
    raw.close()


def test_a_reply_says_whether_output_waits_in_the_log_pipe(worker: RawWorker) -> None:
    meta, body = worker.call({})
    assert meta["t"] == "ok" and meta["o"] is False  # nothing printed: no log read needed
    assert orjson.loads(body)["pid"] == worker.process.pid


def test_output_not_yet_read_is_announced(tmp_path: Path) -> None:
    raw = RawWorker(tmp_path, "app.loud")
    try:
        meta, _ = raw.call({"n": 100})
        assert meta["o"] is True  # the engine has not read the log pipe: it must drain it
        assert os.read(raw.log_r, 1 << 16) == b"x" * 100 + b"\n"
        meta, _ = raw.call({"n": 0})
        assert meta["o"] is True  # print("") still writes a newline
        os.read(raw.log_r, 1 << 16)
    finally:
        raw.close()


def test_a_reply_carries_the_workers_cpu_counters(tmp_path: Path) -> None:
    if not Path(f"/proc/{os.getpid()}/schedstat").exists():
        pytest.skip("no schedstat on this platform: the engine measures nothing either")
    raw = RawWorker(tmp_path, "app.spin")
    try:
        first, _ = raw.call({"s": 0.0})
        second, body = raw.call({"s": 0.05})
        assert body == b'"spun"'
        assert isinstance(second["c"], int) and isinstance(second["q"], int)
        # 50 ms of the worker's own CPU between the two readings (and not much more)
        assert 0.05e9 <= second["c"] - first["c"] < 0.05e9 + 0.05e9 + second["q"] - first["q"]
        assert second["q"] >= first["q"] >= 0
    finally:
        raw.close()
