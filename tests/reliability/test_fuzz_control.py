"""Bad input on the control plane: property tests with random bodies, paths and queries.

One ``apicanary serve`` (the canary fixture project) is fuzzed through the AWS-compatible
Lambda and API Gateway endpoints and the ``/_apicanary`` API. Properties, for every request:

* never a 5xx (the only documented 5xx, Invoke of a crashing function, is not generated);
* every 4xx names an AWS error code (``x-amzn-ErrorType`` header or ``__type``/``code`` in
  the body), so boto3 raises a typed ``ClientError``.

Writes go to resources made for the fuzz (function ``Fz``, API ``fuzz-api``) or to random
names; the known resources (alias ``Fn:live``, stage ``canary-api/prod``) are only read, so
the last test can demand they are unchanged, that the database passes
``PRAGMA integrity_check`` and that the gateway still serves them.

CloudWatch (``POST /``, awsJson1.0 / query / CBOR content types) is fuzzed twice: in-process
over a stub backend (the wire layer alone) and on the running control port (the real metric
store and alarm engine). Malformed templates are fed to ``apicanary serve`` in a subprocess.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from apicanary.server.cloudwatch.api import OPERATIONS, routes
from tests.fixtures.canary_project import write_project
from tests.support.lambda_zips import handler_zip
from tests.support.local import ServerProcess, aws_client, running_server
from tests.support.servers import free_port, serve_in_thread

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "40")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    phases=[Phase.explicit, Phase.generate] if os.environ.get("FUZZ_NO_SHRINK") else list(Phase),
)
ACCOUNT = "123456789012"
FZ_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:Fz"


# --- the server under fuzz --------------------------------------------------------------------


@dataclass
class Target:
    """The running server, the fuzz-owned resources and the known resources' first reads."""

    server: ServerProcess
    http: httpx.Client
    known_api: str
    fuzz_api: str
    fuzz_root: str
    fuzz_proxy: str
    alias_before: dict[str, Any]
    stage_before: dict[str, Any]
    stderr: deque[str]

    def __repr__(self) -> str:  # hypothesis prints it with every falsifying example
        return f"Target({self.server.control_url})"


def drain_stderr(server: ServerProcess) -> deque[str]:
    """Read the server's stderr in a thread, keeping the last lines.

    ``running_server`` pipes stderr without reading it; every 500 logs a traceback there,
    and once the 64 KB pipe is full the server's next log write blocks its event loop, which
    would turn one 500 into a hung server for every later request.
    """
    tail: deque[str] = deque(maxlen=200)
    stream = server.process.stderr

    def pump() -> None:
        if stream is not None:
            for line in stream:
                tail.append(line)

    threading.Thread(target=pump, daemon=True, name="serve-stderr").start()
    return tail


def _strip_metadata(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k != "ResponseMetadata"}


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    root = tmp_path_factory.mktemp("fuzz")
    template = write_project(root / "project")
    with (
        running_server(root / "state", template, seed=9) as server,
        httpx.Client(base_url=server.control_url, timeout=10) as http,
    ):
        lam, apigw = aws_client(server, "lambda"), aws_client(server, "apigateway")
        lam.create_function(
            FunctionName="Fz",
            Runtime="python3.11",
            Role=f"arn:aws:iam::{ACCOUNT}:role/fuzz",
            Handler="app.handler",
            Code={"ZipFile": handler_zip("return event")},
            Publish=True,
        )
        lam.create_alias(FunctionName="Fz", Name="fz", FunctionVersion="1")
        api = apigw.create_rest_api(name="fuzz-api")
        proxy = apigw.create_resource(
            restApiId=api["id"], parentId=api["rootResourceId"], pathPart="{proxy+}"
        )
        apigw.put_method(
            restApiId=api["id"], resourceId=proxy["id"], httpMethod="ANY", authorizationType="NONE"
        )
        apigw.put_integration(
            restApiId=api["id"],
            resourceId=proxy["id"],
            httpMethod="ANY",
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FZ_ARN}:fz/invocations",
        )
        apigw.create_deployment(restApiId=api["id"], stageName="fz")
        known_api = server.api_id("canary-api")
        stderr = drain_stderr(server)
        yield Target(
            server=server,
            http=http,
            known_api=known_api,
            fuzz_api=api["id"],
            fuzz_root=api["rootResourceId"],
            fuzz_proxy=proxy["id"],
            alias_before=_strip_metadata(lam.get_alias(FunctionName="Fn", Name="live")),
            stage_before=_strip_metadata(apigw.get_stage(restApiId=known_api, stageName="prod")),
            stderr=stderr,
        )


