"""Where a CloudFormation function's code is found: inline, CDK assets, packaged zips, paths."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from apicanary.errors import TemplateError
from apicanary.project.loader import load_project
from apicanary.project.specs import FunctionSpec

HANDLER = "def handler(event, context):\n    return {'statusCode': 200}\n"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "apicanary" / "code"


def function(
    root: Path,
    code: Any,
    *,
    metadata: dict[str, Any] | None = None,
    handler: str = "app.handler",
    name: str = "template.json",
) -> FunctionSpec:
    resource: dict[str, Any] = {
        "Type": "AWS::Lambda::Function",
        "Properties": {"Runtime": "python3.12", "Handler": handler, "Code": code},
    }
    if metadata is not None:
        resource["Metadata"] = metadata
    root.mkdir(parents=True, exist_ok=True)
    path = root / name
    path.write_text(json.dumps({"Resources": {"Fn": resource}}))
    (spec,) = load_project(path).functions
    return spec


def make_zip(path: Path, files: dict[str, str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def test_inline_zipfile_becomes_index_py(tmp_path: Path, cache: Path) -> None:
    spec = function(tmp_path, {"ZipFile": HANDLER}, handler="index.handler")
    assert spec.code_dir.parent == cache and spec.handler == "index.handler"
    assert (spec.code_dir / "index.py").read_text() == HANDLER
    again = function(tmp_path / "other", {"ZipFile": HANDLER}, handler="index.handler")
    assert again.code_dir == spec.code_dir  # same source, same directory: no new version
    changed = function(tmp_path / "third", {"ZipFile": HANDLER + "# v2\n"})
    assert changed.code_dir != spec.code_dir


def test_cdk_asset_metadata_directory_and_zip(tmp_path: Path, cache: Path) -> None:
    assembly = tmp_path / "cdk.out"
    (assembly / "asset.abc").mkdir(parents=True)
    (assembly / "asset.abc" / "app.py").write_text(HANDLER)
    s3 = {"S3Bucket": {"Fn::Sub": "cdk-hnb659fds-assets-${AWS::AccountId}"}, "S3Key": "abc.zip"}
    metadata = {"aws:asset:path": "asset.abc", "aws:asset:property": "Code"}
    assert function(assembly, s3, metadata=metadata).code_dir == assembly / "asset.abc"

    make_zip(assembly / "asset.def.zip", {"app.py": HANDLER, "lib/util.py": "X = 1\n"})
    zipped = function(assembly, s3, metadata={"aws:asset:path": "asset.def.zip"})
    assert zipped.code_dir.parent == cache
    assert (zipped.code_dir / "lib" / "util.py").read_text() == "X = 1\n"


def test_cdk_assets_manifest_without_metadata(tmp_path: Path, cache: Path) -> None:
    """`cdk synth --no-asset-metadata` (and CDK's integ snapshots) keep only the S3Key."""
    assembly = tmp_path / "cdk.out"
    (assembly / "asset.f00d").mkdir(parents=True)
    (assembly / "asset.f00d" / "app.py").write_text(HANDLER)
    (assembly / "Stack.assets.json").write_text(json.dumps({
        "version": "52.0.0",
        "files": {"f00d": {
            "source": {"path": "asset.f00d", "packaging": "zip"},
            "destinations": {"current": {"bucketName": "b", "objectKey": "f00d.zip"}},
        }},
    }))  # fmt: skip
    spec = function(assembly, {"S3Bucket": "b", "S3Key": "f00d.zip"}, name="Stack.template.json")
    assert spec.code_dir == assembly / "asset.f00d"


def test_packaged_zip_next_to_the_template(tmp_path: Path, cache: Path) -> None:
    make_zip(tmp_path / "build" / "orders.zip", {"app.py": HANDLER})
    by_key = function(tmp_path, {"S3Bucket": "b", "S3Key": "build/orders.zip"})
    assert (by_key.code_dir / "app.py").read_text() == HANDLER
    make_zip(tmp_path / "orders-v2.zip", {"app.py": HANDLER + "# v2\n"})
    by_name = function(tmp_path, {"S3Bucket": "b", "S3Key": "releases/2024/orders-v2.zip"})
    assert by_name.code_dir != by_key.code_dir
    assert (by_name.code_dir / "app.py").read_text().endswith("# v2\n")


def test_code_as_a_local_path(tmp_path: Path, cache: Path) -> None:
    (tmp_path / "src").mkdir()
    assert function(tmp_path, "src/").code_dir == tmp_path / "src"
    make_zip(tmp_path / "fn.zip", {"app.py": HANDLER})
    assert (function(tmp_path, "./fn.zip").code_dir / "app.py").is_file()


@pytest.mark.parametrize(
    ("code", "files", "message"),
    [
        (
            {"S3Bucket": "b", "S3Key": "missing.zip"},
            {},
            'template.json: Resources.Fn.Properties.Code.S3Key: "missing.zip" is not next to '
            "the template (looked in",
        ),
        ("nope/", {}, 'template.json: Resources.Fn.Properties.Code: "nope/" does not exist'),
        (
            "notes.txt",
            {"notes.txt": "hello"},
            'template.json: Resources.Fn.Properties.Code: "notes.txt" is neither a directory '
            "nor a zip",
        ),
        (
            "evil.zip",
            {"evil.zip": None},
            'template.json: Resources.Fn.Properties.Code: zip member "../escape.py" would unpack '
            "outside it",
        ),
        (
            {"ImageUri": "123.dkr.ecr/x:1"},
            {},
            "template.json: Resources.Fn.Properties.Code.ImageUri: container images are not run",
        ),
        (
            {"S3Bucket": "b"},
            {},
            'template.json: Resources.Fn.Properties.Code: {"S3Bucket": "b"} names no code the '
            "local engine can find on disk",
        ),
    ],
)
def test_code_that_cannot_be_found(
    tmp_path: Path, cache: Path, code: Any, files: dict[str, str | None], message: str
) -> None:
    for name, text in files.items():
        if text is None:
            make_zip(tmp_path / name, {"../escape.py": HANDLER})
        else:
            (tmp_path / name).write_text(text)
    with pytest.raises(TemplateError) as info:
        function(tmp_path, code)
    assert str(info.value).startswith(message), str(info.value)
    assert not (tmp_path / "escape.py").exists()
    assert list(cache.glob("*")) == []  # a failed unpack leaves nothing behind
