"""http-api-cdk: a tiny notes service behind an HTTP API (API Gateway v2, payload format 2.0).

Standard library only. Routes, on the event's ``routeKey``::

    GET /notes/{note_id}   the note, or 404
    POST /notes            {"text": str} -> 201 with the new note
    $default               GET /health -> {"status": "ok"}; anything else 404

Every response carries ``x-app-version``: the Lambda version that served it.
"""

import base64
import json
import os

SERVICE_NAME = os.environ.get("SERVICE_NAME", "notes-cdk")
NOTES = {"n1": {"id": "n1", "text": "hello"}}


def handler(event, context):
    version = getattr(context, "function_version", None) or "$LATEST"
    route = event.get("routeKey")
    if route == "GET /notes/{note_id}":
        note = NOTES.get((event.get("pathParameters") or {}).get("note_id", ""))
        if note is None:
            return respond(404, {"message": "no such note"}, version)
        return respond(200, note, version)
    if route == "POST /notes":
        body = event.get("body") or ""
        if event.get("isBase64Encoded"):
            body = base64.b64decode(body).decode()
        text = (json.loads(body) if body else {}).get("text")
        if not isinstance(text, str) or not text:
            return respond(400, {"message": "text: a non-empty string is required"}, version)
        note_id = f"n{len(NOTES) + 1}"
        NOTES[note_id] = {"id": note_id, "text": text}
        return respond(201, NOTES[note_id], version)
    if event.get("requestContext", {}).get("http", {}).get("path") == "/health":
        return respond(200, {"status": "ok", "service": SERVICE_NAME}, version)
    return respond(404, {"message": f"no route for {event.get('rawPath')}"}, version)


def respond(status, body, version):
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "x-app-version": version},
        "body": json.dumps(body),
    }
