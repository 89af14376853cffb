"""Pure parts of the runtime: framing, fault wording, log transcripts, the context object."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from apicanary.engine.functions.runtime import faults
from apicanary.engine.functions.runtime.context import LambdaContext
from apicanary.engine.functions.runtime.logsink import TAIL_BYTES, VersionLog, WorkerLog
from apicanary.engine.functions.runtime.wire import FrameReader, frame


@given(
    st.lists(st.tuples(st.text(max_size=20), st.binary(max_size=300)), max_size=5),
    st.integers(min_value=1, max_value=64),
)
def test_frames_survive_any_chunking(messages: list[tuple[str, bytes]], chunk: int) -> None:
    stream = b"".join(b"".join(frame({"id": rid}, body)) for rid, body in messages)
    reader = FrameReader()
    decoded = []
    for start in range(0, len(stream), chunk):
        decoded += reader.feed(stream[start : start + chunk])
    assert decoded == [({"id": rid}, body) for rid, body in messages]


def test_corrupt_frame_length_is_refused() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        FrameReader().feed(b"\xff\xff\xff\xff\x00\x00\x00\x00")


@pytest.mark.parametrize(
    ("returncode", "words"),
    [
        (3, "exit status 3"),
        (-signal.SIGSEGV, "signal: segmentation fault"),
        (-signal.SIGKILL, "signal: killed"),
        (-signal.SIGABRT, "signal: aborted"),
    ],
)
def test_exit_descriptions_use_lambda_wording(returncode: int, words: str) -> None:
    assert faults.describe_exit(returncode) == words
    assert (
        faults.exit_message("r", returncode)
        == f"RequestId: r Error: Runtime exited with error: {words}"
    )


def test_clean_exit_and_timeout_messages() -> None:
    assert (
        faults.exit_message("r", 0)
        == "RequestId: r Error: Runtime exited without providing a reason"
    )
    assert faults.timeout_message("r", 3) == "RequestId: r Error: Task timed out after 3.00 seconds"
    assert orjson.loads(faults.error_payload("Sandbox.Timedout", "m")) == {
        "errorMessage": "m",
        "errorType": "Sandbox.Timedout",
    }


def test_transcript_frames_output_and_caps_the_tail(tmp_path: Path) -> None:
    sink = VersionLog(tmp_path / "fn" / "1.log")
    log = WorkerLog(sink)
    log.feed(b"init line\n")
    log.start("r1", "1")
    log.feed(b"partial")
    log.feed(b" line\n" + "é".encode() * 5000 + b"\nno newline")
    tail = log.finish("END RequestId: r1\n")
    sink.close()

    text = (tmp_path / "fn" / "1.log").read_text()
    assert text.startswith("init line\nSTART RequestId: r1 Version: 1\npartial line\n")
    assert text.endswith("no newline\nEND RequestId: r1\n")
    assert len(tail.encode()) <= TAIL_BYTES
    assert tail.endswith("no newline\nEND RequestId: r1\n") and "\ufffd" not in tail


def test_context_counts_down_to_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
    context = LambdaContext("rid", "arn:x", int(time.time() * 1000) + 2000)
    assert 1900 <= context.get_remaining_time_in_millis() <= 2000
    assert context.memory_limit_in_mb == "128"
    assert LambdaContext("rid", "arn:x", 0).get_remaining_time_in_millis() == 0
