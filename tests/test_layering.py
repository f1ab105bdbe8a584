"""The stages meet only where ARCHITECTURE.md says they do.

Data flows one way: inputs -> regions -> analyses -> policy -> results -> render.
An analysis never imports the render layer, the policy evaluation or the CLI;
nothing below the CLI imports the CLI; and every module imports on its own
(no module works only because another one was imported first).
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "govreport"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


#: ``python -m govreport`` runs the CLI on import: it is the CLI's entry point, not a module.
MODULES = sorted(_module_name(path) for path in PACKAGE.rglob("*.py") if path.name != "__main__.py")


def _imports(module: str) -> set[str]:
    """Every govreport module named by an import statement of ``module`` (lazy ones too)."""
    path = PACKAGE.parent / Path(*module.split("."))
    source = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    tree = ast.parse(source.read_text(encoding="utf-8"))
    package = module if source.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "govreport" or name.startswith("govreport.")}


def _imports_layer(names: set[str], layer: str) -> list[str]:
    return sorted(n for n in names if n == layer or n.startswith(layer + "."))


def test_the_module_list_is_not_empty() -> None:
    assert "govreport.regions" in MODULES and "govreport.pipeline" in MODULES


@pytest.mark.parametrize("module", [m for m in MODULES if m.startswith("govreport.analyses")])
def test_analyses_never_import_render_policy_evaluation_or_cli(module: str) -> None:
    names = _imports(module)
    for layer in ("govreport.render", "govreport.cli", "govreport.pipeline"):
        assert not _imports_layer(names, layer), f"{module} imports {layer}"
    evaluation = [n for n in names if n.startswith("govreport.policy") and "evaluat" in n]
    assert not evaluation, f"{module} imports the policy evaluation: {evaluation}"


@pytest.mark.parametrize(
    "module",
    [
        m
        for m in MODULES
        if m.startswith(("govreport.regions", "govreport.network", "govreport.inputs"))
    ],
)
def test_inputs_and_regions_import_no_later_stage(module: str) -> None:
    names = _imports(module)
    for layer in ("govreport.analyses", "govreport.render", "govreport.cli", "govreport.pipeline"):
        assert not _imports_layer(names, layer), f"{module} imports {layer}"


@pytest.mark.parametrize("module", [m for m in MODULES if not m.startswith("govreport.cli")])
def test_nothing_below_the_cli_imports_it(module: str) -> None:
    assert not _imports_layer(_imports(module), "govreport.cli"), module


@pytest.mark.parametrize("module", MODULES)
def test_every_module_imports_alone(module: str) -> None:
    saved = {name: mod for name, mod in sys.modules.items() if name.startswith("govreport")}
    for name in saved:
        del sys.modules[name]
    try:
        importlib.import_module(module)
    finally:
        for name in [n for n in sys.modules if n.startswith("govreport")]:
            del sys.modules[name]
        sys.modules.update(saved)
