"""``--compare-bodies``: the sample sent to the baseline, the canary and the baseline again.

Runs after the rollout has decided, on the three versions published for it alone (see
:mod:`.versions`): the alias is pointed at each in turn and the whole sample is sent through
the gateway, baseline first, canary second, baseline again last (the order
:mod:`.bodies` relies on to call time-dependent fields noise).
"""

from __future__ import annotations

from collections.abc import Sequence

from apicanary.engine.engine import Engine
from apicanary.local.rehearse.bodies import Comparison, Response
from apicanary.local.rehearse.session import Answer, Sender
from apicanary.local.rehearse.traffic import TrafficRequest
from apicanary.local.rehearse.versions import pin


async def answer_three_times(
    engine: Engine,
    sender: Sender,
    function: str,
    alias: str,
    versions: tuple[str, str, str],
    sample: Sequence[TrafficRequest],
) -> list[Comparison]:
    """Each request of ``sample`` answered by ``versions`` (baseline, baseline again, canary)."""
    baseline, baseline_again, canary = versions
    passes: dict[str, list[Response]] = {}
    for version in (baseline, canary, baseline_again):
        pin(engine, function, alias, version)
        passes[version] = [_response(await sender.send(request)) for request in sample]
    return [
        Comparison(
            route=request.route or request.path,
            request=request.describe(),
            baseline=passes[baseline][index],
            canary=passes[canary][index],
            baseline_again=passes[baseline_again][index],
        )
        for index, request in enumerate(sample)
    ]


def _response(answer: Answer) -> Response:
    return Response(answer.reply.status, answer.content_type, answer.reply.body)
