"""Reading recorded traffic: captures, access logs (JSON and CLF), HAR files, hand lists."""

from __future__ import annotations

import base64
from pathlib import Path

import orjson
import pytest

from apicanary.engine.gateway.recording import CapturedRequest
from apicanary.errors import BadInputError
from apicanary.local.rehearse.sources import load_replay, load_requests


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_a_capture_keeps_order_headers_bodies_and_times(tmp_path: Path) -> None:
    lines = [
        CapturedRequest(10.0, "shop", "POST", "/Prod/orders", "", (("host", "x"),
                        ("content-type", "application/json")), b'{"a":1}', 7).to_json(),
        CapturedRequest(10.5, "shop", "GET", "/Prod/orders/7", "full=1").to_json(),
        CapturedRequest(11.0, "shop", "PUT", "/Prod/big", "", (), b"ab", 9, True).to_json(),
        b'{"v": 1, "method": "GET", "path": 7}',
    ]  # fmt: skip
    recording = load_replay(write(tmp_path, "c.jsonl", b"\n".join(lines) + b"\n{broken"))
    assert recording.kind == "capture"
    first, second = recording.requests
    assert (first.method, first.path, first.body, first.at, first.api) == (
        "POST", "/Prod/orders", b'{"a":1}', 10.0, "shop",
    )  # fmt: skip
    assert first.headers == (("content-type", "application/json"),)  # host is set on replay
    assert (second.query, second.at) == ("full=1", 10.5)
    assert recording.skipped == {"body cut at the capture's size cap": 1, "unreadable line": 2}


def test_a_json_access_log_replays_its_bodiless_lines(tmp_path: Path) -> None:
    entries = [
        {"httpMethod": "GET", "path": "/Prod/orders/1", "queryString": "x=1",
         "requestTimeEpoch": 1_700_000_000_500},
        {"httpMethod": "DELETE", "path": "/Prod/orders/2",
         "requestTime": "14/Nov/2023:22:13:21 +0000"},
        {"httpMethod": "POST", "path": "/Prod/orders"},
        {"httpMethod": "GET", "resourcePath": "/orders/{id}"},
        {"httpMethod": "GET", "path": "/Prod/orders/{id}"},
    ]  # fmt: skip
    text = "\n".join(orjson.dumps(e).decode() for e in entries)
    recording = load_replay(write(tmp_path, "access.log", text))
    assert recording.kind == "access-log"
    get, delete = recording.requests
    assert (get.method, get.path, get.query, get.at) == (
        "GET",
        "/Prod/orders/1",
        "x=1",
        1_700_000_000.5,
    )
    assert delete.method == "DELETE" and delete.at == 1_700_000_001.0
    assert recording.skipped == {
        "POST: an access log keeps no body": 1,
        "no request path (log $context.path)": 1,
        "a resource template, not a request path": 1,
    }


def test_a_common_log_format_access_log(tmp_path: Path) -> None:
    text = (
        '10.0.0.1 - - [14/Nov/2023:22:13:20 +0000] "GET /Prod/orders/1?x=2 HTTP/1.1" 200 12 r1\n'
        '10.0.0.1 - - [14/Nov/2023:22:13:21 +0000] "HEAD /Prod/health HTTP/1.1" 200 0 r2\n'
        '10.0.0.1 - - [14/Nov/2023:22:13:22 +0000] "POST /Prod/orders HTTP/1.1" 201 9 r3\n'
    )
    recording = load_replay(write(tmp_path, "clf.log", text))
    first, second = recording.requests
    assert (first.path, first.query) == ("/Prod/orders/1", "x=2")
    assert second.method == "HEAD" and second.at is not None and first.at is not None
    assert second.at - first.at == 1.0
    assert recording.skipped == {"POST: an access log keeps no body": 1}


def test_a_har_file_from_a_browser(tmp_path: Path) -> None:
    har = {"log": {"version": "1.2", "entries": [
        {"startedDateTime": "2024-05-01T10:00:00.000Z", "request": {
            "method": "POST", "url": "https://abc.execute-api.eu-west-1.amazonaws.com/Prod/orders?x=1",
            "headers": [{"name": ":authority", "value": "abc"}, {"name": "Host", "value": "abc"},
                        {"name": "Content-Type", "value": "application/json"}],
            "postData": {"mimeType": "application/json", "text": '{"item": "tea"}'}}},
        {"startedDateTime": "2024-05-01T10:00:01.500Z", "request": {
            "method": "PUT", "url": "http://localhost:3000/Prod/blob", "headers": [],
            "postData": {"text": base64.b64encode(b"\x01\x02").decode(), "encoding": "base64"}}},
        {"startedDateTime": "2024-05-01T10:00:02Z", "request": {"method": "GET", "url": "data:,x"}},
    ]}}  # fmt: skip
    recording = load_replay(write(tmp_path, "session.har", orjson.dumps(har)))
    assert recording.kind == "har"
    post, put = recording.requests
    assert (post.method, post.path, post.query) == ("POST", "/Prod/orders", "x=1")
    assert post.headers == (("Content-Type", "application/json"),)
    assert post.body == b'{"item": "tea"}' and put.body == b"\x01\x02"
    assert post.at is not None and put.at is not None and put.at - post.at == 1.5
    assert recording.skipped == {"not an http(s) URL": 1}


def test_requests_written_by_hand(tmp_path: Path) -> None:
    put = '{"method": "PUT", "path": "/orders/7", "query": "force=1", "headers": {"X-A": "1"}, '
    text = f"""# comments and blank lines are ignored

GET /Prod/quote/ab1?quantity=2
post /orders {{"item": "tea"}}
{put}"json": {{"q": 3}}}}
"""
    recording = load_requests(write(tmp_path, "r.txt", text))
    get, post, put = recording.requests
    assert (get.path, get.query, get.at) == ("/Prod/quote/ab1", "quantity=2", None)
    assert post.method == "POST" and post.body == b'{"item": "tea"}'
    assert put.query == "force=1" and put.body == b'{"q":3}'
    assert put.headers == (("X-A", "1"), ("content-type", "application/json"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("FETCH /x", "line 1: method 'FETCH'"),
        ("GET orders", "line 1: path 'orders' must start with '/'"),
        ('{"path": "/x", "headers": 3}', "line 1: headers must be"),
        ("\n\n{not json", "line 3: not valid JSON"),
    ],
)
def test_bad_hand_written_lines_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        load_requests(write(tmp_path, "r.txt", text))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("hello world\n", "line 1 is neither a capture line"),
        ('{"something": "else"}\n', "line 1 is neither"),
        ('{"httpMethod": "POST", "path": "/x"}\n', r"nothing to replay \(1 × POST"),
    ],
)
def test_files_with_nothing_to_replay_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        load_replay(write(tmp_path, "x.log", text))


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match=r"--replay .*nope\.jsonl: no such file"):
        load_replay(tmp_path / "nope.jsonl")
