"""The capture format of `serve --record`: redaction, the body cap, rotation, the bounds."""

from __future__ import annotations

import base64
from pathlib import Path

import orjson
import pytest

from apicanary.engine.gateway.messages import GatewayRequest
from apicanary.engine.gateway.recording import (
    REDACTED,
    Recorder,
    RecordingSettings,
    captured_from,
    resolve_settings,
    settings_from_mapping,
)
from apicanary.errors import BadInputError


def request(body: bytes = b"", **headers: str) -> GatewayRequest:
    pairs = [(k.replace("_", "-"), v) for k, v in headers.items()]
    return GatewayRequest("POST", "/Prod/orders", "a=1&b=2", pairs, body, "10.0.0.1", "h")


def lines(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(raw) for raw in path.read_bytes().splitlines()]


def test_listed_headers_are_redacted_and_the_rest_kept(tmp_path: Path) -> None:
    settings = RecordingSettings(tmp_path / "c.jsonl").with_redacted(("X-Api-Key",))
    recorder = Recorder(settings)
    recorder.add(
        1.5, "shop", "/Prod/orders",
        request(authorization="Bearer s3cret", cookie="sid=1", x_api_key="k", accept="*/*"),
    )  # fmt: skip
    assert recorder.flush() == 1
    (line,) = lines(settings.file)
    assert line["headers"] == [
        ["authorization", REDACTED], ["cookie", REDACTED], ["x-api-key", REDACTED],
        ["accept", "*/*"],
    ]  # fmt: skip
    assert b"s3cret" not in settings.file.read_bytes()
    assert line["path"] == "/Prod/orders" and line["query"] == "a=1&b=2" and line["api"] == "shop"


def test_a_capture_line_reads_back_as_it_was_written(tmp_path: Path) -> None:
    recorder = Recorder(RecordingSettings(tmp_path / "c.jsonl"))
    recorder.add(1717000000.25, "shop", "/Prod/orders", request(b"\x00\xffbinary", accept="a"))
    recorder.flush()
    recorder.add(2.0, "shop", "/Prod/orders", request("é{}".encode()))
    recorder.flush()
    binary, text = lines(tmp_path / "c.jsonl")
    assert binary["base64"] is True and base64.b64decode(str(binary["body"])) == b"\x00\xffbinary"
    assert text["base64"] is False and text["body"] == "é{}"  # readable, and cheaper to write
    assert captured_from(text).body == "é{}".encode()
    captured = captured_from(binary)
    assert captured.body == b"\x00\xffbinary" and not captured.truncated
    assert captured.at == 1717000000.25 and captured.method == "POST"
    assert captured.headers == (("accept", "a"),)


def test_bodies_are_cut_at_the_cap_and_say_so(tmp_path: Path) -> None:
    settings = RecordingSettings(tmp_path / "c.jsonl", max_body_bytes=4)
    recorder = Recorder(settings)
    recorder.add(0.0, "shop", "/Prod/orders", request(b"0123456789"))
    recorder.flush()
    (line,) = lines(settings.file)
    assert line["body"] == "0123" and line["base64"] is False
    assert line["bodyBytes"] == 10 and line["truncated"] is True


def test_the_buffer_is_bounded_and_counts_what_it_dropped(tmp_path: Path) -> None:
    recorder = Recorder(RecordingSettings(tmp_path / "c.jsonl", max_pending=3))
    for _ in range(5):
        recorder.add(0.0, "shop", "/Prod/orders", request())
    assert recorder.dropped == 2
    assert recorder.flush() == 3 and recorder.written == 3
    assert recorder.flush() == 0


def test_files_rotate_and_the_disk_used_stays_bounded(tmp_path: Path) -> None:
    settings = RecordingSettings(tmp_path / "c.jsonl", max_file_bytes=2048, keep_files=2)
    recorder = Recorder(settings)
    for batch in range(30):
        for _ in range(5):
            recorder.add(float(batch), "shop", "/Prod/orders", request(b"x" * 40))
        recorder.flush()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["c.jsonl", "c.jsonl.1", "c.jsonl.2"]
    for path in tmp_path.iterdir():
        assert path.stat().st_size <= 2048
    # the newest requests are in the live file, the older ones shifted up
    assert lines(settings.file)[-1]["t"] == 29.0
    assert lines(tmp_path / "c.jsonl.2")[0]["t"] < lines(tmp_path / "c.jsonl.1")[0]["t"]


def test_settings_from_the_state_directory(tmp_path: Path) -> None:
    (tmp_path / "recording.json").write_text(
        '{"file": "traffic.jsonl", "redactHeaders": ["X-Token"], "maxBodyBytes": 10}'
    )
    settings = resolve_settings(tmp_path, None, ("X-Other",))
    assert settings is not None
    assert settings.file == tmp_path / "traffic.jsonl" and settings.max_body_bytes == 10
    assert {"authorization", "cookie", "x-token", "x-other"} <= settings.redact
    # --record FILE wins over the file's name, the other settings stay
    chosen = resolve_settings(tmp_path, Path("elsewhere.jsonl"), ())
    assert chosen is not None and chosen.file == Path("elsewhere.jsonl")
    assert chosen.max_body_bytes == 10 and "x-token" in chosen.redact


def test_no_recording_unless_asked(tmp_path: Path) -> None:
    assert resolve_settings(tmp_path, None, ()) is None
    with pytest.raises(BadInputError, match="--record-redact"):
        resolve_settings(tmp_path, None, ("X-Api-Key",))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"file": ""}, "file: ''"),
        ({"file": "c", "maxBodyBytes": -1}, "maxBodyBytes: -1 must be an integer 0..10485760"),
        ({"file": "c", "keepFiles": True}, "keepFiles: True"),
        ({"file": "c", "redactHeaders": ["bad name"]}, "'bad name' is not a header name"),
        ({"file": "c", "colour": "red"}, "unknown field 'colour'"),
        (["file"], "must be a JSON object"),
    ],
)
def test_bad_settings_name_the_field_and_the_limit(data: object, message: str) -> None:
    with pytest.raises(BadInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        settings_from_mapping(data, base=Path("/state"), where="recording.json")


def test_bad_capture_lines_name_the_field() -> None:
    good = {"v": 1, "t": 1.0, "api": "a", "method": "GET", "path": "/p", "query": "",
            "headers": [], "body": ""}  # fmt: skip
    assert captured_from(good).path == "/p"
    for key, value, message in [
        ("v", 2, "format version 2"),
        ("t", "soon", "t: 'soon'"),
        ("path", "p", "must start with '/'"),
        ("headers", [["a"]], "headers"),
        ("body", "***", "not base64"),
    ]:
        with pytest.raises(ValueError, match=message):
            captured_from({**good, key: value, "base64": key == "body"})
