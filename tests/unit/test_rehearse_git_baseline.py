"""Resolving --baseline: git revisions read with git archive, directories, the default."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from apicanary.errors import BadInputError
from apicanary.local.rehearse.baseline import NO_BASELINE, resolve_baseline
from apicanary.project.loader import load_project
from apicanary.project.specs import FunctionSpec, Project
from tests.fixtures.quote_project import (
    FUNCTION,
    PROJECT,
    committed_project,
    git,
    release,
    write_release,
)


def loaded(project: Path) -> tuple[Project, FunctionSpec]:
    loaded_project = load_project(project / "template.yaml")
    return loaded_project, loaded_project.function(FUNCTION)


def test_a_revision_is_the_function_as_committed_there(tmp_path: Path) -> None:
    project = committed_project(tmp_path / "repo")
    first = git(project, "rev-parse", "HEAD").strip()
    write_release(project, "thirds_fail")
    git(project, "commit", "-qam", "the bad release")
    write_release(project, "new_quote_body")  # and something else in the working tree
    baseline = resolve_baseline(first[:10], *loaded(project), tmp_path / "scratch")
    assert baseline.kind == "git" and baseline.revision == first and not baseline.implicit
    assert baseline.code_dir is not None
    code = (baseline.code_dir / "app.py").read_text()
    assert code == (PROJECT / "src" / "app.py").read_text()
    assert baseline.config.handler == "app.handler" and baseline.config.timeout == 3
    head = resolve_baseline("HEAD", *loaded(project), tmp_path / "scratch2")
    assert head.code_dir is not None
    assert (head.code_dir / "app.py").read_text() == release("thirds_fail")


def test_by_default_head_when_the_code_changed_else_no_baseline(tmp_path: Path) -> None:
    project = committed_project(tmp_path / "repo")
    clean = resolve_baseline(None, *loaded(project), tmp_path / "s1")
    assert clean.kind == "none" and clean.description.startswith(NO_BASELINE)
    assert "unchanged since HEAD" in clean.description
    (project / "src" / "__pycache__").mkdir()
    (project / "src" / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"x")
    assert resolve_baseline(None, *loaded(project), tmp_path / "s2").kind == "none"
    (project / "src" / "helpers.py").write_text("X = 1\n")  # an untracked file is a change
    changed = resolve_baseline(None, *loaded(project), tmp_path / "s3")
    assert changed.kind == "git" and changed.implicit and changed.reference == "HEAD"


def test_outside_git_or_before_the_first_commit_there_is_no_baseline(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    shutil.copytree(PROJECT, plain)
    outside = resolve_baseline(None, *loaded(plain), tmp_path / "s1")
    assert outside.kind == "none" and "not a git repository" in outside.description
    git(plain, "init", "-q")
    assert "no commit yet" in resolve_baseline(None, *loaded(plain), tmp_path / "s2").description


def test_a_function_new_since_head_has_no_default_baseline(tmp_path: Path) -> None:
    project = committed_project(tmp_path / "repo")
    template = project / "template.yaml"
    template.write_text(template.read_text().replace("QuoteFunction", "PriceFunction"))
    write_release(project, "thirds_fail")
    project_spec = load_project(template)
    baseline = resolve_baseline(
        None, project_spec, project_spec.function("PriceFunction"), tmp_path
    )
    assert baseline.kind == "none" and "defines no function PriceFunction" in baseline.description
    with pytest.raises(BadInputError, match="defines no function PriceFunction"):
        resolve_baseline("HEAD", project_spec, project_spec.function("PriceFunction"), tmp_path)


def test_a_code_directory_outside_the_project_directory_is_read_too(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(PROJECT, repo / "deploy")
    shutil.move(repo / "deploy" / "src", repo / "lambda")
    template = repo / "deploy" / "template.yaml"
    template.write_text(template.read_text().replace("CodeUri: src/", "CodeUri: ../lambda/"))
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "v1")
    (repo / "lambda" / "app.py").write_text(release("thirds_fail"))
    baseline = resolve_baseline(None, *loaded(repo / "deploy"), tmp_path / "scratch")
    assert baseline.kind == "git" and baseline.code_dir is not None
    assert baseline.code_dir.name == "lambda"
    assert (baseline.code_dir / "app.py").read_text() == (PROJECT / "src" / "app.py").read_text()


def test_a_directory_is_a_project_or_the_code_itself(tmp_path: Path) -> None:
    project = committed_project(tmp_path / "repo")
    as_project = resolve_baseline(str(PROJECT), *loaded(project), tmp_path)
    assert as_project.kind == "directory" and as_project.code_dir == (PROJECT / "src").resolve()
    assert "as its template.yaml defines it" in as_project.description
    as_code = resolve_baseline(str(PROJECT / "src"), *loaded(project), tmp_path)
    assert as_code.code_dir == (PROJECT / "src").resolve()
    assert "the working tree's configuration" in as_code.description


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("no-such-branch", "--baseline no-such-branch: not a directory nor a revision"),
        ("--upload-pack=evil", "not a directory nor a revision"),
    ],
)
def test_unknown_revisions_are_refused(tmp_path: Path, reference: str, message: str) -> None:
    project = committed_project(tmp_path / "repo")
    with pytest.raises(BadInputError, match=message) as caught:
        resolve_baseline(reference, *loaded(project), tmp_path / "scratch")
    assert caught.value.hint is not None and "fetch-depth: 0" in caught.value.hint


def test_a_revision_where_the_project_did_not_exist_yet(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "README").write_text("before the project\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "first")
    shutil.copytree(PROJECT, repo / "quote")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "second")
    with pytest.raises(BadInputError, match="the project directory quote does not exist there"):
        resolve_baseline("HEAD~1", *loaded(repo / "quote"), tmp_path / "scratch")


def test_not_a_repository_and_not_a_directory(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    shutil.copytree(PROJECT, plain)
    with pytest.raises(BadInputError, match="not in a git repository"):
        resolve_baseline("main", *loaded(plain), tmp_path / "scratch")


def test_a_cdk_cloud_assembly_is_a_project_directory(tmp_path: Path) -> None:
    assembly = PROJECT.parents[3] / "examples" / "orders-cdk" / "cdk.out"
    project = load_project(assembly)
    spec = next(f for f in project.functions if f.auto_publish_alias)
    baseline = resolve_baseline(str(assembly), project, spec, tmp_path)
    assert baseline.kind == "directory" and baseline.code_dir == spec.code_dir
    assert f"{spec.logical_id} as its" in baseline.description
