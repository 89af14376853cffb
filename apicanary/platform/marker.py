"""The rollout marker: a rollout's state recorded on the alias itself, in its ``Description``.

A rollout on AWS must outlive the machine that started it. Besides apicanary's own journal,
every traffic write of the controller also writes a compact marker into the alias
``Description`` (``write_alias(..., description=with_marker(old, marker))``), so that anyone
with read access to the function can tell that a half-shifted alias belongs to a rollout,
which one, and until when somebody promised to watch it.

Format (version 1), one line of ``key=value`` tokens separated by single spaces::

    apicanary:v1 id=<rollout-id> to=<version> from=<version> step=<i> w=<weight> exp=<unix-ts>
                 [m=alias|stage|both] [api=<rest-api-id>] [st=<stage>]

* ``id``: the rollout id, ``[A-Za-z0-9._-]{1,64}``.
* ``to`` / ``from``: the canary (new) and stable (old) versions, ``[0-9]+`` or ``$LATEST``.
* ``step``: the index of the strategy step being run (≥ 0).
* ``w``: the canary share last written, 0 to 1, at most 6 decimals (``0.1``, ``0.333333``).
* ``exp``: the deadline, integer Unix seconds: the controller renews it on every tick
  (typically now + a few tick intervals + CloudWatch's delay); past it nobody is watching.
* ``m``, ``api``, ``st`` (optional): the traffic mode, and the REST API and stage of a stage
  canary, so a later reader can find the stage too.

Unknown keys are ignored when decoding (a later version may add some); a missing required key
or an unreadable value is an error. The marker is appended to the user's own description
after ``" | "`` and the user text is shortened if the whole would exceed Lambda's 256
characters; :func:`without_marker` gives the user text back when the rollout ends.

**A rollout nobody watches.** If the machine running ``apicanary rollout start --backend aws``
dies, the alias stays where the last write put it (``w`` to ``to``, the rest to ``from``) — AWS
never moves it by itself. Any later ``apicanary rollout status|resume|abort --backend aws``
reads the marker (:func:`read_marker`); once ``exp`` has passed the rollout is *abandoned*, and
the controller's policy is to roll it back (primary ``from``, no weights, marker removed) unless
the user resumes it explicitly. This module only encodes, decodes and reads; the policy lives
in the controller.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Protocol

from apicanary.errors import PlatformError
from apicanary.platform.base import Mode

PREFIX = "apicanary:v1"
SEPARATOR = " | "
MAX_DESCRIPTION = 256  # Lambda's limit on an alias Description

_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_VERSION = re.compile(r"[0-9]{1,20}|\$LATEST")
_NAME = re.compile(r"[A-Za-z0-9_-]{1,128}")
_MODES = tuple(Mode)
_REQUIRED = ("id", "to", "from", "step", "w", "exp")


@dataclass(frozen=True, slots=True)
class Marker:
    """One rollout's state as recorded on the alias. See the module docstring for fields."""

    rollout_id: str
    to_version: str
    from_version: str
    step: int
    weight: float
    expires_at: int
    mode: str = "alias"
    api_id: str | None = None
    stage: str | None = None

    def expired(self, now: float) -> bool:
        """True when the deadline has passed: nobody has renewed it, the rollout is abandoned."""
        return now > self.expires_at


def _check(marker: Marker) -> None:
    problems: list[str] = []
    if not _ID.fullmatch(marker.rollout_id):
        problems.append(f"rollout id {marker.rollout_id!r} must match [A-Za-z0-9._-]{{1,64}}")
    for field, value in (("to", marker.to_version), ("from", marker.from_version)):
        if not _VERSION.fullmatch(value):
            problems.append(f"{field} version {value!r} must be a number or $LATEST")
    if marker.step < 0:
        problems.append(f"step {marker.step} must be >= 0")
    if not (math.isfinite(marker.weight) and 0.0 <= marker.weight <= 1.0):
        problems.append(f"weight {marker.weight} must be between 0 and 1")
    if marker.expires_at < 0:
        problems.append(f"expiry {marker.expires_at} must be a Unix time >= 0")
    if marker.mode not in _MODES:
        problems.append(f"mode {marker.mode!r} must be one of {', '.join(_MODES)}")
    for field, name in (("api", marker.api_id), ("st", marker.stage)):
        if name is not None and not _NAME.fullmatch(name):
            problems.append(f"{field} {name!r} must match [A-Za-z0-9_-]{{1,128}}")
    if problems:
        raise ValueError("invalid rollout marker: " + "; ".join(problems))


