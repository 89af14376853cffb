"""Builders shared by the API Gateway tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from apicanary.engine.apigateway.service import ApiGatewayService
from apicanary.errors import AwsApiError

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:api"
LAMBDA_URI = (
    "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
    f"{FUNCTION}:${{stageVariables.alias}}/invocations"
)


@dataclass
class Api:
    id: str
    root_id: str
    proxy_id: str


def make_api(svc: ApiGatewayService, name: str = "shop") -> Api:
    """An API with ``ANY /{proxy+}`` integrated with a Lambda alias named by a stage variable."""
    api = svc.create_rest_api({"name": name})
    proxy = svc.create_resource(api["id"], api["rootResourceId"], "{proxy+}")
    svc.put_method(api["id"], proxy["id"], "ANY", {"authorizationType": "NONE"})
    svc.put_integration(
        api["id"],
        proxy["id"],
        "ANY",
        {"type": "AWS_PROXY", "httpMethod": "POST", "uri": LAMBDA_URI},
    )
    return Api(api["id"], api["rootResourceId"], proxy["id"])


def error_of(call: Callable[[], object]) -> AwsApiError:
    """The AwsApiError ``call`` raises (the test fails if it raises none)."""
    with pytest.raises(AwsApiError) as info:
        call()
    return info.value
