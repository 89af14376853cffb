"""Reading a project's code at a git revision without touching the working tree or the index.

Only read commands run: ``rev-parse`` (repository root, revision → commit), ``status`` with
``--no-optional-locks`` (so git does not refresh the index behind the user's back) and
``archive`` (the tree of a commit, streamed into a scratch directory). A failing command is a
:class:`GitError` carrying git's own message.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path, PurePosixPath

from apicanary.errors import BadInputError

_TIMEOUT_S = 120


class GitError(BadInputError):
    """A git command failed; the message ends with what git said."""


def _git(root: Path, *args: str) -> bytes:
    command = ["git", "--no-optional-locks", "-C", str(root), *args]
    try:
        done = subprocess.run(command, capture_output=True, timeout=_TIMEOUT_S, check=False)
    except FileNotFoundError:
        raise GitError("git is not installed (needed to read a --baseline revision)") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} took longer than {_TIMEOUT_S} s") from None
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip().splitlines()
        raise GitError(f"git {args[0]} failed: {said[-1] if said else f'exit {done.returncode}'}")
    return done.stdout


def toplevel(path: Path) -> Path | None:
    """The root of the work tree holding ``path``, or ``None`` when it is not in one."""
    try:
        out = _git(path, "rev-parse", "--show-toplevel")
    except GitError:
        return None
    return Path(out.decode().strip()).resolve()


def commit_of(root: Path, revision: str) -> str | None:
    """The commit ``revision`` names (``HEAD``, a branch, a tag, a sha), or ``None``."""
    if revision.startswith("-"):
        return None
    try:
        out = _git(root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    except GitError:
        return None
    return out.decode().strip() or None


def changed_files(root: Path, path: Path) -> list[str]:
    """Files under ``path`` that differ from ``HEAD`` (modified, staged, untracked), bytecode
    left out as the code store leaves it out."""
    relative = path.resolve().relative_to(root)
    out = _git(root, "status", "--porcelain", "--untracked-files=all", "--", relative.as_posix())
    changed = []
    for line in out.decode(errors="replace").splitlines():
        name = line[3:]
        if "__pycache__/" in name or name.endswith((".pyc", ".pyo")):
            continue
        changed.append(name)
    return changed


def extract(root: Path, commit: str, relative: PurePosixPath, destination: Path) -> bool:
    """Write the tree of ``relative`` (a path from ``root``) at ``commit`` below
    ``destination`` (at the same relative place); ``False`` when it does not exist there."""
    spec = relative.as_posix()
    args = ["archive", "--format=tar", commit]
    if spec != ".":
        if not _git(root, "ls-tree", "--name-only", commit, "--", spec).strip():
            return False
        args += ["--", spec]
    data = _git(root, *args)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        archive.extractall(destination, filter="data")
    return True
