"""Content-addressed, immutable code snapshots (what Lambda calls a deployment package).

A snapshot is the deterministic zip of a directory's files (sorted paths, fixed timestamps and
modes, ``__pycache__`` and ``*.pyc`` left out), stored once under ``<state>/code/<hex>.zip`` and
extracted read-only beside it in ``<state>/code/<hex>/``. Its identity is the SHA-256 of the zip;
``CodeSha256`` is that digest in base64, as Lambda reports it.

A source directory holding ``requirements.txt`` gets its dependencies installed into the
snapshot with pip, as ``sam build`` does; the installed set is cached by the hash of the
requirements file, so an unchanged requirements file costs nothing on the next build.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from apicanary.errors import BadInputError, invalid_parameter

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_SKIPPED_DIRS = {"__pycache__", ".git", ".aws-sam", ".apicanary", ".venv", "node_modules"}
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024  # Lambda's unzipped deployment package quota


@dataclass(frozen=True, slots=True)
class CodeSnapshot:
    """An immutable code package: ``sha256_hex`` names it, ``path`` is its extracted tree."""

    sha256_hex: str
    code_sha256: str  # base64 of the digest, Lambda's CodeSha256
    size: int  # bytes of the zip, Lambda's CodeSize
    path: Path


def fingerprint(source_dir: Path) -> str:
    """A cheap change detector for a source tree: paths, sizes and modification times."""
    digest = hashlib.blake2b(digest_size=16)
    for relative, full in _walk(source_dir):
        stat = full.stat()
        digest.update(f"{relative}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


class CodeStore:
    """Snapshots kept under ``root``; every method is safe to call from several threads."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "deps").mkdir(exist_ok=True)

    def snapshot_directory(self, source_dir: Path) -> CodeSnapshot:
        """Snapshot ``source_dir`` (plus its requirements, if any) and return the snapshot."""
        if not source_dir.is_dir():
            raise BadInputError(f"CodeUri {source_dir} is not a directory")
        requirements = source_dir / "requirements.txt"
        deps_dir = self._dependencies(requirements) if requirements.is_file() else None
        data = _deterministic_zip(source_dir, deps_dir)
        return self._store_zip(data)

    def snapshot_zip(self, data: bytes) -> CodeSnapshot:
        """Snapshot an uploaded zip exactly as given (dependencies inside, as on AWS)."""
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                total = sum(info.file_size for info in archive.infolist())
                bad = archive.testzip()
        except zipfile.BadZipFile as exc:
            raise invalid_parameter(
                "Could not unzip uploaded file. Please check your file, then try to upload again."
            ) from exc
        if bad is not None:
            raise invalid_parameter(f"Corrupt entry in uploaded zip: {bad}")
        if total > MAX_UNZIPPED_BYTES:
            raise invalid_parameter(
                f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes (got {total})"
            )
        return self._store_zip(data)

    def get(self, sha256_hex: str) -> CodeSnapshot:
        """The stored snapshot named ``sha256_hex`` (re-extracted if its tree went missing)."""
        archive = self.root / f"{sha256_hex}.zip"
        data = archive.read_bytes()
        return self._store_zip(data)

    # -- internals --------------------------------------------------------------------------

    def _store_zip(self, data: bytes) -> CodeSnapshot:
        digest = hashlib.sha256(data).digest()
        hex_name = digest.hex()
        archive = self.root / f"{hex_name}.zip"
        tree = self.root / hex_name
        if not archive.exists():
            _atomic_write(archive, data)
        if not tree.exists():
            staging = Path(tempfile.mkdtemp(prefix=f".{hex_name}.", dir=self.root))
            with zipfile.ZipFile(io.BytesIO(data)) as zipped:
                _safe_extract(zipped, staging)
            try:
                staging.rename(tree)
            except OSError:  # another thread won the race; its tree is identical
                shutil.rmtree(staging, ignore_errors=True)
        return CodeSnapshot(hex_name, base64.b64encode(digest).decode(), len(data), tree)

    def _dependencies(self, requirements: Path) -> Path:
        key = hashlib.sha256(requirements.read_bytes()).hexdigest()[:32]
        target = self.root / "deps" / key
        if target.exists():
            return target
        staging = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=self.root / "deps"))
        command = [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--no-input", "--target", str(staging), "-r", str(requirements),
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            raise BadInputError(
                f"installing {requirements} failed (pip exit {result.returncode}): "
                f"{result.stderr.strip()[-2000:]}"
            )
        try:
            staging.rename(target)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
        return target


def _walk(root: Path) -> Iterator[tuple[str, Path]]:
    """Every regular file below ``root`` as (posix relative path, full path), sorted."""
    found: list[tuple[str, Path]] = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIPPED_DIRS)
        for name in filenames:
            if name.endswith((".pyc", ".pyo")):
                continue
            full = Path(directory) / name
            if full.is_file():
                found.append((full.relative_to(root).as_posix(), full))
    found.sort()
    yield from found


def _deterministic_zip(source_dir: Path, deps_dir: Path | None) -> bytes:
    entries = dict(_walk(deps_dir)) if deps_dir else {}
    entries.update(dict(_walk(source_dir)))  # the project's own files win over dependencies
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for relative in sorted(entries):
            info = zipfile.ZipInfo(relative, date_time=_ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[relative].read_bytes())
    return buffer.getvalue()


def _safe_extract(archive: zipfile.ZipFile, target: Path) -> None:
    """Extract refusing absolute paths and ``..`` components (zip-slip)."""
    resolved = target.resolve()
    for info in archive.infolist():
        destination = (target / info.filename).resolve()
        if not destination.is_relative_to(resolved):
            raise invalid_parameter(f"Zip entry escapes the package root: {info.filename}")
    archive.extractall(target)


def _atomic_write(path: Path, data: bytes) -> None:
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)
