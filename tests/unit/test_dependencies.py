"""Every third-party import of the package is declared, and every declared dependency is used."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[2]
#: Distribution name -> the modules it provides.
MODULES = {
    "anywidget": {"anywidget"}, "ipywidgets": {"ipywidgets"}, "fiftyone": {"fiftyone"},
    "numpy": {"numpy"}, "pandas": {"pandas"}, "pillow": {"PIL"}, "torch": {"torch"},
    "ultralytics-opencv-headless": {"ultralytics"}, "tqdm": {"tqdm"},
    "matplotlib": {"matplotlib"}, "scipy": {"scipy"}, "pymongo": {"pymongo", "bson"},
    "traitlets": {"traitlets"}, "ray": {"ray"}, "nbformat": {"nbformat"},
    "scikit-image": {"skimage"}, "scikit-learn": {"sklearn"}, "opencv-python-headless": {"cv2"},
    "av": {"av"}, "motmetrics": {"motmetrics"}, "lap": {"lap"},
    "pydicom": {"pydicom"}, "nibabel": {"nibabel"}, "highdicom": {"highdicom"},
}


def _imports() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "src" / "nblabel").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m != "nblabel"}


def _declared(extra: str | None = None) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    return {re.split(r"[<>=\[ ;]", d, maxsplit=1)[0].lower() for d in deps}


def test_every_import_is_declared():
    declared = _declared() | _declared("ray") | _declared("medical") | _declared("dev")
    provided = set().union(*(MODULES.get(d, set()) for d in declared))
    assert _imports() <= provided, _imports() - provided


def test_every_dependency_is_imported():
    imported = _imports()
    # ipywidgets is declared for its version: the widget is an ipywidgets 8 widget (anywidget's
    # base class) and its browser side needs that widget protocol.
    # lap is declared for ultralytics' trackers, which import it (ultralytics does not declare
    # it and would pip-install it at run time).
    unused = {d for d in _declared() - {"ipywidgets", "lap"} if not MODULES[d] & imported}
    assert not unused, unused
    assert "jupyterlab" not in _declared()  # a widget library does not force JupyterLab
    medical = {d for d in _declared("medical") if not MODULES[d] & imported}
    assert not medical, medical