def _error_code(response: httpx.Response) -> str | None:
    """The AWS error code of ``response`` as botocore would read it, if any."""
    header = response.headers.get("x-amzn-ErrorType")
    if header:
        return str(header)
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None
    if isinstance(body, dict):
        code = body.get("__type") or body.get("code")
        return str(code) if code else None
    return None


def check(response: httpx.Response) -> httpx.Response:
    """The fuzz properties: no 5xx, and an AWS error code on every error."""
    request = response.request
    where = f"{request.method} {request.url} body={request.content[:300]!r}"
    assert response.status_code < 500, f"{where} -> {response.status_code} {response.text[:500]}"
    if response.status_code >= 400:
        assert _error_code(response), f"{where} -> {response.status_code} without an AWS code"
    return response


def send(
    target: Target,
    method: str,
    path: str,
    body: Any = None,
    *,
    raw: bytes | None = None,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    content = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    response = target.http.request(
        method, path, content=content, params=params, headers=headers or {}
    )
    return check(response)


# --- strategies ----------------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=24)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=10,
)
raw_bodies = st.binary(max_size=200) | st.sampled_from([b"{", b"[]", b'"x"', b"null", b"{}}"])


def _dumps(value: Any) -> bytes:
    """JSON text of ``value`` (the stdlib, unlike orjson, writes integers beyond 64 bits)."""
    return json.dumps(value).encode()


header_text = st.from_regex(r"[ -~]{0,24}", fullmatch=True)


def _safe_segment(text: str) -> bool:
    """A name that stays one path segment (no ``/``, no dot segment httpx would collapse)."""
    return "/" not in text and text not in (".", "..") and text != ""


def segment(known: list[str]) -> st.SearchStrategy[str]:
    """A path parameter: a known name or random text, percent-encoded into one segment."""
    texts = st.sampled_from(known) | st.text(min_size=1, max_size=70).filter(_safe_segment)
    return texts.map(lambda text: quote(text, safe=""))


