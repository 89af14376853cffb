"""Did-you-mean suggestions for misspelt names in user input."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like ``word`` (case-insensitive; else the only one it begins), or None."""
    by_lower = {c.lower(): c for c in candidates}
    lowered = word.lower()
    found = difflib.get_close_matches(lowered, list(by_lower), n=1, cutoff=0.6)
    if found:
        return by_lower[found[0]]
    starts = [c for low, c in by_lower.items() if lowered and low.startswith(lowered)]
    return starts[0] if len(starts) == 1 else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest candidate, or ``""``."""
    match = closest(word, candidates)
    return f" (did you mean {match!r}?)" if match is not None and match != word else ""
