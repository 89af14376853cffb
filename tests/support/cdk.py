"""What ``cdk synth`` changes in a cloud assembly when a Lambda asset's source changes.

Tests cannot run the CDK (it needs Node). Re-synthesising the example after an edit of its
``lambda/`` directory changes exactly this (seen by diffing two real ``cdk synth`` outputs):
a new ``asset.<hash>`` directory, that hash in the function's ``S3Key`` and ``aws:asset:path``
and in ``<stack>.assets.json``, and a new suffix on the ``<Function>CurrentVersion…`` logical id
(CDK hashes the function's configuration into it; here an MD5 of the asset hash stands in).
:func:`cdk_fingerprint` is CDK's own asset hash (``FileSystem.fingerprint`` with default
options), checked against the committed example.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path


def cdk_fingerprint(directory: Path) -> str:
    """The asset hash CDK gives a directory source (SHA-256 over paths and file contents)."""
    digest = hashlib.sha256()

    def field(header: str, value: str) -> None:
        digest.update(b"\x01" + header.encode() + b"\x02" + value.encode() + b"\x03")

    def content(file: Path) -> str:
        data = file.read_bytes()
        if b"\0" not in data[:8192]:  # text: CRLF counts as LF
            data = data.replace(b"\r\n", b"\n")
        return f"{len(data)}:{hashlib.sha256(data).hexdigest()}"

    def walk(current: Path) -> None:
        for entry in sorted(current.iterdir(), key=lambda p: p.name):
            if entry.is_dir():
                walk(entry)
            else:
                field("file:" + entry.relative_to(directory).as_posix(), content(entry))

    field("options.extra", "")
    field("options.follow", "external")
    walk(directory)
    return digest.hexdigest()


def resynth_function(assembly: Path, stack: str, function: str, source: Path) -> str:
    """Rewrite ``assembly`` as ``cdk synth`` would after ``source`` (the code of the function
    with logical id ``function``) changed; returns the new asset hash."""
    template_path = assembly / f"{stack}.template.json"
    assets_path = assembly / f"{stack}.assets.json"
    template = json.loads(template_path.read_text())
    old = template["Resources"][function]["Metadata"]["aws:asset:path"].removeprefix("asset.")
    new = cdk_fingerprint(source)
    shutil.copytree(source, assembly / f"asset.{new}", ignore=shutil.ignore_patterns("__pycache__"))
    text = template_path.read_text().replace(old, new)
    for lid, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Lambda::Version" and lid.startswith(function[:-8]):
            renamed = lid[:-32] + hashlib.md5(new.encode()).hexdigest()
            text = text.replace(lid, renamed)
    template_path.write_text(text)
    assets_path.write_text(assets_path.read_text().replace(old, new))
    return new
