"""The shapes widget in real JupyterLab + Chromium: a keypoint skeleton is drawn, a point is
dragged, marked occluded and removed by keys, an instance accepted and another drawn point by
point, undo works, the image is completed and the next one opens; a polyline's vertex is
dragged. Every decision lands in the journal and in FiftyOne."""

from __future__ import annotations

import uuid

import fiftyone as fo
import numpy as np
import pytest

from nblabel.demo.poses import STICK, make_pose_dataset
from nblabel.preannotation.shapes import preannotate_shapes
from nblabel.sources.shapes import CallableShapes
from nblabel.store.journal import DecisionJournal


@pytest.fixture
def pose_ds(tmp_path):
    items = make_pose_dataset(tmp_path / "img", 3, seed=21)
    ds = fo.Dataset(f"shapes-ui-{uuid.uuid4().hex[:8]}")
    ds.add_samples([fo.Sample(filepath=str(p)) for p, _ in items], progress=False)
    it = iter(items)

    def propose(image: np.ndarray) -> list[dict]:
        _, figs = next(it)
        return [{"label": f.label, "points": [[x, y] for x, y, _ in f.points],
                 "confidence": [0.9, 0.8, 0.7, 0.3, 0.6, 0.5, 0.4]} for f in figs]

    preannotate_shapes(ds, CallableShapes(propose, skeleton=STICK), batch_size=1)
    yield ds
    if fo.dataset_exists(ds.name):
        ds.delete()


def _cells(name: str, journal: str, kind: str = "keypoints") -> list[str]:
    return ["import nblabel, fiftyone as fo\n"
            "from nblabel.store.journal import DecisionJournal\n"
            f"ds = fo.load_dataset({name!r})\n"
            f"w = nblabel.review_shapes(ds, {kind!r}, journal=DecisionJournal({journal!r}), "
            "reviewer='browser-tester')\n"
            "w"]


def _data(page, key: str) -> str | None:
    return page.locator(".nblabel-shapes").get_attribute(f"data-{key}")


def _idle(page) -> None:
    page.wait_for_function("() => !document.querySelector('.nblabel-shapes').dataset.busy",
                           timeout=15_000)


def _to_screen(page, x: float, y: float, w: int, h: int) -> tuple[float, float]:
    rect = page.locator(".nblabel-shapes-canvas").bounding_box()
    return rect["x"] + x / w * rect["width"], rect["y"] + y / h * rect["height"]


