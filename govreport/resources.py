"""Locate the packaged templates and policies.

In a wheel, ``templates/`` and ``policies/`` are installed inside the package
(``govreport/templates``, ``govreport/policies``; see ``pyproject.toml``) and
are found with :mod:`importlib.resources`. In a source checkout they sit at the
repository's top level, beside the package.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parent.parent


def _resource_dir(name: str) -> Path:
    packaged = resources.files("govreport").joinpath(name)
    if packaged.is_dir():
        return Path(str(packaged))
    source = _REPO_ROOT / name
    if source.is_dir():
        return source
    raise FileNotFoundError(f"govreport installation is missing its '{name}' directory")


def templates_dir() -> Path:
    """The directory holding the Jinja report templates and CSS."""
    return _resource_dir("templates")


def policies_dir() -> Path:
    """The directory holding the shipped policy files (``default.yaml``, ...)."""
    return _resource_dir("policies")


def default_policy_path() -> Path:
    """Path of the shipped default policy."""
    return policies_dir() / "default.yaml"
