"""docs/architecture.md stays true: every package is on its floor, in import-linter's order."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
PACKAGE = ROOT / "apicanary"


def _floors() -> list[str]:
    """The first cell of each row of the floor table, in the order the doc lists them."""
    rows = re.findall(r"^\| \d+ \| (.+?) \|", DOC, flags=re.MULTILINE)
    return [re.sub(r"\.py$", "", re.sub(r"[`/]", "", row)) for row in rows]


def test_every_package_and_subpackage_is_described() -> None:
    missing = []
    for init in sorted(PACKAGE.rglob("__init__.py")):
        package = init.parent
        if package == PACKAGE or "__pycache__" in package.parts:
            continue
        depth = len(package.relative_to(PACKAGE).parts)
        if depth > 2:  # deeper packages are described inside their parent's row
            continue
        if not re.search(rf"`[^`]*\b{package.name}/`", DOC):
            missing.append(str(package.relative_to(ROOT)))
    assert not missing, f"docs/architecture.md does not describe {missing}"


def test_bottom_floor_modules_are_named() -> None:
    bottom = {p.name for p in PACKAGE.glob("*.py")} - {"__init__.py", "__main__.py"}
    missing = sorted(name for name in bottom if f"`{name}`" not in DOC)
    assert not missing, f"docs/architecture.md does not name {missing}"


def test_floors_follow_the_import_linter_layers() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    layers = next(c["layers"] for c in contracts if c["type"] == "layers")
    packages = [layer for layer in layers if re.fullmatch(r"[a-z_]+", layer)]
    floors = [floor for floor in _floors() if re.fullmatch(r"[a-z_]+", floor)]
    assert floors == packages, "the doc's floors and pyproject's layers disagree"
