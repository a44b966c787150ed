"""The ``nblabel`` command, run as a user would (the console script of the environment, in a
subprocess, on the test mongod): help, pre-annotation with a model trained here, a corrupt
image (exit 1, named), export, sync of a journal written while the database was away, and bad
usage (exit 2 with a message naming the dataset, the weights or what is missing)."""

import subprocess
import sys
import uuid
from pathlib import Path

import fiftyone as fo
import pytest

from nblabel.core.labels import Box, Decision, ImageSize, Proposal
from nblabel.demo.synthetic import make_shapes

NBLABEL = str(Path(sys.executable).with_name("nblabel"))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([NBLABEL, *args], capture_output=True, text=True, timeout=600)


@pytest.fixture
def shapes(tmp_path):
    images = make_shapes(tmp_path / "img", 3, seed=5)
    broken = tmp_path / "img" / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    ds = fo.Dataset(f"cli-{uuid.uuid4().hex[:8]}")
    ds.add_samples([fo.Sample(filepath=str(i.path)) for i in images]
                   + [fo.Sample(filepath=str(broken))], progress=False)
    yield ds, images
    ds.delete()


def test_help_and_version():
    out = run("--help")
    assert out.returncode == 0
    for command in ("preannotate", "export", "sync", "Exit codes"):
        assert command in out.stdout
    assert run("--version").stdout.startswith("nblabel ")
    assert run("frobnicate").returncode == 2


def test_preannotate_export_and_bad_usage(shapes, demo_model, tmp_path):
    ds, _ = shapes
    out = run("preannotate", ds.name, "--model", str(demo_model), "--imgsz", "320", "-q")
    assert out.returncode == 1, out.stderr  # done, but the corrupt image failed
    assert "broken.jpg" in out.stderr and "error:" in out.stderr
    ds.reload()
    assert sum(len(s.predictions.detections) for s in ds if s.predictions) > 0
    # Nothing reviewed yet: exporting says so.
    out = run("export", ds.name, str(tmp_path / "coco"))
    assert out.returncode == 2 and "no label field 'ground_truth'" in out.stderr
    out = run("export", ds.name, str(tmp_path / "coco"), "--all", "--field", "predictions")
    assert out.returncode == 2 and "could not be read" in out.stderr and "broken.jpg" in out.stderr
    ds.delete_samples(ds.match(fo.ViewField("filepath").ends_with("broken.jpg")))
    out = run("export", ds.name, str(tmp_path / "coco"), "--all", "--field", "predictions")
    assert out.returncode == 2 and "pass --overwrite" in out.stderr, out.stderr
    out = run("export", ds.name, str(tmp_path / "coco"), "--all", "--field", "predictions",
              "--overwrite")
    assert out.returncode == 0 and out.stdout.strip().endswith("labels.json"), out.stderr
    out = run("preannotate", "no-such-dataset", "--model", str(demo_model))
    assert out.returncode == 2 and "no FiftyOne dataset named 'no-such-dataset'" in out.stderr
    missing = str(tmp_path / "missing-weights.pt")
    out = run("preannotate", ds.name, "--model", missing)
    assert out.returncode == 2 and "cannot load the model" in out.stderr and missing in out.stderr


def test_sync_writes_a_journal_into_its_dataset(shapes, tmp_path):
    """Decisions journaled with no database (a kernel that died before syncing) reach the
    dataset with ``nblabel sync --journal``; a dataset deleted since is named (exit 1)."""
    from nblabel.store.journal import DecisionJournal

    ds, images = shapes
    img = images[0]
    sample = ds.match(fo.ViewField("filepath") == str(img.path)).first()
    size = ImageSize(img.width, img.height)
    label, box = img.objects[0]
    path = tmp_path / "journal.sqlite"
    with DecisionJournal(path) as journal:
        journal.append(ds.name, Decision.add(sample.id, size, label, box))
        journal.append("gone-dataset", Decision.accept(
            "0" * 24, Proposal(label, Box(1, 1, 5, 5), 0.5, id="p1"), size))
    out = run("sync", "--journal", str(path))
    assert out.returncode == 1, out.stderr
    assert f"{ds.name}: 1 samples" in out.stdout and "gone-dataset" in out.stderr
    ds.reload()
    (det,) = ds[sample.id].ground_truth.detections
    assert det.label == label
    out = run("sync", "nope", "--journal", str(path))
    assert out.returncode == 2 and "no FiftyOne dataset named 'nope'" in out.stderr
