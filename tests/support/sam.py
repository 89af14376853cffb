"""Helpers for the SAM loader tests: write a template (and its code dirs) and load it."""

from __future__ import annotations

import textwrap
from pathlib import Path

from apicanary.project.loader import load_project
from apicanary.project.specs import Project

HEADER = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
"""


def write_template(
    root: Path, body: str, *, header: bool = True, code_dirs: tuple[str, ...] = ("src",)
) -> Path:
    """Write ``template.yaml`` (dedented ``body``, SAM header unless ``header=False``)."""
    for name in code_dirs:
        (root / name).mkdir(parents=True, exist_ok=True)
    path = root / "template.yaml"
    path.write_text((HEADER if header else "") + textwrap.dedent(body), encoding="utf-8")
    return path


def load(root: Path, body: str, **kwargs: object) -> Project:
    """Write ``body`` as a SAM template under ``root`` and load it."""
    code_dirs = kwargs.pop("code_dirs", ("src",))
    assert isinstance(code_dirs, tuple)
    path = write_template(root, body, code_dirs=code_dirs)
    return load_project(path, **kwargs)  # type: ignore[arg-type]


FUNCTION = """\
Resources:
  HelloFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
"""
