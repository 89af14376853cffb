"""What a rollout moves: the function and alias, the versions, the traffic layer(s)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from apicanary.errors import BadInputError
from apicanary.platform.base import Mode, TelemetryTarget


def parse_mode(value: object) -> Mode:
    """``value`` as a :class:`Mode`, or a :class:`BadInputError` naming the allowed ones."""
    if isinstance(value, str) and value in tuple(Mode):
        return Mode(value)
    raise BadInputError(f"--mode {value!r} is not one of {', '.join(Mode)}")


@dataclass(frozen=True, slots=True)
class RolloutTarget:
    """``function:alias`` moving from ``from_version`` to ``to_version``.

    Stage mode needs ``api_id`` and ``stage``; ``overrides`` are the stage-variable overrides
    that send canary requests to the new version (e.g. ``{"lambdaAlias": "7"}``).
    """

    function: str
    alias: str
    from_version: str
    to_version: str
    mode: Mode = Mode.ALIAS
    api_id: str | None = None
    api_name: str | None = None
    stage: str | None = None
    overrides: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", parse_mode(self.mode))  # "stage" → Mode.STAGE
        if self.mode is not Mode.ALIAS and not (self.api_id and self.stage):
            raise BadInputError(
                f"--mode {self.mode} needs --api and --stage (the stage whose canary to use)"
            )
        if self.from_version == self.to_version:
            raise BadInputError(
                f"{self.function}:{self.alias} already serves version {self.to_version}"
            )

    @property
    def key(self) -> str:
        """Identity for 'one active rollout per target'."""
        if self.mode is Mode.ALIAS:
            return f"alias:{self.function}:{self.alias}"
        return f"stage:{self.api_id}:{self.stage}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "alias": self.alias,
            "fromVersion": self.from_version,
            "toVersion": self.to_version,
            "mode": self.mode.value,
            "apiId": self.api_id,
            "apiName": self.api_name,
            "stage": self.stage,
            "overrides": dict(self.overrides),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RolloutTarget:
        return cls(
            function=data["function"],
            alias=data["alias"],
            from_version=data["fromVersion"],
            to_version=data["toVersion"],
            mode=parse_mode(data.get("mode", Mode.ALIAS)),
            api_id=data.get("apiId"),
            api_name=data.get("apiName"),
            stage=data.get("stage"),
            overrides=dict(data.get("overrides") or {}),
        )


def telemetry_target(target: RolloutTarget) -> TelemetryTarget:
    """What the platform measures for ``target``: arms by executed version (alias mode), or
    by the stage canary flag (stage and both modes)."""
    return TelemetryTarget(
        function=target.function,
        alias=target.alias,
        stable_version=target.from_version,
        canary_version=target.to_version,
        api_name=target.api_name,
        api_id=target.api_id,
        stage=target.stage,
        mode=Mode.ALIAS if target.mode is Mode.ALIAS else Mode.STAGE,
    )