def fields(options: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """A request body: any subset of a model's members with plausible or random values, plus
    sometimes an unknown member."""
    plausible = st.fixed_dictionaries(
        {}, optional={name: strategy | json_values for name, strategy in options.items()}
    )
    extra = st.dictionaries(st.text(max_size=12), json_values, max_size=2)
    return st.builds(lambda a, b: {**b, **a}, plausible, extra)


queries = st.dictionaries(
    st.sampled_from(
        ["Qualifier", "MaxItems", "Marker", "FunctionVersion", "limit", "position", "embed", "mode"]
    )
    | st.text(min_size=1, max_size=8),
    st.text(max_size=16),
    max_size=3,
)
versions = st.sampled_from(["1", "2", "$LATEST", "0", "01", "-1", "99999999999999999999", ""])
weights = st.dictionaries(
    versions | st.text(max_size=5),
    st.floats(allow_nan=False) | st.integers(-5, 5) | json_values,
    max_size=3,
)
routing = st.fixed_dictionaries({}, optional={"AdditionalVersionWeights": weights})
names_written = ["Fz", "Fz:fz", "Fz:1", "Fz:$LATEST", FZ_ARN, f"{FZ_ARN}:fz", "nope", "a" * 200]
names_read = [*names_written, "Fn", "Fn:live", "Throttled"]
zip_text = st.sampled_from(
    [base64.b64encode(handler_zip("return event")).decode(), "bm90IGEgemlw", "%%%", ""]
)


# --- Lambda ----------------------------------------------------------------------------------


@FUZZ
@given(
    body=fields(
        {
            "FunctionName": st.sampled_from(["Fz", "Fn", "fuzz-new", "", "a" * 200]),
            "Runtime": st.sampled_from(["python3.11", "python3.12", "nodejs20.x", "cobol"]),
            "Role": st.sampled_from([f"arn:aws:iam::{ACCOUNT}:role/r", "not-an-arn"]),
            "Handler": st.sampled_from(["app.handler", "nodot", "", "a.b.c"]),
            "Code": st.fixed_dictionaries(
                {}, optional={"ZipFile": zip_text, "S3Bucket": st.text(max_size=8)}
            ),
            "Timeout": st.integers(-10, 2000),
            "MemorySize": st.integers(-10, 20000),
            "Publish": st.booleans(),
            "Environment": st.fixed_dictionaries(
                {}, optional={"Variables": st.dictionaries(st.text(max_size=8), json_values)}
            ),
            "Architectures": st.lists(st.sampled_from(["x86_64", "arm64", "z80"]), max_size=3),
            "PackageType": st.sampled_from(["Zip", "Image", "Tarball"]),
        }
    ),
    raw=st.none() | raw_bodies,
)
@example(body={"FunctionName": "x", "Runtime": "python3.11", "Code": [[1]]}, raw=None)
def test_create_function(target: Target, body: dict[str, Any], raw: bytes | None) -> None:
    send(target, "POST", "/2015-03-31/functions", body, raw=raw)


@FUZZ
@given(
    name=segment(names_written),
    alias=segment(["fz", "live", "new", "1", "$LATEST"]),
    body=fields(
        {
            "FunctionVersion": versions,
            "RoutingConfig": routing,
            "Description": st.text(max_size=300),
            "RevisionId": st.text(max_size=40),
            "Name": st.sampled_from(["fz", "other", "1", "BAD NAME"]),
        }
    ),
    method=st.sampled_from(["PUT", "POST", "GET", "DELETE"]),
)
def test_create_update_alias(
    target: Target, name: str, alias: str, body: dict[str, Any], method: str
) -> None:
    if method == "POST":  # CreateAlias: the alias name is in the body
        send(target, method, f"/2015-03-31/functions/{name}/aliases", body)
    else:
        send(target, method, f"/2015-03-31/functions/{name}/aliases/{alias}", body)


@FUZZ
@given(
    name=segment(names_written),
    body=fields(
        {
            "Description": st.text(max_size=300),
            "CodeSha256": st.text(max_size=64),
            "RevisionId": st.text(max_size=40),
        }
    ),
    query=queries,
    raw=st.none() | raw_bodies,
)
def test_publish_version(
    target: Target, name: str, body: dict[str, Any], query: dict[str, str], raw: bytes | None
) -> None:
    send(target, "POST", f"/2015-03-31/functions/{name}/versions", body, raw=raw, params=query)


@FUZZ
@given(
    name=segment(names_written),
    body=fields(
        {
            "Timeout": st.integers(-10, 2000),
            "MemorySize": st.integers(-10, 20000),
            "Handler": st.text(max_size=20),
            "Runtime": st.text(max_size=12),
            "Environment": json_values,
            "ZipFile": zip_text,
            "Publish": st.booleans(),
        }
    ),
    what=st.sampled_from(["configuration", "code", "concurrency"]),
)
def test_update_function(target: Target, name: str, body: dict[str, Any], what: str) -> None:
    if what == "concurrency":
        send(target, "PUT", f"/2017-10-31/functions/{name}/concurrency", body)
    else:
        send(target, "PUT", f"/2015-03-31/functions/{name}/{what}", body)


@FUZZ
@given(
    name=segment(names_read),
    query=queries,
    payload=st.none()
    | raw_bodies
    | json_values.map(_dumps)
    | st.dictionaries(st.text(max_size=10).filter(lambda k: k != "path"), json_values).map(_dumps),
    invocation_type=st.none()
    | st.sampled_from(["RequestResponse", "Event", "DryRun"])
    | header_text,
    log_type=st.none() | st.sampled_from(["None", "Tail"]) | header_text,
)
def test_invoke(
    target: Target,
    name: str,
    query: dict[str, str],
    payload: bytes | None,
    invocation_type: str | None,
    log_type: str | None,
) -> None:
    """Random Invoke calls; the handlers never crash on them (``Fn`` fails with a handled
    exception without a ``path`` key, which is a 200 with ``X-Amz-Function-Error``)."""
    headers = {}
    if invocation_type is not None:
        headers["X-Amz-Invocation-Type"] = invocation_type
    if log_type is not None:
        headers["X-Amz-Log-Type"] = log_type
    response = send(
        target,
        "POST",
        f"/2015-03-31/functions/{name}/invocations",
        raw=payload or b"",
        params=query,
        headers=headers,
    )
    if response.status_code == 200 and "X-Amz-Function-Error" in response.headers:
        error_type = orjson.loads(response.content)["errorType"]
        assert not error_type.startswith(("Runtime.", "Sandbox.")), response.text


@FUZZ
@given(
    name=segment(names_read),
    alias=segment(["fz", "live", "zzz"]),
    query=queries,
    what=st.sampled_from(
        ["", "/configuration", "/versions", "/aliases", "/aliases/{alias}", "/policy"]
    ),
)
def test_lambda_reads(
    target: Target, name: str, alias: str, query: dict[str, str], what: str
) -> None:
    path = f"/2015-03-31/functions/{name}" + what.replace("{alias}", alias)
    send(target, "GET", path, params=query)


# --- API Gateway ------------------------------------------------------------------------------

patch_paths = st.sampled_from(
    [
        "/canarySettings",
        "/canarySettings/percentTraffic",
        "/canarySettings/deploymentId",
        "/canarySettings/stageVariableOverrides/lambdaAlias",
        "/canarySettings/useStageCache",
        "/variables/lambdaAlias",
        "/variables/",
        "/description",
        "/deploymentId",
        "/cacheClusterEnabled",
        "/*/*/metrics/enabled",
        "/~1items/GET/throttling/rateLimit",
        "/",
        "",
    ]
) | st.text(max_size=30)
patch_ops = st.fixed_dictionaries(
    {},
    optional={
        "op": st.sampled_from(["add", "remove", "replace", "move", "copy", "test"])
        | st.text(max_size=8),
        "path": patch_paths,
        "value": st.text(max_size=12) | st.sampled_from(["0", "50", "100", "101", "-1", "NaN"]),
        "from": patch_paths,
    },
)


def api_ids(target: Target, *, known: bool) -> st.SearchStrategy[str]:
    choices = [target.fuzz_api, "nope", "0000000000"] + ([target.known_api] if known else [])
    return segment(choices)


@FUZZ
@given(
    body=fields(
        {
            "name": st.text(max_size=40),
            "description": st.text(max_size=40),
            "binaryMediaTypes": st.lists(st.text(max_size=20), max_size=3),
            "minimumCompressionSize": st.integers(-5, 10**9),
            "apiKeySource": st.sampled_from(["HEADER", "AUTHORIZER", "X"]),
            "endpointConfiguration": st.fixed_dictionaries(
                {}, optional={"types": st.lists(st.sampled_from(["EDGE", "REGIONAL", "X"]))}
            ),
            "cloneFrom": st.sampled_from(["nope", ""]),
            "tags": st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
        }
    ),
    raw=st.none() | raw_bodies,
    query=st.none() | st.sampled_from([{"mode": "import"}, {"mode": "x"}]),
)
def test_create_rest_api(
    target: Target, body: dict[str, Any], raw: bytes | None, query: dict[str, str] | None
) -> None:
    send(target, "POST", "/restapis", body, raw=raw, params=query)


@FUZZ
@given(data=st.data())
def test_create_resource(target: Target, data: st.DataObject) -> None:
    api = data.draw(api_ids(target, known=False))
    parent = data.draw(segment([target.fuzz_root, target.fuzz_proxy, "nope"]))
    body = data.draw(
        fields({"pathPart": st.sampled_from(["a", "{id}", "{proxy+}", "{", "a b", "", "x" * 300])})
    )
    send(target, "POST", f"/restapis/{api}/resources/{parent}", body)


@FUZZ
@given(data=st.data())
def test_update_stage(target: Target, data: st.DataObject) -> None:
    api = data.draw(api_ids(target, known=False))
    stage = data.draw(segment(["fz", "prod", "nope"]))
    operations = data.draw(st.lists(patch_ops, max_size=4) | json_values)
    body = data.draw(st.just({"patchOperations": operations}) | fields({}))
    send(target, "PATCH", f"/restapis/{api}/stages/{stage}", body)


rest_api_paths = st.sampled_from(
    [
        "/binaryMediaTypes/image~1png",
        "/binaryMediaTypes/*~1*",
        "/binaryMediaTypes/",
        "/binaryMediaTypes",
        "/minimumCompressionSize",
        "/name",
        "/description",
        "/apiKeySource",
        "/disableExecuteApiEndpoint",
        "/endpointConfiguration/types/0",
        "/policy",
    ]
) | st.text(max_size=30)


@FUZZ
@given(data=st.data())
def test_update_rest_api(target: Target, data: st.DataObject) -> None:
    api = data.draw(api_ids(target, known=False))
    operation = st.fixed_dictionaries(
        {},
        optional={
            "op": st.sampled_from(["add", "remove", "replace", "move", "copy"]) | json_values,
            "path": rest_api_paths,
            "value": json_values | st.sampled_from(["image/gif", "10", "-1", "", "EDGE", "true"]),
        },
    )
    operations = data.draw(st.lists(operation, max_size=4) | json_values)
    body = data.draw(st.just({"patchOperations": operations}) | fields({}))
    send(target, "PATCH", f"/restapis/{api}", body)


@FUZZ
@given(data=st.data())
def test_gateway_responses(target: Target, data: st.DataObject) -> None:
    api = data.draw(api_ids(target, known=True))
    kind = data.draw(segment(["DEFAULT_4XX", "DEFAULT_5XX", "THROTTLED", "FAKE"]))
    method = data.draw(st.sampled_from(["GET", "PUT", "PATCH", "DELETE", "LIST"]))
    body = data.draw(
        fields(
            {
                "statusCode": st.sampled_from(["404", "599", "600", "abc", ""]) | json_values,
                "responseParameters": st.dictionaries(st.text(max_size=8), json_values),
                "responseTemplates": st.dictionaries(st.text(max_size=8), json_values),
            }
        )
    )
    if method == "LIST":
        send(target, "GET", f"/restapis/{api}/gatewayresponses")
    elif method == "PATCH":
        operation = st.fixed_dictionaries(
            {},
            optional={
                "op": st.sampled_from(["add", "remove", "replace"]) | json_values,
                "path": st.sampled_from(
                    ["/statusCode", "/responseParameters/gatewayresponse.header.a",
                     "/responseTemplates/application~1json", "/responseTemplates/"]
                ) | json_values,
                "value": st.sampled_from(["404", "'x'", ""]) | json_values,
            },
        )  # fmt: skip
        operations = data.draw(st.lists(operation, max_size=3) | json_values)
        send(
            target,
            "PATCH",
            f"/restapis/{api}/gatewayresponses/{kind}",
            {"patchOperations": operations},
        )
    else:
        send(target, method, f"/restapis/{api}/gatewayresponses/{kind}", body)


@FUZZ
@given(data=st.data())
def test_deployments_stages_methods(target: Target, data: st.DataObject) -> None:
    api = data.draw(api_ids(target, known=False))
    kind = data.draw(st.sampled_from(["deployment", "stage", "method", "integration"]))
    canary = st.fixed_dictionaries(
        {},
        optional={
            "percentTraffic": st.floats(allow_nan=False) | st.integers(-5, 200),
            "stageVariableOverrides": st.dictionaries(st.text(max_size=8), json_values),
            "useStageCache": st.booleans(),
        },
    )
    body = data.draw(
        fields(
            {
                "stageName": st.sampled_from(["fz", "new", "", "bad stage"]),
                "deploymentId": st.sampled_from(["nope", ""]),
                "canarySettings": canary,
                "variables": st.dictionaries(st.text(max_size=8), json_values, max_size=3),
                "authorizationType": st.sampled_from(["NONE", "AWS_IAM", "X"]),
                "type": st.sampled_from(["AWS_PROXY", "HTTP", "MOCK", "X"]),
                "httpMethod": st.sampled_from(["POST", "GET"]),
                "uri": st.sampled_from(["arn:aws:apigateway:us-east-1:lambda:path/x", "nope"]),
                "timeoutInMillis": st.integers(-5, 100_000),
            }
        )
    )
    resource = data.draw(segment([target.fuzz_proxy, target.fuzz_root, "nope"]))
    verb = data.draw(segment(["GET", "ANY", "POST", "FETCH"]))
    if kind == "deployment":
        send(target, "POST", f"/restapis/{api}/deployments", body)
    elif kind == "stage":
        send(target, "POST", f"/restapis/{api}/stages", body)
    elif kind == "method":
        send(target, "PUT", f"/restapis/{api}/resources/{resource}/methods/{verb}", body)
    else:
        path = f"/restapis/{api}/resources/{resource}/methods/{verb}/integration"
        send(target, "PUT", path, body)


@FUZZ
@given(data=st.data())
def test_apigateway_reads(target: Target, data: st.DataObject) -> None:
    api = data.draw(api_ids(target, known=True))
    tail = data.draw(
        st.sampled_from(["", "/resources", "/deployments", "/stages", "/stages/prod", "/stages/fz"])
    )
    query = data.draw(queries)
    send(target, "GET", f"/restapis/{api}{tail}", params=query)


# --- /_apicanary -----------------------------------------------------------------------------


@FUZZ
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
    tail=st.sampled_from(["health", "rollouts", "rollouts/x", "metrics", "", "x/y"])
    | st.text(min_size=1, max_size=30).map(lambda t: quote(t, safe="/")),
    body=st.none() | json_values,
    query=queries,
)
def test_apicanary_api(
    target: Target, method: str, tail: str, body: Any, query: dict[str, str]
) -> None:
    """The JSON API never fails with a 5xx; a route miss is a plain 404/405."""
    response = target.http.request(
        method, f"/_apicanary/{tail}", content=_dumps(body), params=query
    )
    assert response.status_code < 500, f"{method} /_apicanary/{tail} -> {response.text[:300]}"


