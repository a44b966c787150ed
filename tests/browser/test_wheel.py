"""The package a user installs: ``python -m build`` makes an sdist and a wheel with the built
widget inside; the wheel, installed into a fresh virtual environment (no Node on its PATH, no
source tree on its path), opens the widget in JupyterLab in Chromium and one decision made
there lands in FiftyOne.

The fresh environment gets nblabel from the wheel only; its dependencies (torch, FiftyOne,
JupyterLab...) come from the test environment's site-packages through a ``.pth`` line, which
adds that folder without running its ``.pth`` files (so the editable nblabel there stays out).
"""

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import uuid
import zipfile
from pathlib import Path

import fiftyone as fo
import pytest

from tests.browser.helpers import eventually, focus, review_cells, wait_status, wait_widget
from tests.conftest import ARTIFACTS
from tests.harness.devtools import JupyterLab, open_and_run, write_notebook

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    build = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir",
                            str(out), str(ROOT)], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    (whl,) = out.glob("nblabel-*.whl")
    (sdist,) = out.glob("nblabel-*.tar.gz")
    names = zipfile.ZipFile(whl).namelist()
    for f in ("nblabel/static/widget.js", "nblabel/static/widget.css",
              "nblabel/static/keymap.json"):
        assert f in names, f"{f} missing from the wheel"
    assert not any(n.startswith(("js/", "tests/", "node_modules/")) for n in names)
    entry = zipfile.ZipFile(whl).read(next(n for n in names if n.endswith("entry_points.txt")))
    assert b"nblabel = nblabel.cli:main" in entry
    with tarfile.open(sdist) as tar:
        members = tar.getnames()
    assert any(m.endswith("src/nblabel/static/widget.js") for m in members)
    assert any(m.endswith("js/src/image/widget.ts") for m in members), "the sdist keeps the sources"
    return whl


@pytest.fixture(scope="module")
def fresh(wheel, tmp_path_factory):
    """A new virtual environment with the wheel installed (no Node, no source tree)."""
    env_dir = tmp_path_factory.mktemp("fresh") / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(env_dir)], check=True, timeout=300)
    python = env_dir / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True).stdout
    Path(site.strip(), "test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    str(wheel)], check=True, timeout=300)
    return env_dir


def test_the_wheel_reviews_in_jupyterlab_without_node(fresh, tmp_path, page):
    python = str(fresh / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = str(fresh / "bin")
    prefix = Path(sys.prefix)
    env["JUPYTER_PATH"] = str(prefix / "share" / "jupyter")  # the labextensions of the deps
    env["JUPYTERLAB_DIR"] = str(prefix / "share" / "jupyter" / "lab")
    assert shutil.which("node", path=env["PATH"]) is None
    where = subprocess.run([python, "-c", "import nblabel; print(nblabel.__file__)"],
                           capture_output=True, text=True, env=env, cwd=tmp_path, check=True)
    assert where.stdout.strip().startswith(str(fresh)), where.stdout
    cli = subprocess.run([str(fresh / "bin" / "nblabel"), "--help"], capture_output=True,
                         text=True, env=env, cwd=tmp_path)
    assert cli.returncode == 0 and "preannotate" in cli.stdout

    from nblabel.demo.synthetic import make_shapes

    (img,) = make_shapes(tmp_path / "img", 1, seed=3)
    ds = fo.Dataset(f"wheel-{uuid.uuid4().hex[:8]}")
    ds.add_sample(fo.Sample(filepath=str(img.path), predictions=fo.Detections(detections=[
        fo.Detection(label="shape", bounding_box=[0.1, 0.1, 0.3, 0.3], confidence=0.8)])))
    lab = JupyterLab(tmp_path / "lab", env=env, python=python)
    try:
        lab.start()
        cells = ["import nblabel, pathlib\n"
                 "pathlib.Path('where.txt').write_text(nblabel.__file__)", *review_cells(ds.name)]
        write_notebook(lab.root / "wheel.ipynb", cells)
        open_and_run(page, lab.url, "wheel.ipynb")
        wait_widget(page)
        assert (lab.root / "where.txt").read_text().startswith(str(fresh)), \
            "the kernel imports nblabel from the wheel"
        focus(page)
        page.keyboard.press("a")
        wait_status(page, 0, "accepted")

        def landed() -> bool:
            ds.reload()
            det = ds.first().predictions.detections[0]
            return det.has_field("review") and det["review"] == "accepted"

        eventually(landed, 30, "the decision in FiftyOne")
    finally:
        lab.stop()
        shutil.copyfile(lab.log_path, ARTIFACTS / "wheel-jupyterlab.log")
        ds.delete()
