"""Sampling profiles of a running server with py-spy (from the throwaway peer venv).

``record(pid, seconds)`` samples the process (and, optionally, its subprocesses) without
pausing it (``--nonblocking``) and summarises the folded stacks: where the samples' leaf
frames are (self time) and which functions of interest are on the stack (inclusive time).
"""

from __future__ import annotations

import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.common import fmt, py_spy, table


@dataclass
class Profile:
    samples: int
    leaf: Counter[str]
    inclusive: Counter[str]
    note: str = ""

    def markdown(
        self, top: int = 15, prefixes: tuple[str, ...] = ("apicanary/engine/", "apicanary/server/")
    ) -> str:
        if not self.samples:
            return f"(no profile: {self.note})"
        rows = [
            [f"`{frame}`", fmt(100.0 * count / self.samples, 1)]
            for frame, count in self.leaf.most_common(top)
        ]
        out = [f"{self.samples} samples. Self time (leaf frame), top {top}:", ""]
        out.append(table(["frame", "% of samples"], rows))
        focus = [
            (frame, count)
            for frame, count in self.inclusive.most_common()
            if any(p in frame for p in prefixes)
        ][:top]
        if focus:
            out += ["", "Inclusive time of the product's own functions (on the stack):", ""]
            out.append(
                table(
                    ["function", "% of samples"],
                    [[f"`{f}`", fmt(100.0 * c / self.samples, 1)] for f, c in focus],
                )
            )
        return "\n".join(out)


def _short(frame: str) -> str:
    # "name (path/to/module.py:123)" -> "name (path/to/module.py)": group lines of one function
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0] if ":" in where else where.rstrip(")")
    return f"{name} ({path})"


def record(pid: int, seconds: int, *, subprocesses: bool = False, rate: int = 200) -> Profile:
    spy = py_spy()
    if spy is None:
        return Profile(0, Counter(), Counter(), "py-spy could not be installed")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "profile.txt"
        command = [
            str(spy), "record", "-p", str(pid), "-d", str(seconds), "-r", str(rate),
            "-f", "raw", "-o", str(out), "--nonblocking",
        ]  # fmt: skip
        if subprocesses:
            command.append("--subprocesses")
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not out.exists():
            return Profile(0, Counter(), Counter(), done.stderr.strip().splitlines()[0:1].__str__())
        text = out.read_text()
    leaf: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    samples = 0
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short(f) for f in stack.split(";") if f]
        if not frames:
            continue
        samples += count
        leaf[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    return Profile(samples, leaf, inclusive)
