from __future__ import annotations

from pathlib import Path

import pytest

from apicanary.errors import BadInputError
from apicanary.project.loader import load_project
from apicanary.project.scaffold import scaffold_files, scaffold_project


def test_scaffold_writes_a_loadable_project(tmp_path: Path) -> None:
    target = tmp_path / "my-api"
    written = scaffold_project(target)
    assert sorted(p.relative_to(target).as_posix() for p in written) == [
        "src/app.py",
        "template.yaml",
    ]
    assert "my-api" in (target / "template.yaml").read_text()
    assert "__PROJECT_NAME__" not in (target / "template.yaml").read_text()
    project = load_project(target)
    (fn,) = project.functions
    assert (fn.handler, fn.auto_publish_alias, fn.code_dir) == (
        "app.handler",
        "live",
        target / "src",
    )
    assert fn.deployment_preference is not None
    assert fn.deployment_preference.alarms == ("HelloErrorsAlarm",)
    assert [(r.method, r.path) for r in project.apis[0].routes] == [("GET", "/hello")]
    compile((target / "src" / "app.py").read_text(), "app.py", "exec")


def test_scaffold_into_existing_empty_dir(tmp_path: Path) -> None:
    assert len(scaffold_project(tmp_path)) == 2


def test_scaffold_refuses_to_overwrite_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text("mine")
    with pytest.raises(BadInputError) as info:
        scaffold_project(tmp_path)
    assert (
        str(info.value)
        == f"{tmp_path / 'template.yaml'} already exists: apicanary init never overwrites files"
    )
    assert info.value.exit_code == 2
    assert (tmp_path / "template.yaml").read_text() == "mine"
    assert not (tmp_path / "src").exists()


def test_scaffold_target_must_be_a_directory(tmp_path: Path) -> None:
    file = tmp_path / "f"
    file.write_text("")
    with pytest.raises(BadInputError, match="exists and is not a directory"):
        scaffold_project(file)


def test_scaffold_files_come_from_package_data() -> None:
    assert set(scaffold_files()) == {"template.yaml", "src/app.py"}
