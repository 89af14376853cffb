"""Publishing the rehearsal's versions in its scratch engine.

After provisioning (which publishes the working tree as version 1 behind the alias):

* **stable**: the baseline's code and configuration, published, and the alias pointed at it;
* **canary**: the working tree again, published as its own version;
* with body comparison, three more that no rollout traffic touches (so their in-memory state
  starts equal): the baseline twice (the second run tells noise — timestamps, ids — from
  change) and the working tree once.

Each version carries ``APICANARY_REHEARSAL=<role>`` in its environment, so identical code
still becomes distinct versions (Lambda publishes nothing new for an unchanged ``$LATEST``)
and a handler can tell, if it must.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from apicanary.engine.engine import Engine
from apicanary.engine.functions.model import FunctionConfig
from apicanary.engine.provision import function_config
from apicanary.local.rehearse.baseline import Baseline
from apicanary.project.specs import FunctionSpec

ROLE_VARIABLE = "APICANARY_REHEARSAL"


@dataclass(frozen=True)
class Versions:
    stable: str
    canary: str
    compare: tuple[str, str, str] | None = None  # baseline, baseline again, canary


def publish_versions(
    engine: Engine, spec: FunctionSpec, alias: str, baseline: Baseline, *, compare: bool
) -> Versions:
    """Publish the versions above and point ``alias`` at stable (no weights)."""
    lambdas = engine.lambdas
    name = spec.function_name
    working = function_config(spec)

    def publish(role: str, config: FunctionConfig, use_baseline: bool) -> str:
        marked = replace(config, environment={**config.environment, ROLE_VARIABLE: role})
        if use_baseline and baseline.package is not None:
            lambdas.update_function_code(name, {"ZipFile": baseline.package})
            lambdas.update_function_configuration(name, _config_params(marked))
        else:
            code = baseline.code_dir if use_baseline and baseline.code_dir else spec.code_dir
            lambdas.ensure_source_function(name, code, marked, spec.reserved_concurrency)
        description = f"rehearsal {role}"
        return str(lambdas.publish_version(name, {"Description": description})["Version"])

    stable = publish("stable", baseline.config, True)
    canary = publish("canary", working, False)
    trio = None
    if compare:
        trio = (
            publish("compare-baseline", baseline.config, True),
            publish("compare-baseline-2", baseline.config, True),
            publish("compare-canary", working, False),
        )
    pin(engine, name, alias, stable)
    return Versions(stable, canary, trio)


def pin(engine: Engine, function: str, alias: str, version: str) -> None:
    """Send all of ``alias``'s traffic to ``version``."""
    engine.lambdas.update_alias(
        function,
        alias,
        {"FunctionVersion": version, "RoutingConfig": {"AdditionalVersionWeights": {}}},
    )


def _config_params(config: FunctionConfig) -> dict[str, object]:
    return {
        "Runtime": config.runtime,
        "Handler": config.handler,
        "Timeout": config.timeout,
        "MemorySize": config.memory_size,
        "Environment": {"Variables": dict(config.environment)},
        "Description": config.description,
    }
