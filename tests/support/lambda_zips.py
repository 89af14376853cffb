"""Build in-memory Lambda deployment packages for tests."""

from __future__ import annotations

import io
import zipfile


def zip_of(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def handler_zip(body: str) -> bytes:
    """A package whose ``app.handler`` has ``body`` as its function body."""
    source = "def handler(event, context):\n" + "".join(
        f"    {line}\n" for line in body.splitlines()
    )
    return zip_of({"app.py": source})