def test_keypoint_review_in_the_browser(pose_ds, open_notebook, page, tmp_path):
    ds = pose_ds
    journal = str(tmp_path / "journal.db")
    open_notebook("shapes.ipynb", _cells(ds.name, journal))
    page.locator(".nblabel-shapes").wait_for(timeout=120_000)
    page.wait_for_function("() => document.querySelector('.nblabel-shapes')?.dataset.painted",
                           timeout=60_000)
    page.locator(".nblabel-shapes-info").click()
    sid = _data(page, "sample")
    first = _data(page, "selected")
    assert first and int(_data(page, "shapes")) >= 1
    w, h = ds[sid].metadata.width, ds[sid].metadata.height
    # "." selects the least confident point first: left_hand (0.3), index 3.
    page.keyboard.press(".")
    page.wait_for_function("() => document.querySelector('.nblabel-shapes').dataset.point"
                           " === '3'", timeout=10_000)
    kp = next(k for k in ds[sid]["keypoints"].keypoints if k.id == first)
    hx, hy = kp.points[3][0] * w, kp.points[3][1] * h
    sx, sy = _to_screen(page, hx, hy, w, h)
    page.mouse.move(sx, sy)
    page.mouse.down()
    page.mouse.move(sx + 8, sy + 4, steps=4)
    page.mouse.move(sx + 15, sy + 9, steps=4)
    page.mouse.up()
    _idle(page)
    page.keyboard.press("v")  # the dragged point is occluded
    _idle(page)
    page.keyboard.press(".")  # the next least confident: right_foot (0.4), index 6
    page.wait_for_function("() => document.querySelector('.nblabel-shapes').dataset.point"
                           " === '6'", timeout=10_000)
    page.keyboard.press("x")  # not there
    _idle(page)
    page.keyboard.press("a")  # accept the rest of the instance
    _idle(page)
    ds.reload()
    got = next(k for k in ds[sid]["gt_keypoints"].keypoints if k.id == first)
    assert got.points[3][0] * w > hx + 3  # moved right
    assert got.visible[3] == 1 and got.visible[6] == 0 and got.review == "edited"
    # Draw a new instance point by point: head and neck placed, the rest skipped.
    before = int(_data(page, "shapes"))
    page.keyboard.press("n")
    for x, y in ((20, 20), (20, 35)):
        page.mouse.click(*_to_screen(page, x, y, w, h))
    page.wait_for_function("() => document.querySelector('.nblabel-shapes').dataset.drawing"
                           " === '2'", timeout=10_000)
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => document.querySelector('.nblabel-shapes').dataset.shapes"
                           f" === '{before + 1}'", timeout=15_000)
    page.keyboard.press("u")  # undo the drawing
    page.wait_for_function(f"() => document.querySelector('.nblabel-shapes').dataset.shapes"
                           f" === '{before}'", timeout=15_000)
    page.keyboard.press("?")
    assert page.locator(".nblabel-shapes .nblabel-help").is_visible()
    assert "mark the selected point occluded" in page.locator(".nblabel-help").inner_text()
    page.keyboard.press("?")
    page.keyboard.press("Shift+A")
    _idle(page)
    page.keyboard.press("Shift+N")  # done: the next image opens
    page.wait_for_function(f"() => document.querySelector('.nblabel-shapes').dataset.painted"
                           f" && document.querySelector('.nblabel-shapes').dataset.sample"
                           f" !== '{sid}'", timeout=15_000)
    assert "reviewed" in ds[sid].tags
    assert len(DecisionJournal(journal).payloads(f"{ds.name}/shapes:keypoints", [sid])) >= 6


def test_polyline_vertex_editing_in_the_browser(tmp_path, open_notebook, page):
    items = make_pose_dataset(tmp_path / "img", 1, seed=5)
    ds = fo.Dataset(f"lines-ui-{uuid.uuid4().hex[:8]}")
    ds.add_samples([fo.Sample(filepath=str(p)) for p, _ in items], progress=False)
    line = [[20.0, 20.0], [80.0, 20.0], [140.0, 20.0]]
    preannotate_shapes(ds, CallableShapes(lambda im: [{"label": "road", "points": line}],
                                          kind="polyline"))
    try:
        open_notebook("lines.ipynb", _cells(ds.name, str(tmp_path / "j.db"), "polyline"))
        page.locator(".nblabel-shapes").wait_for(timeout=120_000)
        page.wait_for_function("() => document.querySelector('.nblabel-shapes')?.dataset"
                               ".painted", timeout=60_000)
        sid = _data(page, "sample")
        w, h = ds[sid].metadata.width, ds[sid].metadata.height
        sx, sy = _to_screen(page, 80, 20, w, h)  # drag the middle vertex down
        page.mouse.move(sx, sy)
        page.mouse.down()
        page.mouse.move(sx, sy + 10, steps=4)
        page.mouse.move(*_to_screen(page, 80, 60, w, h), steps=4)
        page.mouse.up()
        page.wait_for_function("() => document.querySelector('.nblabel-shapes').dataset"
                               ".pending === '0'", timeout=15_000)
        page.keyboard.down("Shift")  # Shift+click on the last vertex removes it
        page.mouse.click(*_to_screen(page, 140, 20, w, h))
        page.keyboard.up("Shift")
        _idle(page)
        ds.reload()
        got = ds[sid]["gt_polylines"].polylines[0]
        pts = [(round(x * w), round(y * h)) for x, y in got.points[0]]
        assert len(pts) == 2 and pts[0] == (20, 20) and abs(pts[1][1] - 60) <= 2
        assert got.review == "edited"
    finally:
        ds.delete()
