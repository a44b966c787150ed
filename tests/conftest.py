"""Test set-up: a real mongod for FiftyOne, isolated per run, and offline ultralytics.

``pytest_configure`` runs before any test module imports FiftyOne: it starts the mongod shipped in
FiftyOne's database wheel on a free port with a fresh data folder and points
``FIFTYONE_DATABASE_URI`` at it (a unique ``FIFTYONE_DATABASE_NAME`` too), so tests never touch a
user's datasets and kernels started by tests (notebooks, JupyterLab) inherit the same database.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.devtools import Mongod

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
_state: dict[str, object] = {}


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    tmp = Path(tempfile.mkdtemp(prefix="nblabel-tests-"))
    _state["tmp"] = tmp
    mongod = Mongod(tmp)
    uri = mongod.start()
    _state["mongod"] = mongod
    env = {
        "FIFTYONE_DATABASE_URI": uri,
        "FIFTYONE_DATABASE_NAME": f"nblabel-test-{uuid.uuid4().hex[:8]}",
        "FIFTYONE_DO_NOT_TRACK": "true",
        "FIFTYONE_DATABASE_VALIDATION": "false",
        "FIFTYONE_SHOW_PROGRESS_BARS": "false",
        "YOLO_OFFLINE": "1",
        "YOLO_VERBOSE": "False",
        "YOLO_CONFIG_DIR": str(REPO / ".cache" / "ultralytics"),
        "MPLCONFIGDIR": str(REPO / ".cache" / "matplotlib"),
        "NBLABEL_HOME": str(tmp / "nblabel-home"),
        "NBLABEL_REVIEWER": "tester",
    }
    os.environ.update(env)
    os.environ.setdefault("NBLABEL_DEMO_DIR", str(REPO / "demo-data"))
    ARTIFACTS.mkdir(exist_ok=True)


def pytest_unconfigure(config: pytest.Config) -> None:
    mongod = _state.get("mongod")
    if isinstance(mongod, Mongod):
        mongod.stop()
    tmp = _state.get("tmp")
    if isinstance(tmp, Path):
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def demo_model() -> Path:
    """The demo detector, trained from scratch on generated shapes (cached between runs)."""
    from nblabel.demo import prepare_model

    return prepare_model()


@pytest.fixture(scope="session")
def segment_model() -> Path:
    """A small YOLO segmentation model trained from its yaml (cached between runs)."""
    from nblabel.demo import prepare_task_model

    return prepare_task_model("segment")


@pytest.fixture(scope="session")
def classify_model() -> Path:
    """A small YOLO classifier with dropout, trained from its yaml (cached between runs)."""
    from nblabel.demo import prepare_task_model

    return prepare_task_model("classify")


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[object]:
    from nblabel.store.journal import DecisionJournal

    j = DecisionJournal(tmp_path / "journal.sqlite")
    yield j
    j.close()


@pytest.fixture
def shapes_dataset(tmp_path: Path) -> Iterator[object]:
    """A fresh FiftyOne dataset of 6 generated images whose proposals are their true boxes,
    plus one wrong proposal per image (a spurious box), so reviews have both kinds."""
    import fiftyone as fo

    from nblabel.core.labels import Box
    from nblabel.demo.synthetic import make_shapes

    images = make_shapes(tmp_path / "images", 6, seed=11, max_objects=3)
    ds = fo.Dataset(f"shapes-{uuid.uuid4().hex[:8]}")
    samples = []
    for k, img in enumerate(images):
        dets = [
            fo.Detection(label=label, bounding_box=box.to_relative(img.size),
                         confidence=0.9 - 0.1 * i)
            for i, (label, box) in enumerate(img.objects)
        ]
        spurious = Box(5 + k, 5, 30, 20)
        dets.append(fo.Detection(label="circle", bounding_box=spurious.to_relative(img.size),
                                 confidence=0.2))
        samples.append(fo.Sample(filepath=str(img.path),
                                 predictions=fo.Detections(detections=dets)))
    ds.add_samples(samples, progress=False)
    yield ds
    if fo.dataset_exists(ds.name):
        ds.delete()


@pytest.fixture
def coins_photo(tmp_path: Path) -> Iterator[tuple[object, object]]:
    """scikit-image's coins photo as a one-sample dataset with no labels, and its documented
    truth (``nblabel.demo.real.coins``: boxes and masks)."""
    import fiftyone as fo
    from PIL import Image

    from nblabel.demo.real import coins

    real = coins()
    path = tmp_path / "coins.png"
    Image.fromarray(real.pixels).save(path)
    ds = fo.Dataset(f"coins-{uuid.uuid4().hex[:8]}")
    ds.add_sample(fo.Sample(filepath=str(path)))
    yield ds, real
    if fo.dataset_exists(ds.name):
        ds.delete()
