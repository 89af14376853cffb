"""``apicanary rehearse``: would this release, on this traffic, have been rolled back?

The release (the working tree) against its baseline (a git revision, a directory, the live
version), on recorded or synthetic traffic, under a virtual clock, through the real gateway,
strategy and analysis; with a differential report per route. Modules, in the order a
rehearsal uses them: :mod:`.baseline` (with :mod:`.git` and :mod:`.live`), :mod:`.plan`
(:mod:`.sources`, :mod:`.placement`, :mod:`.synthetic`, :mod:`.values`, :mod:`.traffic`),
:mod:`.versions`, :mod:`.session`, :mod:`.run`, :mod:`.compare`, :mod:`.bodies`,
:mod:`.report`, :mod:`.html`.
"""

from apicanary.local.rehearse.run import RehearsalRequest, rehearse

__all__ = ["RehearsalRequest", "rehearse"]
