"""An orders API released with canary deployments, written with the AWS CDK (Python).

The same shape as examples/orders-api (SAM), in CDK constructs: a Python function whose every
code change publishes a new version (``current_version``) behind the ``live`` alias; a REST API
whose methods invoke the alias; a CodeDeploy deployment group that shifts ``live`` 10% then
100% after five minutes and rolls back when the alias's error alarm fires.
"""

from pathlib import Path

from aws_cdk import Duration, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

LAMBDA_DIR = Path(__file__).resolve().parent.parent / "lambda"


class OrdersCdkStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)

        function = lambda_.Function(
            self,
            "OrdersFunction",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="app.handler",
            code=lambda_.Code.from_asset(str(LAMBDA_DIR)),
            timeout=Duration.seconds(3),
            memory_size=128,
            environment={"SERVICE_NAME": "orders-cdk"},
            description="Orders API handler",
        )
        live = lambda_.Alias(self, "LiveAlias", alias_name="live", version=function.current_version)

        errors = cloudwatch.Alarm(
            self,
            "OrdersErrorsAlarm",
            alarm_description="Any error from the live alias of the orders function",
            metric=live.metric_errors(period=Duration.minutes(1), statistic="Sum"),
            threshold=1,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        codedeploy.LambdaDeploymentGroup(
            self,
            "OrdersDeploymentGroup",
            alias=live,
            deployment_config=codedeploy.LambdaDeploymentConfig.CANARY_10_PERCENT_5_MINUTES,
            alarms=[errors],
        )

        api = apigateway.LambdaRestApi(
            self,
            "OrdersApi",
            rest_api_name="orders-cdk",
            handler=live,
            proxy=False,
            deploy_options=apigateway.StageOptions(stage_name="prod"),
        )
        orders = api.root.add_resource("orders")
        orders.add_method("GET")
        orders.add_resource("{id}").add_method("GET")
        api.root.add_resource("health").add_method("GET")
