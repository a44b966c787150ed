"""Medical volumes on a real FiftyOne database: pydicom's real CT and MR files and a generated
CT phantom (DICOM series and NIfTI), slices streamed, proposals per slice, review through the
session with decisions per slice (series and instance kept), and masks exported back as a
NIfTI label volume and as DICOM SEG, read back."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

fo = pytest.importorskip("fiftyone")
pydicom = pytest.importorskip("pydicom")
nib = pytest.importorskip("nibabel")

from nblabel.core.volume import DicomSeries, VolumeError, open_volume  # noqa: E402
from nblabel.curation.volume_export import export_dicom_seg, export_nifti_labels  # noqa: E402
from nblabel.demo.phantom import find_nodules, make_phantom  # noqa: E402
from nblabel.preannotation.volumes import preannotate_volume  # noqa: E402
from nblabel.reviewing.editor.session import ReviewSession  # noqa: E402
from nblabel.reviewing.volume.widget import VolumeReviewWidget  # noqa: E402
from nblabel.sources import CallableSource  # noqa: E402
from nblabel.store.volumes import add_volume, open_series  # noqa: E402

TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


def test_real_dicom_files_and_their_faults(tmp_path: Path) -> None:
    ct = open_volume(TEST_FILES / "dicomdirtests" / "77654033" / "CT2")
    assert ct.shape == (4, 16, 16) and ct.modality == "CT"
    assert ct.spacing[1:] == pytest.approx((0.488281, 0.488281))
    assert any("inconsistent slice spacing: 202.50 mm" in p for p in ct.problems)
    assert ct.pixels(0).min() < -900  # Hounsfield units: air
    small = open_volume([TEST_FILES / "CT_small.dcm"])
    assert small.shape == (1, 128, 128) and small.default_window() == (40.0, 400.0)
    mr = open_volume([TEST_FILES / "MR_small.dcm"])
    assert mr.modality == "MR" and mr.default_window()[1] > 1
    with pytest.raises(VolumeError, match=r"rtplan\.dcm holds no image"):
        open_volume([TEST_FILES / "rtplan.dcm"])
    bare = pydicom.dcmread(TEST_FILES / "CT_small.dcm")
    del bare.PixelData
    bare.save_as(tmp_path / "nopixels.dcm")
    with pytest.raises(VolumeError, match=r"nopixels.dcm\) has no pixel data"):
        open_volume([tmp_path / "nopixels.dcm"]).pixels(0)
    lossy = open_volume([TEST_FILES / "JPEG-lossy.dcm"])
    try:
        lossy.pixels(0)
    except VolumeError as exc:  # no 12-bit JPEG decoder installed: named, with the fix
        assert "JPEG-lossy.dcm" in str(exc) and "pip install pylibjpeg" in str(exc)
    with pytest.raises(VolumeError, match="holds 4 series"):
        open_volume(TEST_FILES / "dicomdirtests" / "77654033")  # 3 CR and a CT together


def test_series_streams_slices(tmp_path: Path) -> None:
    ph = make_phantom(30, 96, seed=2)
    files = ph.write_dicom(tmp_path / "dcm")
    vol = open_volume(tmp_path / "dcm")
    assert isinstance(vol, DicomSeries) and vol.shape == (30, 96, 96)
    assert [s.path for s in vol.slices] == [str(f) for f in files]  # ordered by position
    assert vol.spacing == pytest.approx((1.25, 0.7, 0.7)) and not vol.problems
    for k in range(30):
        vol.pixels(k)
    assert len(vol._cache) <= 16  # only recent slices stay decoded
    assert np.array_equal(vol.pixels(7), ph.slice(7).astype(np.float32))
    nii = open_volume(ph.write_nifti(tmp_path / "ph.nii"))
    assert nii.shape == vol.shape and np.array_equal(nii.pixels(7), vol.pixels(7))


@pytest.fixture
def phantom_ds(tmp_path: Path) -> Any:
    ph = make_phantom(24, 96, lesions=3, seed=5)
    ph.write_dicom(tmp_path / "dcm")
    ds = fo.Dataset(f"ct-{uuid.uuid4().hex[:8]}")
    vol = open_volume(tmp_path / "dcm")
    ids = add_volume(ds, vol)
    yield ds, ph, vol, ids
    ds.delete()


def test_proposals_review_and_exports(phantom_ds: Any, tmp_path: Path, journal: Any) -> None:
    ds, ph, vol, ids = phantom_ds
    assert add_volume(ds, vol) == ids  # added once
    first = ds[ids[3]]
    assert first["nblabel_slice"] == 3 and first["nblabel_instance"] == vol.slices[3].instance_uid
    assert first["nblabel_spacing"] == pytest.approx([1.25, 0.7, 0.7])
    assert first.metadata.width == 96

    report = preannotate_volume(ds, CallableSource(find_nodules, "finder"))
    assert report.images == 24 and not report.errors and report.proposals > 0
    assert preannotate_volume(ds, CallableSource(find_nodules)).skipped == 24

    session = ReviewSession(ds, journal=journal, reviewer="rad", queue=ids, claims=False)
    w = VolumeReviewWidget(session, vol, ids)
    sent: list[dict[str, Any]] = []
    w.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    assert w.pending and w.slice == w.pending[0] and w.window == [-600.0, 1500.0]
    k = w.pending[0]
    boxes = w.boxes_on(k)
    assert boxes and boxes[0][6] == 0 and boxes[0][8] and len(boxes[0][8]) >= 3  # an outline
    w.dispatch({"kind": "act", "seq": 1, "action": "accept", "slice": k, "key": boxes[0][0]})
    assert sent[-1] == {"kind": "answer", "seq": 1, "error": None}
    assert w.boxes_on(k)[0][6] == 1
    w.dispatch({"kind": "act", "seq": 2, "action": "add", "slice": k, "key": "",
               "box": [5, 5, 10, 8]})
    w.dispatch({"kind": "act", "seq": 3, "action": "undo", "slice": k, "key": ""})
    assert all(b[6] != 4 for b in w.boxes_on(k))
    w.dispatch({"kind": "act", "seq": 4, "action": "accept_rest", "slice": k, "key": ""})
    w.dispatch({"kind": "act", "seq": 5, "action": "complete", "slice": k, "key": ""})
    assert k in w.done and w.slice > k  # on to the next slice to review
    for kk in list(w.pending):  # accept every proposal, slice by slice
        w.dispatch({"kind": "act", "seq": 10 + kk, "action": "accept_rest", "slice": kk,
                   "key": ""})
        w.dispatch({"kind": "act", "seq": 100 + kk, "action": "complete", "slice": kk,
                   "key": ""})
    assert not w.pending and k in w.done
    session.flush()
    gt = ds[ids[k]]["ground_truth"].detections
    assert gt and gt[0].mask is not None and gt[0].review == "accepted"
    # Slices stream ahead from a worker thread, as deflated 16-bit pixels.
    w.dispatch({"kind": "want", "slice": 0, "missing": [0, 1, 2]})
    for _ in range(100):
        if any(m.get("kind") == "slices" for m in sent):
            break
        __import__("time").sleep(0.05)
    got = next(m for m in sent if m.get("kind") == "slices")
    assert got["dtypes"][0] == "int16z" and set(got["numbers"]) <= {0, 1, 2}
    w.close()

    nii = export_nifti_labels(ds, tmp_path / "labels.nii.gz")
    labels = np.asarray(nib.load(str(nii)).dataobj).transpose(2, 1, 0)
    assert labels.shape == vol.shape
    assert json.loads(nii.with_name("labels.labels.json").read_text())["1"] == "nodule"
    truth = np.zeros(vol.shape, bool)
    for z in range(vol.shape[0]):
        for m in ph.truth_masks(z):
            truth[z] |= m
    found = labels > 0
    dice = 2 * (found & truth).sum() / (found.sum() + truth.sum())
    assert dice > 0.8  # the reviewed masks are the nodules

    seg_path = export_dicom_seg(ds, tmp_path / "seg.dcm")
    seg = pydicom.dcmread(seg_path)
    assert seg.Modality == "SEG" and seg.SegmentSequence[0].SegmentLabel == "nodule"
    assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == vol.series_uid
    assert int(seg.NumberOfFrames) == int((labels > 0).any(axis=(1, 2)).sum())


def test_nifti_volume_in_fiftyone(tmp_path: Path) -> None:
    ph = make_phantom(12, 64, lesions=2, seed=9)
    path = ph.write_nifti(tmp_path / "vol.nii")
    ds = fo.Dataset(f"nii-{uuid.uuid4().hex[:8]}")
    try:
        ids = add_volume(ds, open_volume(path))
        vol, again = open_series(ds)
        assert again == ids and vol.kind == "nifti" and vol.shape == (12, 64, 64)
        with pytest.raises(ValueError, match="no series 'nope'"):
            open_series(ds, "nope")
        with pytest.raises(ValueError, match="DICOM SEG needs DICOM"):
            export_dicom_seg(ds, tmp_path / "x.dcm")
        out = export_nifti_labels(ds, tmp_path / "empty.nii")
        assert np.allclose(nib.load(str(out)).affine, nib.load(str(path)).affine)
    finally:
        ds.delete()
