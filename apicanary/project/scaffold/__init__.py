"""``apicanary init``: write a minimal sample SAM project into a directory.

The project's files are this package's data (``template.yaml.tmpl``, ``src/app.py.tmpl``:
stored with a ``.tmpl`` suffix so linters and test collectors leave them alone), read through
:mod:`importlib.resources` so an installed wheel finds them too; ``__PROJECT_NAME__`` is
replaced by the target directory's name. Existing files are never overwritten.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Final

from apicanary.errors import BadInputError

PLACEHOLDER: Final = "__PROJECT_NAME__"
SUFFIX: Final = ".tmpl"


def scaffold_files() -> dict[str, str]:
    """The sample project as ``{relative path: text}`` (placeholders not yet filled)."""
    files: dict[str, str] = {}
    _collect(resources.files(__name__), "", files)
    return files


def scaffold_project(target_dir: Path) -> list[Path]:
    """Write the sample project into ``target_dir`` (created if missing); return the files.

    Raises BadInputError naming the first file that already exists (nothing is written
    then), or naming ``target_dir`` if it is not a directory.
    """
    target_dir = Path(target_dir)
    if target_dir.exists() and not target_dir.is_dir():
        raise BadInputError(f"{target_dir} exists and is not a directory")
    project_name = target_dir.resolve().name or "apicanary-project"
    files = {
        target_dir / rel: text.replace(PLACEHOLDER, project_name)
        for rel, text in scaffold_files().items()
    }
    for path in files:
        if path.exists() or path.is_symlink():
            raise BadInputError(
                f"{path} already exists: apicanary init never overwrites files",
                hint="choose an empty directory, e.g. `apicanary init my-api`",
            )
    written = []
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text)
        written.append(path)
    return written


def _collect(node: Traversable, prefix: str, files: dict[str, str]) -> None:
    for entry in sorted(node.iterdir(), key=lambda e: e.name):
        rel = f"{prefix}{entry.name}"
        if entry.is_dir():
            if entry.name != "__pycache__":
                _collect(entry, rel + "/", files)
        elif entry.name.endswith(SUFFIX):
            files[rel.removesuffix(SUFFIX)] = entry.read_text(encoding="utf-8")
