"""A notes API on an HTTP API (API Gateway v2), released with canary deployments, in the CDK.

HTTP API stages have no canary, so releases go through the function's alias: a Python function
whose every code change publishes a new version (``current_version``) behind the ``live``
alias; an ``HttpApi`` whose routes (``GET /notes/{note_id}``, ``POST /notes`` and the
``$default`` route) all integrate the alias (``HttpLambdaIntegration(handler=live)``, payload
format 2.0), with the auto-deployed ``$default`` stage; a CodeDeploy deployment group that
shifts ``live`` 10% then 100% after five minutes and rolls back when the alias's error alarm
fires.
"""

from pathlib import Path

from aws_cdk import Duration, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_lambda as lambda_
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from constructs import Construct

LAMBDA_DIR = Path(__file__).resolve().parent.parent / "lambda"


class HttpApiCdkStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)

        function = lambda_.Function(
            self,
            "NotesFunction",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="app.handler",
            code=lambda_.Code.from_asset(str(LAMBDA_DIR)),
            timeout=Duration.seconds(3),
            memory_size=128,
            environment={"SERVICE_NAME": "notes-cdk"},
            description="Notes API handler",
        )
        live = lambda_.Alias(self, "LiveAlias", alias_name="live", version=function.current_version)

        errors = cloudwatch.Alarm(
            self,
            "NotesErrorsAlarm",
            alarm_description="Any error from the live alias of the notes function",
            metric=live.metric_errors(period=Duration.minutes(1), statistic="Sum"),
            threshold=1,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        codedeploy.LambdaDeploymentGroup(
            self,
            "NotesDeploymentGroup",
            alias=live,
            deployment_config=codedeploy.LambdaDeploymentConfig.CANARY_10_PERCENT_5_MINUTES,
            alarms=[errors],
        )

        # the integration invokes the alias, not the function: a rollout's weights reach it
        integration = HttpLambdaIntegration("NotesIntegration", live)
        api = apigwv2.HttpApi(
            self, "NotesApi", api_name="notes-cdk", default_integration=integration
        )
        api.add_routes(
            path="/notes/{note_id}", methods=[apigwv2.HttpMethod.GET], integration=integration
        )
        api.add_routes(path="/notes", methods=[apigwv2.HttpMethod.POST], integration=integration)
