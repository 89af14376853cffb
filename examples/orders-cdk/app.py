#!/usr/bin/env python3
"""The CDK app: one stack, OrdersCdkStack (see orders_cdk/stack.py)."""

import aws_cdk as cdk

from orders_cdk.stack import OrdersCdkStack

app = cdk.App()
OrdersCdkStack(app, "OrdersCdkStack")
app.synth()
