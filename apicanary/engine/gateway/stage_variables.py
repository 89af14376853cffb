"""``${stageVariables.x}`` in an integration's target, for REST and HTTP APIs alike."""

from __future__ import annotations

import re
from collections.abc import Mapping

_STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}")


def substitute(template: str, variables: Mapping[str, str]) -> str | None:
    """``template`` with each stage variable replaced; ``None`` when one is missing or the
    result is empty (API Gateway then answers 500)."""
    missing = False

    def replace(match: re.Match[str]) -> str:
        nonlocal missing
        value = variables.get(match.group(1))
        if value is None:
            missing = True
            return ""
        return value

    result = _STAGE_VARIABLE.sub(replace, template)
    return None if missing or not result else result