# --- CloudWatch wire layer, in process ----------------------------------------------------------


class StubCloudWatch:
    """A CloudWatch backend that accepts whatever decodes and answers with empty results."""

    def put_metric_data(self, params: dict[str, Any]) -> None:
        """Accept."""

    def get_metric_data(self, params: dict[str, Any]) -> dict[str, Any]:
        """No series."""
        return {"MetricDataResults": []}

    def get_metric_statistics(self, params: dict[str, Any]) -> dict[str, Any]:
        """No datapoints."""
        return {"Label": str(params.get("MetricName", "")), "Datapoints": []}

    def list_metrics(self, params: dict[str, Any]) -> dict[str, Any]:
        """No metrics."""
        return {"Metrics": []}

    def put_metric_alarm(self, params: dict[str, Any]) -> None:
        """Accept."""

    def describe_alarms(self, params: dict[str, Any]) -> dict[str, Any]:
        """No alarms."""
        return {"MetricAlarms": []}

    def describe_alarm_history(self, params: dict[str, Any]) -> dict[str, Any]:
        """No history."""
        return {"AlarmHistoryItems": []}

    def set_alarm_state(self, params: dict[str, Any]) -> None:
        """Accept."""

    def delete_alarms(self, params: dict[str, Any]) -> None:
        """Accept."""


