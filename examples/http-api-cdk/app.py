#!/usr/bin/env python3
"""The CDK app: one stack, HttpApiCdkStack (see http_api_cdk/stack.py)."""

import aws_cdk as cdk

from http_api_cdk.stack import HttpApiCdkStack

app = cdk.App()
HttpApiCdkStack(app, "HttpApiCdkStack")
app.synth()
