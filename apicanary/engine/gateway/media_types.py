"""An API's ``binaryMediaTypes``, compiled for per-request matching (sans I/O).

API Gateway REST decides "binary" by comparing a media type against the API's
``binaryMediaTypes`` list, whose entries may use wildcards: ``image/png``, ``image/*``,
``*/*`` (everything). Rules used here:

* Comparison is case-insensitive and ignores parameters (``text/plain; charset=utf-8`` is
  ``text/plain``).
* Wildcards are on the pattern side only: an ``Accept: */*`` request does not match
  ``image/png`` (it is not *asking* for binary).
* For a ``Accept`` header listing several types, only the first one counts (API Gateway
  content-type conversion: "honors only the first Accept media type").
* A request without ``Content-Type`` is treated as ``application/json``, API Gateway's default
  content type; so it is binary under ``*/*`` or ``application/*`` only. ``*/*`` matches
  everything, a missing ``Accept`` included.
* A ``*`` on the left of a type that is not ``*/*`` (``*/test``) is not a wildcard on AWS,
  and such an entry matches nothing, not even an ``Accept: */test`` (AWS-recorded, see
  docs/aws-semantics.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "DEFAULT_CONTENT_TYPE",
    "NO_BINARY_MEDIA_TYPES",
    "BinaryMediaTypes",
    "first_media_type",
]

DEFAULT_CONTENT_TYPE = "application/json"


def first_media_type(header: str | None) -> str | None:
    """The bare, lower-cased media type of a ``Content-Type``/``Accept`` value, first entry."""
    if not header:
        return None
    media = header.partition(",")[0].partition(";")[0].strip().lower()
    return media or None


@dataclass(frozen=True, slots=True)
class BinaryMediaTypes:
    """A compiled ``binaryMediaTypes`` list; build once per API (or deployment)."""

    everything: bool
    exact: frozenset[str]
    prefixes: tuple[str, ...]  # "image/" for "image/*"

    @classmethod
    def of(cls, patterns: Iterable[str]) -> BinaryMediaTypes:
        """Compile API Gateway ``binaryMediaTypes`` entries (``~1`` is accepted for ``/``)."""
        everything = False
        exact: set[str] = set()
        prefixes: list[str] = []
        for raw in patterns:
            pattern = raw.replace("~1", "/").strip().lower()
            media = first_media_type(pattern)
            if media is None:
                continue
            kind, _, sub = media.partition("/")
            if kind == "*" and sub in ("*", ""):
                everything = True
            elif sub == "*":
                prefixes.append(kind + "/")
            elif kind == "*":
                continue  # AWS-recorded: not a wildcard, and it matches nothing
            else:
                exact.add(media)
        return cls(everything, frozenset(exact), tuple(prefixes))

    @property
    def empty(self) -> bool:
        """True when nothing is binary (the common case: skip all work)."""
        return not (self.everything or self.exact or self.prefixes)

    def matches(self, media_type: str | None) -> bool:
        """Does a bare, lower-cased media type (see :func:`first_media_type`) match?"""
        if self.everything:
            return True
        if media_type is None:
            return False
        if media_type in self.exact:
            return True
        return any(media_type.startswith(prefix) for prefix in self.prefixes)

    def matches_header(self, header: str | None, *, default: str | None = None) -> bool:
        """Match the first media type of a header value; ``default`` when the header is absent."""
        media = first_media_type(header)
        if media is None:
            media = default
        return self.matches(media)


NO_BINARY_MEDIA_TYPES = BinaryMediaTypes.of(())