@pytest.fixture(scope="module")
def cloudwatch_url() -> Iterator[str]:
    with serve_in_thread(Starlette(routes=routes(StubCloudWatch()))) as url:
        yield url


def _cloudwatch_code(response: httpx.Response) -> str | None:
    code = response.headers.get("x-amzn-ErrorType") or response.headers.get("x-amzn-query-error")
    if code:
        return str(code)
    if b"<Code>" in response.content or b"__type" in response.content:
        return "in body"
    return None


cloudwatch_members = fields(
    {
        "Namespace": st.sampled_from(["AWS/Lambda", "", "x" * 300]),
        "MetricName": st.sampled_from(["Errors", ""]),
        "MetricData": st.lists(
            fields(
                {
                    "MetricName": st.text(max_size=8),
                    "Value": st.floats() | st.text(max_size=4),
                    "Timestamp": st.integers(-(2**40), 2**40) | st.text(max_size=10),
                    "Dimensions": st.lists(
                        fields({"Name": st.text(max_size=6), "Value": st.text(max_size=6)})
                    ),
                    "Values": st.lists(st.floats()),
                    "Counts": st.lists(st.floats()),
                }
            ),
            max_size=3,
        ),
        "StartTime": st.integers(-(2**40), 2**40) | st.floats() | st.text(max_size=10),
        "EndTime": st.integers(-(2**40), 2**40) | st.text(max_size=10),
        "Period": st.integers(-100, 10**7),
        "Statistics": st.lists(st.sampled_from(["Sum", "Average", "p99", "x"])),
        "MetricDataQueries": st.lists(fields({"Id": st.text(max_size=5)}), max_size=2),
        "AlarmNames": st.lists(st.text(max_size=8), max_size=3),
        "AlarmName": st.text(max_size=8),
        "StateValue": st.sampled_from(["OK", "ALARM", "INSUFFICIENT_DATA", "X"]),
    }
)


