"""Real-browser fixtures: Debian's Chromium driven by the Playwright (Python) wheel.

No browser download: Playwright launches ``/usr/bin/chromium`` (``CHROMIUM`` overrides it).
When Chromium (or the two libraries the recipe needs with it) is missing, the session installs
them from Debian with apt when running as root, and fails with instructions otherwise.
Recipe and gotchas: ``shared/reference/browser-tests.md``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# chromium: the browser; libatomic1: the node driver inside the playwright wheel links it;
# fonts-dejavu-core: without any font, text renders with zero size (and tests pass blind)
APT_PACKAGES = ("chromium", "libatomic1", "fonts-dejavu-core")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",  # no DNS except loopback
]  # fmt: skip


def _missing_packages() -> list[str]:
    if shutil.which("dpkg-query") is None:
        return [] if Path(CHROMIUM).exists() else ["chromium"]
    missing = []
    for package in APT_PACKAGES:
        status = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", package],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        if "ok installed" not in status:
            missing.append(package)
    return missing


def _apt_install(packages: list[str]) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
    ):
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            pytest.fail(
                f"{' '.join(command)} failed (exit {done.returncode}):\n{done.stderr[-2000:]}",
                pytrace=False,
            )


@pytest.fixture(scope="session")
def chromium() -> str:
    """The path of a usable Chromium, installed from Debian first if need be."""
    missing = _missing_packages() if CHROMIUM == "/usr/bin/chromium" else []
    if missing:
        if shutil.which("apt-get") is None or os.geteuid() != 0:
            pytest.fail(
                f"the browser tests need the Debian packages {' '.join(missing)}; install them "
                f"with: sudo apt-get update && sudo apt-get install -y --no-install-recommends "
                f"{' '.join(missing)}   (or set CHROMIUM to a Chromium binary)",
                pytrace=False,
            )
        _apt_install(missing)
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} does not exist (set CHROMIUM to a Chromium binary)", pytrace=False)
    return CHROMIUM


@pytest.fixture
def page(chromium: str, tmp_path: Path) -> Iterator[Any]:
    """A 1280x800 page in a fresh Chromium with a fresh user-data directory."""
    from playwright.sync_api import ViewportSize, sync_playwright

    viewport: ViewportSize = {"width": 1280, "height": 800}

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path / "chromium-profile",
            executable_path=chromium,
            args=CHROMIUM_ARGS,
            viewport=viewport,
            timeout=60_000,
        )
        try:
            tab = context.pages[0] if context.pages else context.new_page()
            tab.set_default_timeout(10_000)
            yield tab
        finally:
            context.close()
