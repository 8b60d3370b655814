"""The dependency rules of docs/architecture.md, read from the source: what each subpackage may
import, no back-edge to the package root, no module over the size limit, and the README's
links to the docs resolve."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "caloforge"
#: Subpackage -> caloforge subpackages it must not import.
FORBIDDEN = {
    "evaluate": {"models", "train", "generation", "applications", "cli"},
    "simulate": {"models", "train", "evaluate", "cli"},
    "geometry": {"models", "train", "simulate", "evaluate", "data", "cli"},
    "data": {"models", "train", "simulate", "evaluate", "cli"},
    "preprocess": {"models", "train", "cli"},
    "integrate": {"models", "train", "simulate", "evaluate", "geometry", "applications", "cli"},
    "models": {"cli", "evaluate", "applications", "generation", "deploy", "scale"},
    "train": {"cli", "evaluate", "applications"},
    "applications": {"cli"},
    "tune": {"models", "train", "applications", "cli"},
    "deploy": {"cli", "evaluate", "applications", "integrate", "simulate", "scale"},
    "scale": {"cli", "evaluate", "applications", "integrate"},
}
MAX_LINES = 400


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
            out += [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names]
    return [name for name in out if name == "caloforge" or name.startswith("caloforge.")]


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("sub", sorted(FORBIDDEN))
def test_dependency_rules(sub: str) -> None:
    broken = []
    for path in sorted((PACKAGE / sub).rglob("*.py")):
        for name in _imports(path):
            parts = name.split(".")
            if len(parts) > 1 and parts[1] in FORBIDDEN[sub]:
                broken.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert not broken, broken


def test_nothing_imports_the_cli_or_the_package_root() -> None:
    broken = []
    for path in _modules():
        inside_cli = path.parent.name == "cli"
        for name in _imports(path):
            if name.startswith("caloforge.cli") and not inside_cli:
                broken.append(f"{path.relative_to(PACKAGE)} imports {name}")
            if (name.startswith("caloforge.") and name.count(".") == 1
                    and not (PACKAGE / name.split(".")[1]).exists()
                    and not (PACKAGE / f"{name.split('.')[1]}.py").exists()):
                broken.append(f"{path.relative_to(PACKAGE)} takes {name} from the package root")
    assert not broken, broken


def test_models_and_train_meet_only_at_the_contract() -> None:
    """Families may import ``train.config`` (a stage's TrainConfig), never the engine; ``train``
    imports ``models.base``, ``models.family`` and the registry, never a family's internals."""
    broken = []
    for path in sorted((PACKAGE / "models").rglob("*.py")):
        broken += [f"{path.relative_to(PACKAGE)} imports {name}" for name in _imports(path)
                   if name.startswith("caloforge.train")
                   and not name.startswith("caloforge.train.config")]
    contract = ("caloforge.models.base", "caloforge.models.family", "caloforge.models.registry")
    for path in sorted((PACKAGE / "train").rglob("*.py")):
        broken += [f"{path.relative_to(PACKAGE)} imports {name}" for name in _imports(path)
                   if name.startswith("caloforge.models") and not name.startswith(contract)]
    assert not broken, broken


def test_modules_stay_small() -> None:
    big = {str(p.relative_to(PACKAGE)): n for p in _modules()
           if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not big, big


def test_readme_links_resolve() -> None:
    text = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(((?:docs|benchmarks)/[^)#]+)\)", text)
    assert links, "the README links its docs"
    missing = [link for link in links if not (ROOT / link).exists()]
    assert not missing, missing
    assert "../shared/" not in text  # outside the repository