def _weight_text(weight: float) -> str:
    text = f"{weight:.6f}".rstrip("0").rstrip(".")
    return text or "0"


def encode(marker: Marker) -> str:
    """The marker text (no user description). Raises ``ValueError`` on an invalid field."""
    _check(marker)
    parts = [
        PREFIX,
        f"id={marker.rollout_id}",
        f"to={marker.to_version}",
        f"from={marker.from_version}",
        f"step={marker.step}",
        f"w={_weight_text(marker.weight)}",
        f"exp={marker.expires_at}",
    ]
    if marker.mode != "alias":
        parts.append(f"m={marker.mode}")
    if marker.api_id is not None:
        parts.append(f"api={marker.api_id}")
    if marker.stage is not None:
        parts.append(f"st={marker.stage}")
    return " ".join(parts)


def _split(description: str) -> tuple[str, str | None]:
    """``(user text, marker text or None)``."""
    at = description.find(PREFIX)
    if at < 0:
        return description, None
    user = description[:at]
    if user.endswith(SEPARATOR):
        user = user[: -len(SEPARATOR)]
    return user.rstrip(), description[at:]


def decode(description: str) -> Marker | None:
    """The marker in an alias description; ``None`` if it has none.

    Raises ``ValueError`` naming the problem when a marker is present but unreadable.
    """
    _, text = _split(description)
    if text is None:
        return None
    tokens = text.split()
    if tokens[0] != PREFIX:
        raise ValueError(f"rollout marker {text!r} does not start with {PREFIX!r}")
    fields: dict[str, str] = {}
    for token in tokens[1:]:
        key, eq, value = token.partition("=")
        if not eq:
            raise ValueError(f"rollout marker token {token!r} is not key=value")
        fields[key] = value
    missing = [key for key in _REQUIRED if key not in fields]
    if missing:
        raise ValueError(f"rollout marker {text!r} lacks {', '.join(missing)}")
    try:
        marker = Marker(
            rollout_id=fields["id"],
            to_version=fields["to"],
            from_version=fields["from"],
            step=int(fields["step"]),
            weight=float(fields["w"]),
            expires_at=int(fields["exp"]),
            mode=fields.get("m", "alias"),
            api_id=fields.get("api"),
            stage=fields.get("st"),
        )
    except ValueError as exc:
        raise ValueError(f"rollout marker {text!r} has an unreadable value: {exc}") from None
    _check(marker)
    return marker


def with_marker(description: str, marker: Marker) -> str:
    """``description`` with its marker replaced by ``marker``, within 256 characters.

    The user's text is kept before the marker and shortened (never the marker) if needed.
    """
    user, _ = _split(description)
    text = encode(marker)
    if not user:
        return text
    room = MAX_DESCRIPTION - len(text) - len(SEPARATOR)
    if room <= 0:
        return text
    return f"{user[:room].rstrip()}{SEPARATOR}{text}"


def without_marker(description: str) -> str:
    """``description`` with any marker removed: the user's own text."""
    return _split(description)[0]


class _AliasReader(Protocol):
    def get_alias(self, function: str, alias: str) -> _HasDescription: ...


class _HasDescription(Protocol):
    @property
    def description(self) -> str: ...


def read_marker(platform: _AliasReader, function: str, alias: str) -> Marker | None:
    """The marker on ``function:alias`` (any :class:`~apicanary.platform.base.Platform`).

    ``None`` when the alias carries none. An unreadable marker raises ``PlatformError``
    quoting it, since guessing a half-shifted alias's state would be worse.
    """
    description = platform.get_alias(function, alias).description
    try:
        return decode(description)
    except ValueError as exc:
        raise PlatformError(
            f"alias {function}:{alias} carries an unreadable rollout marker: {exc}",
            hint="inspect it with `aws lambda get-alias`; fix or clear the Description",
        ) from None


__all__ = [
    "MAX_DESCRIPTION",
    "PREFIX",
    "Marker",
    "decode",
    "encode",
    "read_marker",
    "with_marker",
    "without_marker",
]
