"""Small modules by concern: no Python module over 500 lines, no TypeScript module over 400, no
class over 25 methods; the test harnesses are not in the installed package; no module imports
another package's private names."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "nblabel"


def test_python_modules_and_classes_stay_small():
    too_long, too_wide = [], []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        if text.count("\n") > 500:
            too_long.append((path.name, text.count("\n")))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                n = sum(isinstance(b, ast.FunctionDef | ast.AsyncFunctionDef) for b in node.body)
                if n > 25:
                    too_wide.append((node.name, n))
    assert not too_long, too_long
    assert not too_wide, too_wide


def test_typescript_modules_stay_small():
    long = [(str(p.relative_to(ROOT)), n) for p in (ROOT / "js" / "src").rglob("*.ts")
            if (n := p.read_text().count("\n")) > 400]
    assert not long, long


#: Each package imports only from packages on a lower layer (or its own).
LAYERS = {"core": 0, "store": 1, "sources": 1, "preannotation": 2, "segmentation": 2,
          "curation": 3, "reviewing": 4, "learning": 5, "demo": 6, "cli": 6}


def test_packages_import_only_lower_layers():
    assert {p.name.removesuffix(".py") for p in PACKAGE.iterdir()
            if p.name not in ("__init__.py", "__main__.py", "static", "__pycache__")} == set(LAYERS)
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        top = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        if top not in LAYERS:
            continue  # nblabel/__init__.py: the public API, above every layer
        for m in re.finditer(r"^\s*(?:from|import) nblabel\.(\w+)", path.read_text(), re.M):
            target = m.group(1)
            if target != top and LAYERS.get(target, -1) >= LAYERS[top]:
                wrong.append((str(path.relative_to(PACKAGE)), target))
    assert not wrong, wrong


def test_the_shared_editor_knows_no_kind():
    """reviewing/editor and js/src/editor are the core every kind plugs into: they import no
    kind's module (Python) and no kind's folder (TypeScript)."""
    kinds = ("image", "video", "shapes", "volume")
    for path in (PACKAGE / "reviewing" / "editor").rglob("*.py"):
        text = path.read_text()
        assert not re.search(rf"nblabel\.reviewing\.({'|'.join(kinds)})\b", text), path
    for path in (ROOT / "js" / "src" / "editor").rglob("*.ts"):
        text = path.read_text()
        assert not re.search(rf'from "\.\./({"|".join(kinds)})/', text), path


def test_test_harnesses_are_not_shipped():
    assert not (PACKAGE / "faults.py").exists() and not (PACKAGE / "devtools.py").exists()


def test_no_private_names_imported_across_packages():
    found = []
    for path in PACKAGE.rglob("*.py"):
        package = path.relative_to(PACKAGE).parts[0]
        for m in re.finditer(r"from nblabel\.(\w+)[\w.]* import ([^\n(]+)", path.read_text()):
            names = [n.strip().split(" as ")[0] for n in m.group(2).split(",")]
            if m.group(1) != package and any(n.startswith("_") for n in names):
                found.append((str(path.relative_to(PACKAGE)), m.group(0)))
    assert not found, found
