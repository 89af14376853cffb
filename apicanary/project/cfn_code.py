"""Where an ``AWS::Lambda::Function``'s code is on disk, as the directory the engine runs.

CloudFormation keeps code in S3 or inline; the local engine needs it on this machine. Looked
for in this order (the first that applies wins):

1. ``Code.ZipFile``: the inline source, written as ``index.py`` (what Lambda does for Python);
2. ``Metadata: aws:asset:path`` (what ``cdk synth`` writes, with ``aws:asset:property: Code``):
   a directory or zip relative to the template's directory (the cloud assembly, ``cdk.out``);
3. ``Code.S3Key``: the asset whose ``objectKey`` it is in the stack's ``<stack>.assets.json``
   (CDK without asset metadata), else a zip or directory of that name next to the template
   (the packaged zip, by its key or the key's last segment);
4. ``Code`` as a plain string: a local directory or zip (``aws cloudformation package`` input).

A zip or inline source is unpacked once into a content-addressed directory of the user's cache
(``$XDG_CACHE_HOME/apicanary/code``, else ``~/.cache/apicanary/code``): the same bytes give the
same directory, so an unchanged function stays unchanged across restarts, and a new zip gives a
new directory, which the engine publishes as a new version. Zip members must stay inside the
package and unpack to at most Lambda's 250 MB.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from apicanary.project.fields import as_mapping, as_str, child, fail, show
from apicanary.project.props import Props

ASSET_PATH: Final = "aws:asset:path"
ASSET_PROPERTY: Final = "aws:asset:property"
INLINE_FILE: Final = "index.py"
MAX_UNZIPPED_BYTES: Final = 250 * 1024 * 1024  # Lambda's unzipped deployment package quota


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/apicanary/code`` (``~/.cache`` when the variable is unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "apicanary" / "code"


class CodeLocator:
    """Finds functions' code for one template at ``template_path``, unpacking into ``cache``."""

    def __init__(self, template_path: Path, cache: Path | None = None) -> None:
        self.root = template_path.parent
        self.cache = cache if cache is not None else default_cache_dir()
        self._assets = _asset_sources(template_path)

    def code_dir(self, lid: str, props: Props, metadata: Mapping[str, Any]) -> Path:
        """The directory holding function ``lid``'s code (see the module docstring)."""
        path = props.path("Code")
        code = props.require("Code", ": the local engine runs code it finds on disk")
        if isinstance(code, str):
            return self._local(code, path)
        fields = as_mapping(code, path)
        if "ZipFile" in fields:
            source = as_str(fields["ZipFile"], child(path, "ZipFile"))
            return self._unpacked("inline", source.encode(), lambda d: _write_inline(d, source))
        if "ImageUri" in fields:
            raise fail(child(path, "ImageUri"), "container images are not run locally")
        asset = metadata.get(ASSET_PATH)
        if isinstance(asset, str) and metadata.get(ASSET_PROPERTY, "Code") == "Code":
            return self._local(asset, f"Resources.{lid}.Metadata.{ASSET_PATH}")
        key = fields.get("S3Key")
        if isinstance(key, str):
            if key in self._assets:
                return self._local(self._assets[key], child(path, "S3Key"))
            for candidate in dict.fromkeys([key, key.rsplit("/", 1)[-1]]):
                if (self.root / candidate).exists():
                    return self._local(candidate, child(path, "S3Key"))
            raise fail(
                child(path, "S3Key"),
                f"{show(key)} is not next to the template (looked in {self.root}): the local "
                "engine does not read S3; put the zip there, or use Code.ZipFile or a local path",
            )
        raise fail(path, f"{show(code)} names no code the local engine can find on disk")

    def _local(self, relative: str, path: str) -> Path:
        target = (self.root / relative).resolve()
        if target.is_dir():
            return target
        if not target.is_file():
            raise fail(path, f"{show(relative)} does not exist ({target})")
        if not zipfile.is_zipfile(target):
            raise fail(path, f"{show(relative)} is neither a directory nor a zip ({target})")
        data = target.read_bytes()
        return self._unpacked("zip", data, lambda d: _extract(target, d, path))

    def _unpacked(self, kind: str, content: bytes, fill: Any) -> Path:
        """The cache directory for ``content``, filled once by ``fill(directory)``."""
        final = self.cache / f"{kind}-{hashlib.sha256(content).hexdigest()[:32]}"
        if final.is_dir():
            return final
        self.cache.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=self.cache))
        try:
            fill(staging)
            try:
                staging.rename(final)
            except OSError:  # another process unpacked the same content first
                if not final.is_dir():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return final


def _write_inline(directory: Path, source: str) -> None:
    (directory / INLINE_FILE).write_text(source, encoding="utf-8")


def _extract(archive: Path, directory: Path, path: str) -> None:
    with zipfile.ZipFile(archive) as package:
        total = 0
        for member in package.infolist():
            name = Path(member.filename)
            if name.is_absolute() or ".." in name.parts:
                raise fail(path, f"zip member {show(member.filename)} would unpack outside it")
            total += member.file_size
        if total > MAX_UNZIPPED_BYTES:
            raise fail(
                path,
                f"unzips to {total} bytes: Lambda's limit is {MAX_UNZIPPED_BYTES} bytes (250 MB)",
            )
        package.extractall(directory)


def _asset_sources(template_path: Path) -> dict[str, str]:
    """``objectKey → source path`` of the file assets in the stack's ``*.assets.json``."""
    name = template_path.name
    if not name.endswith(".template.json"):
        return {}
    manifest = template_path.with_name(name.removesuffix(".template.json") + ".assets.json")
    try:
        document = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    sources: dict[str, str] = {}
    files = document.get("files") if isinstance(document, dict) else None
    for entry in (files or {}).values():
        source = (entry.get("source") or {}).get("path") if isinstance(entry, dict) else None
        destinations = entry.get("destinations") if isinstance(entry, dict) else None
        if not isinstance(source, str) or not isinstance(destinations, dict):
            continue
        for destination in destinations.values():
            key = destination.get("objectKey") if isinstance(destination, dict) else None
            if isinstance(key, str):
                sources[key] = source
    return sources