cloudwatch_targets = (
    st.none()
    | st.sampled_from([f"GraniteServiceVersion20100801.{op}" for op in OPERATIONS])
    | st.sampled_from(["GraniteServiceVersion20100801.Nope", "Nope.PutMetricData"])
    | header_text
)
cloudwatch_content_types = st.sampled_from(
    [
        "application/x-amz-json-1.0",
        "application/json",
        "application/x-www-form-urlencoded",
        "application/cbor",
        "text/plain",
    ]
)
cloudwatch_bodies = st.one_of(cloudwatch_members.map(_dumps), raw_bodies, json_values.map(_dumps))


def _post_cloudwatch(url: str, target_header: str | None, content_type: str, body: bytes) -> None:
    """One awsJson1.0/query/cbor-typed POST /: a 2xx or a coded 4xx, never a 5xx."""
    headers = {"Content-Type": content_type}
    if target_header is not None:
        headers["X-Amz-Target"] = target_header
    response = httpx.post(f"{url}/", content=body, headers=headers, timeout=10)
    assert response.status_code < 500, f"{headers} {body[:200]!r} -> {response.text[:300]}"
    if response.status_code >= 400:
        assert _cloudwatch_code(response), f"{headers} {body[:200]!r} -> {response.text[:300]}"


@FUZZ
@given(
    target_header=cloudwatch_targets, content_type=cloudwatch_content_types, body=cloudwatch_bodies
)
def test_cloudwatch_wire(
    cloudwatch_url: str, target_header: str | None, content_type: str, body: bytes
) -> None:
    """The wire layer over a stub backend: random targets, content types and bodies."""
    _post_cloudwatch(cloudwatch_url, target_header, content_type, body)


