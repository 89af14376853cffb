"""Traffic routers: set the canary's share on one traffic layer, absolutely, then verify.

Every method writes the whole desired state (never a delta), reads it back, and raises
:class:`~apicanary.errors.PlatformError` when the read-back differs: a write that did not
take is never reported as done. Alias writes carry the ``RevisionId`` read just before: a
concurrent change is re-read and reconciled, never overwritten blindly. Running any method
twice is the same as running it once, so a controller that crashed mid-call converges by
calling it again.

* :class:`AliasRouter`: the alias keeps ``stable`` as its primary version and gives the
  canary version ``weight/100``; promotion is one write (canary primary, no weights).
* :class:`StageCanaryRouter`: the stage canary's ``percentTraffic`` with stage-variable
  overrides that send canary requests to the new version; promotion is the three patch
  operations then removal; rollback is removal.
* :class:`BothRouter`: both layers; the effective share is the product of the two.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from apicanary.errors import AwsApiError, PlatformError
from apicanary.platform.base import AliasState, Platform
from apicanary.platform.marker import without_marker


class Router(Protocol):
    def apply(self, weight: float) -> float:
        """Give the canary ``weight`` percent of traffic; returns the share read back (%)."""
        ...

    def promote(self) -> None: ...

    def rollback(self) -> None: ...

    def observed(self) -> float:
        """The canary's share now in force on the platform (%)."""
        ...

    def describe(self) -> str: ...


class AliasChanged(PlatformError):
    """The alias points at versions this rollout does not move: someone else changed it."""


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=0.0, abs_tol=1e-6)


@dataclass
class AliasRouter:
    platform: Platform
    function: str
    alias: str
    stable: str
    canary: str
    # the alias description to write with a given share: the rollout's marker (lease)
    marker_for: Callable[[str, float], str] | None = None

    def apply(self, weight: float) -> float:
        share = weight / 100.0

        def description(current: str) -> str | None:
            return None if self.marker_for is None else self.marker_for(current, share)

        state = self._write(self.stable, self.canary if share > 0 else None, share, description)
        expected = self.canary if share > 0 else None
        if (
            state.primary != self.stable
            or state.canary != expected
            or not _close(state.weight, share)
        ):
            raise PlatformError(
                f"alias {self.function}:{self.alias} read back as primary {state.primary}, "
                f"canary {state.canary} at {state.weight:.4f}; wrote {self.stable} + "
                f"{self.canary} at {share:.4f}"
            )
        return state.weight * 100.0

    def promote(self) -> None:
        state = self._write(self.canary, None, 0.0, without_marker)
        if state.primary != self.canary or state.canary is not None:
            raise PlatformError(
                f"promotion of {self.function}:{self.alias} to {self.canary} read back as "
                f"primary {state.primary}, canary {state.canary}"
            )

    def rollback(self) -> None:
        state = self._write(self.stable, None, 0.0, without_marker)
        if state.primary != self.stable or state.canary is not None:
            raise PlatformError(
                f"rollback of {self.function}:{self.alias} to {self.stable} read back as "
                f"primary {state.primary}, canary {state.canary}"
            )

    def _write(
        self,
        primary: str,
        canary: str | None,
        weight: float,
        description: Callable[[str], str | None],
    ) -> AliasState:
        """Write the alias with the ``RevisionId`` just read. A concurrent change makes the
        write fail (``PreconditionFailedException``); it is re-read and written again only
        if the alias still points at this rollout's versions: anything else someone else
        did is never overwritten (:class:`AliasChanged`, the tick retries and says so)."""
        for attempt in range(2):
            current = self.platform.get_alias(self.function, self.alias)
            self._check_ours(current)
            try:
                return self.platform.write_alias(
                    self.function, self.alias, primary=primary, canary=canary, weight=weight,
                    expected_revision=current.revision_id,
                    description=description(current.description),
                )  # fmt: skip
            except AwsApiError as error:
                if error.code != "PreconditionFailedException" or attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _check_ours(self, current: AliasState) -> None:
        ours = (self.stable, self.canary)
        if current.primary not in ours or current.canary not in (None, self.canary):
            raise AliasChanged(
                f"alias {self.function}:{self.alias} was changed outside this rollout "
                f"(primary {current.primary}, canary {current.canary}; this rollout moves "
                f"{self.stable} → {self.canary}): not overwritten; abort the rollout or put "
                "the alias back"
            )

    def observed(self) -> float:
        state = self.platform.get_alias(self.function, self.alias)
        if state.primary == self.canary and state.canary is None:
            return 100.0
        if state.canary == self.canary:
            return state.weight * 100.0
        return 0.0

    def describe(self) -> str:
        return f"alias {self.function}:{self.alias} ({self.stable} → {self.canary})"


@dataclass
class StageCanaryRouter:
    platform: Platform
    api_id: str
    stage: str
    overrides: Mapping[str, str] = field(default_factory=dict)

    def apply(self, weight: float) -> float:
        state = self.platform.write_stage_canary(
            self.api_id, self.stage, percent=weight, overrides=self.overrides
        )
        if state.canary_percent is None or not _close(state.canary_percent, weight):
            raise PlatformError(
                f"stage {self.stage} canary read back at {state.canary_percent}%; wrote {weight}%"
            )
        missing = {k: v for k, v in self.overrides.items() if state.canary_overrides.get(k) != v}
        if missing:
            raise PlatformError(f"stage {self.stage} canary lost its overrides {missing}")
        return state.canary_percent

    def promote(self) -> None:
        state = self.platform.promote_stage_canary(self.api_id, self.stage)
        if state.canary_percent is not None:
            raise PlatformError(f"stage {self.stage} still has a canary after promotion")
        wrong = {k: v for k, v in self.overrides.items() if state.variables.get(k) != v}
        if wrong:
            raise PlatformError(f"stage {self.stage} variables after promotion miss {wrong}")

    def rollback(self) -> None:
        state = self.platform.remove_stage_canary(self.api_id, self.stage)
        if state.canary_percent is not None:
            raise PlatformError(f"stage {self.stage} still has a canary after removal")

    def observed(self) -> float:
        state = self.platform.get_stage(self.api_id, self.stage)
        return state.canary_percent or 0.0

    def describe(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in self.overrides.items())
        return f"stage {self.stage} canary ({shown})"


@dataclass
class BothRouter:
    """Alias weights and a stage canary at once: a request reaches the new version only if
    both layers pick it, so the effective share is their product (DESIGN §4, §6 item 10)."""

    alias: AliasRouter
    stage: StageCanaryRouter

    def apply(self, weight: float) -> float:
        # the same share on each layer: effective = w% of w%; shown to the user as such
        a = self.alias.apply(weight)
        s = self.stage.apply(weight)
        return a * s / 100.0

    def promote(self) -> None:
        self.alias.promote()
        self.stage.promote()

    def rollback(self) -> None:
        self.stage.rollback()
        self.alias.rollback()

    def observed(self) -> float:
        return self.alias.observed() * self.stage.observed() / 100.0

    def describe(self) -> str:
        return f"{self.alias.describe()} × {self.stage.describe()}"
