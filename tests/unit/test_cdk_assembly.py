"""CDK cloud assemblies: picking the stack, nested stages, the example's committed cdk.out."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from apicanary.cli.template_options import resolve_template
from apicanary.errors import BadInputError, TemplateError
from apicanary.project.cdk import stack_template, stacks
from apicanary.project.loader import load_project, template_file
from tests.support.cdk import cdk_fingerprint, resynth_function

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "orders-cdk"


def stack_artifact(template: str, **extra: Any) -> dict[str, Any]:
    return {"type": "aws:cloudformation:stack", "properties": {"templateFile": template}, **extra}


def assembly(root: Path, artifacts: dict[str, Any]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "manifest.json").write_text(json.dumps({"version": "55.0.0", "artifacts": artifacts}))
    for artifact in artifacts.values():
        template = artifact.get("properties", {}).get("templateFile")
        if template:
            (root / template).write_text('{"Resources": {}}')
    return root


def test_the_example_has_one_stack() -> None:
    (stack,) = stacks(EXAMPLE / "cdk.out")
    assert (stack.artifact_id, stack.display_name, stack.stack_name) == ("OrdersCdkStack",) * 3
    assert (
        stack_template(EXAMPLE / "cdk.out") == EXAMPLE / "cdk.out" / "OrdersCdkStack.template.json"
    )
    assert template_file(EXAMPLE) == stack.template  # the app directory finds its cdk.out


def test_the_example_assets_are_named_by_cdk_hashes() -> None:
    """The committed asset directory is CDK's fingerprint of lambda/, so the re-synth helper the
    functional tests use names new assets exactly as `cdk synth` does."""
    (asset,) = (EXAMPLE / "cdk.out").glob("asset.*")
    assert asset.name == "asset." + cdk_fingerprint(EXAMPLE / "lambda")
    assert (asset / "app.py").read_text() == (EXAMPLE / "lambda" / "app.py").read_text()


def test_resynth_publishes_a_new_asset(tmp_path: Path) -> None:
    project = tmp_path / "orders-cdk"
    shutil.copytree(EXAMPLE, project)
    before = load_project(project / "cdk.out").functions[0]
    source = project / "lambda" / "app.py"
    source.write_text(source.read_text() + "\n# v2\n")
    new = resynth_function(project / "cdk.out", "OrdersCdkStack", before.logical_id, source.parent)
    after = load_project(project / "cdk.out").functions[0]
    assert after.code_dir == project / "cdk.out" / f"asset.{new}" != before.code_dir
    assert after.auto_publish_alias == "live"  # the alias follows the renamed Version resource


def test_several_stacks_need_a_name(tmp_path: Path) -> None:
    root = assembly(tmp_path / "cdk.out", {
        "Api": stack_artifact("Api.template.json", displayName="Api"),
        "Data": stack_artifact("Data.template.json", properties={
            "templateFile": "Data.template.json", "stackName": "prod-data"}),
        "Api.assets": {"type": "cdk:asset-manifest", "properties": {"file": "Api.assets.json"}},
    })  # fmt: skip
    with pytest.raises(TemplateError) as info:
        stack_template(root)
    assert str(info.value) == f"{root}: the cloud assembly has 2 stacks (Api, Data): say which"
    assert info.value.hint == "pass --stack Api"
    assert stack_template(root, "Api") == root / "Api.template.json"
    assert stack_template(root, "prod-data") == root / "Data.template.json"  # CloudFormation name
    with pytest.raises(TemplateError, match=r"--stack 'Nope' is not a stack of .* \(stacks: Api"):
        stack_template(root, "Nope")


def test_stacks_of_nested_stage_assemblies(tmp_path: Path) -> None:
    root = assembly(tmp_path / "cdk.out", {
        "Prod": {"type": "cdk:cloud-assembly", "displayName": "Prod",
                 "properties": {"directoryName": "assembly-Prod"}},
    })  # fmt: skip
    assembly(root / "assembly-Prod", {
        "ProdOrders": stack_artifact("ProdOrders.template.json", displayName="Prod/Orders"),
    })  # fmt: skip
    (stack,) = stacks(root)
    assert stack.display_name == "Prod/Orders"
    assert stack_template(root) == root / "assembly-Prod" / "ProdOrders.template.json"
    assert stack_template(root, "Prod/Orders") == stack.template


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ("{not json", "not a cloud assembly manifest"),
        ('{"version": "55.0.0"}', "has no 'artifacts': not a cloud assembly manifest"),
        ('{"artifacts": {"S": {"type": "aws:cloudformation:stack"}}}', "templateFile is missing"),
        ('{"artifacts": {}}', "the cloud assembly has no stack"),
    ],
)
def test_bad_manifests(tmp_path: Path, manifest: str, message: str) -> None:
    (tmp_path / "manifest.json").write_text(manifest)
    with pytest.raises(TemplateError, match=message):
        load_project(tmp_path)


def test_stack_is_for_assemblies_only(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text("Resources: {}\n")
    with pytest.raises(TemplateError, match=r"--stack S: template\.yaml is a template, not a CDK"):
        template_file(tmp_path / "template.yaml", stack="S")


def test_cli_options_name_one_template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = EXAMPLE / "cdk.out"
    expected = out / "OrdersCdkStack.template.json"
    assert resolve_template(None, out, None, required=True) == expected
    assert resolve_template(out, None, "OrdersCdkStack", required=True) == expected
    with pytest.raises(BadInputError, match="--template and --cdk-out name the project twice"):
        resolve_template(out, out, None, required=True)
    with pytest.raises(BadInputError, match=r"no manifest\.json there, so not a CDK cloud"):
        resolve_template(None, tmp_path, None, required=True)
    monkeypatch.chdir(tmp_path)
    assert resolve_template(None, None, None, required=False) is None
    with pytest.raises(BadInputError, match="no project here"):
        resolve_template(None, None, None, required=True)
    shutil.copytree(out, tmp_path / "cdk.out")
    found = resolve_template(None, None, None, required=True)
    assert found == tmp_path / "cdk.out" / "OrdersCdkStack.template.json"
