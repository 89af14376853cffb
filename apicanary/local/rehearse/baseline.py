"""What the release is compared with: ``--baseline REF|DIR|live``, or a default.

* ``live``: the version the alias serves on a running ``apicanary serve`` (:mod:`.live`);
* an existing directory: a project (a template, or a CDK ``cdk.out``, defining the function:
  its code and configuration are used) or else the function's code itself (with the working
  tree's configuration);
* anything else is a git revision of the repository holding the project (``HEAD``,
  ``origin/main``, a tag, a sha): the project directory at that commit is read with
  ``git archive`` into a scratch directory (:mod:`.git`), the template there is loaded, and the
  function's ``CodeUri`` and configuration at that revision are the baseline.
* No ``--baseline``: ``HEAD`` when the project is in a git repository and the function's code
  differs from ``HEAD``; otherwise there is no baseline and the canary is the working tree
  again, marked apart (today's behaviour: only injected faults can tell the two apart).

The canary is always the working tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from apicanary.engine.functions.model import FunctionConfig
from apicanary.engine.provision import function_config
from apicanary.errors import BadInputError, TemplateError
from apicanary.local.rehearse import git
from apicanary.local.rehearse.live import fetch_live
from apicanary.project.cdk import is_cloud_assembly
from apicanary.project.loader import default_template, load_project, template_file
from apicanary.project.specs import FunctionSpec, Project

NO_BASELINE = "no baseline: canary = stable + injected faults"


@dataclass(frozen=True)
class Baseline:
    """The baseline's code (a directory or a deployment package) and configuration.

    ``kind`` is ``git``, ``directory``, ``live`` or ``none`` (``code_dir`` and ``package`` are
    then both ``None``: the working tree serves as its own baseline).
    """

    kind: str
    reference: str | None
    description: str
    config: FunctionConfig
    code_dir: Path | None = None
    package: bytes | None = None
    revision: str | None = None  # the git commit, or the live version
    implicit: bool = False  # chosen by default, not asked for

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "reference": self.reference,
            "revision": self.revision,
            "description": self.description,
            "implicit": self.implicit,
        }


def resolve_baseline(
    requested: str | None,
    project: Project,
    spec: FunctionSpec,
    scratch: Path,
    *,
    control_url: str | None = None,
) -> Baseline:
    """The baseline ``requested`` names (``None``: the default), read into ``scratch``."""
    if requested is None:
        return _default(project, spec, scratch)
    if requested == "live":
        return _live(spec, control_url)
    directory = Path(requested)
    if directory.is_dir():
        return _directory(directory, project, spec)
    return _git_revision(requested, project, spec, scratch, implicit=False)


def _default(project: Project, spec: FunctionSpec, scratch: Path) -> Baseline:
    root = git.toplevel(project.root)
    if root is None or not spec.code_dir.resolve().is_relative_to(root):
        return _none(spec, "not a git repository")
    if git.commit_of(root, "HEAD") is None:
        return _none(spec, "no commit yet")
    if not git.changed_files(root, spec.code_dir):
        return _none(spec, f"the function's code is unchanged since HEAD ({root})")
    try:
        return _git_revision("HEAD", project, spec, scratch, implicit=True)
    except BadInputError as error:  # e.g. the function is new since HEAD
        return _none(spec, str(error))


def _none(spec: FunctionSpec, why: str) -> Baseline:
    return Baseline("none", None, f"{NO_BASELINE} ({why})", function_config(spec))


def _live(spec: FunctionSpec, control_url: str | None) -> Baseline:
    alias = _alias(spec)
    live = fetch_live(control_url, spec.function_name, alias)
    return Baseline(
        "live", "live",
        f"live: v{live.version}, what {spec.function_name}:{alias} serves at {live.url}",
        live.config, package=live.package, revision=live.version,
    )  # fmt: skip


def _directory(directory: Path, project: Project, spec: FunctionSpec) -> Baseline:
    template = None
    if is_cloud_assembly(directory) or default_template(directory) is not None:
        template = template_file(directory)  # a CDK assembly of several stacks says so here
    if template is None:
        return Baseline(
            "directory", str(directory),
            f"directory {directory}: the function's code, with the working tree's configuration",
            function_config(spec), code_dir=directory.resolve(),
        )  # fmt: skip
    found = _function_in(template, spec, f"--baseline {directory}")
    return Baseline(
        "directory", str(directory),
        f"directory {directory}: {found.logical_id} as its {template.name} defines it",
        function_config(found), code_dir=found.code_dir,
    )  # fmt: skip


def _git_revision(
    revision: str, project: Project, spec: FunctionSpec, scratch: Path, *, implicit: bool
) -> Baseline:
    where = f"--baseline {revision}"
    root = git.toplevel(project.root)
    if root is None:
        raise BadInputError(
            f"{where}: no directory of that name, and {project.root} is not in a git "
            "repository, so it cannot be a revision either"
        )
    commit = git.commit_of(root, revision)
    if commit is None:
        raise BadInputError(
            f"{where}: not a directory nor a revision of the repository at {root}",
            hint="fetch it first (in CI: actions/checkout with fetch-depth: 0)",
        )
    destination = (scratch / "baseline").resolve()
    project_dir = PurePosixPath(project.root.resolve().relative_to(root).as_posix())
    if not git.extract(root, commit, project_dir, destination):
        raise BadInputError(f"{where}: the project directory {project_dir} does not exist there")
    code = spec.code_dir.resolve()
    if code.is_relative_to(root) and not code.is_relative_to(project.root.resolve()):
        git.extract(root, commit, PurePosixPath(code.relative_to(root).as_posix()), destination)
    template = destination / project_dir / project.template_path.name
    if not template.is_file():
        raise BadInputError(f"{where}: {project.template_path.name} does not exist at {commit[:9]}")
    found = _function_in(template, spec, f"{where} ({commit[:9]})")
    label = "HEAD, the last commit" if revision == "HEAD" else revision
    return Baseline(
        "git", revision,
        f"{label} ({commit[:9]}): {found.logical_id} as committed there",
        function_config(found), code_dir=found.code_dir, revision=commit, implicit=implicit,
    )  # fmt: skip


def _function_in(template: Path, spec: FunctionSpec, where: str) -> FunctionSpec:
    try:
        other = load_project(template)
    except (TemplateError, BadInputError) as error:
        raise BadInputError(f"{where}: its template cannot be loaded: {error}") from None
    for candidate in other.functions:
        if candidate.logical_id == spec.logical_id:
            return candidate
    raise BadInputError(f"{where}: {template.name} there defines no function {spec.logical_id}")


def _alias(spec: FunctionSpec) -> str:
    if spec.auto_publish_alias is None:
        raise BadInputError(f"function {spec.logical_id} has no AutoPublishAlias")
    return spec.auto_publish_alias
