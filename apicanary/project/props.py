"""One resource's properties, read resolved, each error naming where the value was written.

A SAM resource's properties are its own merged over its ``Globals`` section
(:func:`~apicanary.project.sam_globals.merge_globals`); a CloudFormation resource has no
Globals, so its :class:`Props` are its own properties only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apicanary.project.fields import child, fail
from apicanary.project.intrinsics import NO_VALUE, Resolver
from apicanary.project.sam_globals import merge_globals


class Props:
    """One resource's properties after Globals, read resolved, with the right error path."""

    def __init__(
        self,
        resolver: Resolver,
        base: str,
        local: Mapping[str, Any],
        global_props: Mapping[str, Any] | None = None,
        global_base: str = "",
    ) -> None:
        self._resolver = resolver
        self._base = base
        self._local = local
        self._globals = global_props or {}
        self._global_base = global_base
        self.merged = merge_globals(self._globals, local)

    def path(self, key: str) -> str:
        """Where ``key`` was written: the resource, or Globals if only there."""
        if key not in self._local and key in self._globals:
            return child(self._global_base, key)
        return child(self._base, key)

    def get(self, key: str) -> Any:
        """The resolved value of ``key``, or None when absent (or ``AWS::NoValue``)."""
        if key not in self.merged:
            return None
        value = self._resolver.resolve(self.merged[key], self.path(key))
        return None if value is NO_VALUE else value

    def require(self, key: str, why: str = "") -> Any:
        """Like :meth:`get`, but a missing value is an error."""
        value = self.get(key)
        if value is None:
            raise fail(self.path(key), f"is required{why}")
        return value