@FUZZ
@given(
    target_header=cloudwatch_targets, content_type=cloudwatch_content_types, body=cloudwatch_bodies
)
def test_cloudwatch_on_the_control_port(
    target: Target, target_header: str | None, content_type: str, body: bytes
) -> None:
    """The same against the running server's real metric store and alarm engine."""
    _post_cloudwatch(target.server.control_url, target_header, content_type, body)


@FUZZ
@given(
    action=st.sampled_from([*OPERATIONS, "Nope", ""]),
    form=st.dictionaries(
        st.sampled_from(
            [
                "Namespace",
                "MetricName",
                "MetricData.member.1.MetricName",
                "MetricData.member.1.Value",
                "MetricData.member.1.Timestamp",
                "MetricData.member.1.Dimensions.member.1.Name",
                "StartTime",
                "EndTime",
                "Period",
                "Statistics.member.1",
                "AlarmNames.member.1",
                "Version",
            ]
        )
        | st.text(min_size=1, max_size=20),
        st.text(max_size=20),
        max_size=6,
    ),
    cbor=st.booleans(),
    raw=raw_bodies,
)
def test_cloudwatch_query_and_cbor(
    cloudwatch_url: str, action: str, form: dict[str, str], cbor: bool, raw: bytes
) -> None:
    """Query-protocol forms and rpc-v2-cbor bodies with random members: never a 5xx."""
    if cbor:
        url = f"{cloudwatch_url}/service/GraniteServiceVersion20100801/operation/{action or 'x'}"
        headers = {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"}
        response = httpx.post(url, content=raw, headers=headers, timeout=10)
    else:
        response = httpx.post(f"{cloudwatch_url}/", data={"Action": action, **form}, timeout=10)
    assert response.status_code < 500, f"{action} {form} {raw[:100]!r} -> {response.text[:300]}"
    if response.status_code >= 400:
        assert _cloudwatch_code(response), response.text[:300]


# --- route misses ---------------------------------------------------------------------------------


def test_route_misses_carry_an_aws_code(target: Target) -> None:
    """An unknown AWS path or method still answers in AWS's error format."""
    for method, path in [
        ("GET", "/2015-03-31/nothing"),
        ("PATCH", "/2015-03-31/functions/Fn"),
        ("POST", "/restapis/x/nothing"),
        ("GET", "/2015-03-31/functions/a%2Fb/aliases"),
    ]:
        response = target.http.request(method, path)
        assert response.status_code in (404, 405)
        assert _error_code(response), f"{method} {path} -> {response.text}"


# --- after the fuzz: state intact ----------------------------------------------------------------


def test_state_survives_the_fuzz(target: Target) -> None:
    """Runs last in this module: the server is alive, the database is intact, the known
    alias and stage are unchanged, and the gateway still serves them."""
    server = target.server
    assert server.process.poll() is None, "".join(target.stderr)
    health = target.http.get("/_apicanary/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"

    database = server.state_dir / "state.sqlite3"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]

    lam, apigw = aws_client(server, "lambda"), aws_client(server, "apigateway")
    assert _strip_metadata(lam.get_alias(FunctionName="Fn", Name="live")) == target.alias_before
    stage = _strip_metadata(apigw.get_stage(restApiId=target.known_api, stageName="prod"))
    assert stage == target.stage_before

    host = {"Host": f"{target.known_api}.execute-api.localhost"}
    served = httpx.get(f"{server.gateway_url}/prod/hello", headers=host, timeout=10)
    assert served.status_code == 200 and served.json()["version"] == "1"


# --- malformed templates -----------------------------------------------------------------------

GOOD_FUNCTION = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {code_uri}
      Handler: app.handler
      Runtime: {runtime}
      Timeout: {timeout}
"""

BAD_TEMPLATES: dict[str, tuple[str, list[str]]] = {
    "yaml-syntax": (
        "Resources:\n  Api:\n    Type: [unclosed\n",
        ["bad.yaml", "line"],
    ),
    "unknown-runtime": (
        GOOD_FUNCTION.format(code_uri="src/", runtime="cobol85", timeout=3),
        ["bad.yaml", "Api", "Runtime", "cobol85"],
    ),
    "timeout-901": (
        GOOD_FUNCTION.format(code_uri="src/", runtime="python3.11", timeout=901),
        ["bad.yaml", "Api", "Timeout", "901"],
    ),
    "missing-code-dir": (
        GOOD_FUNCTION.format(code_uri="nowhere/", runtime="python3.11", timeout=3),
        ["bad.yaml", "Api", "CodeUri", "nowhere"],
    ),
}


@pytest.mark.parametrize("kind", sorted(BAD_TEMPLATES))
def test_malformed_template_exits_2_naming_the_place(tmp_path: Path, kind: str) -> None:
    text, expected = BAD_TEMPLATES[kind]
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return {}\n")
    (tmp_path / "bad.yaml").write_text(text)
    command = [
        sys.executable, "-m", "apicanary", "serve", "--template", "bad.yaml",
        "--state-dir", str(tmp_path / "state"),
        "--port", str(free_port()), "--control-port", str(free_port()),
    ]  # fmt: skip
    result = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    for needle in expected:
        assert needle in result.stderr, f"{needle!r} not in stderr: {result.stderr}"
