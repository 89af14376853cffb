"""http-api: a notes service written with AWS Lambda Powertools' HTTP API resolver.

    GET  /notes/{note_id}   the note, or 404
    POST /notes             {"text": str} -> 201 + Set-Cookie last-note=<id>
    anything else           the $default route: 404 from the resolver

Every response carries ``x-app-version`` (the Lambda version that served it).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import BadRequestError, NotFoundError
from aws_lambda_powertools.shared.cookies import Cookie

app = APIGatewayHttpResolver()

NOTES: dict[str, dict[str, Any]] = {"n1": {"id": "n1", "text": "hello"}}


def _version() -> str:
    return getattr(app.lambda_context, "function_version", None) or "$LATEST"


@app.get("/notes/<note_id>")
def get_note(note_id: str) -> Response[Any]:
    note = NOTES.get(note_id)
    if note is None:
        raise NotFoundError(f"no note {note_id}")
    owner = (app.current_event.stage_variables or {}).get("owner")
    return Response(
        200,
        content_types.APPLICATION_JSON,
        {**note, "owner": owner, "route": app.current_event.route_key},
        headers={"x-app-version": _version()},
    )


@app.post("/notes")
def create_note() -> Response[Any]:
    body = app.current_event.json_body or {}
    text = body.get("text")
    if not isinstance(text, str) or not text:
        raise BadRequestError("text: a non-empty string is required")
    note_id = f"n{len(NOTES) + 1}"
    NOTES[note_id] = {"id": note_id, "text": text}
    return Response(
        201,
        content_types.APPLICATION_JSON,
        NOTES[note_id],
        headers={"x-app-version": _version()},
        cookies=[Cookie(name="last-note", value=note_id)],
    )


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
