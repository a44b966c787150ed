"""The volume widget in real JupyterLab + Chromium: slices step by keys and the slider from
slices sent ahead, window presets and a right-button drag change the window in the browser,
proposals on a slice are accepted by key and moved by a drag, a completed slice moves on to the
next one to review; pydicom's real CT series opens too. Decisions land in FiftyOne per slice."""

from __future__ import annotations

import uuid
from pathlib import Path

import fiftyone as fo
import pydicom
import pytest

from nblabel.core.volume import open_volume
from nblabel.demo.phantom import find_nodules, make_phantom
from nblabel.preannotation.volumes import preannotate_volume
from nblabel.sources import CallableSource
from nblabel.store.volumes import add_volume

TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


@pytest.fixture
def ct_ds(tmp_path):
    ph = make_phantom(40, 128, lesions=4, seed=3)
    ph.write_dicom(tmp_path / "dcm")
    ds = fo.Dataset(f"ct-ui-{uuid.uuid4().hex[:8]}")
    add_volume(ds, open_volume(tmp_path / "dcm"))
    add_volume(ds, open_volume(TEST_FILES / "dicomdirtests" / "77654033" / "CT2"))
    preannotate_volume(ds, CallableSource(find_nodules, "finder"))
    yield ds
    if fo.dataset_exists(ds.name):
        ds.delete()


def _cells(name: str, journal: str, series: str = "None") -> list[str]:
    return ["import nblabel, fiftyone as fo\n"
            "from nblabel.store.journal import DecisionJournal\n"
            f"ds = fo.load_dataset({name!r})\n"
            f"w = nblabel.review_volume(ds, {series}, journal=DecisionJournal({journal!r}), "
            "reviewer='browser-tester')\n"
            "w"]


def _data(page, key: str) -> str | None:
    return page.locator(".nblabel-volume").get_attribute(f"data-{key}")


def _wait(page, js: str) -> None:
    page.wait_for_function(f"() => {{ const d = document.querySelector('.nblabel-volume')"
                           f"?.dataset; return d && ({js}); }}", timeout=20_000)


def test_volume_review_in_the_browser(ct_ds, open_notebook, page, tmp_path):
    ds = ct_ds
    open_notebook("volume.ipynb", _cells(ds.name, str(tmp_path / "journal.db")))
    page.locator(".nblabel-volume").wait_for(timeout=120_000)
    _wait(page, "d.painted !== undefined && d.painted === d.slice")
    first = int(_data(page, "slice"))
    assert int(_data(page, "boxes")) > 0, "it opens on the first slice with proposals"
    assert _data(page, "window") == "-600/1500"  # the series' own window (lung)
    page.locator(".nblabel-volume-info").click()
    for k in range(first + 1, first + 6):  # steps painted from slices sent ahead
        page.keyboard.press("ArrowDown")
        _wait(page, f"d.painted === '{k}'")
    page.keyboard.press("1")  # soft tissue preset
    assert _data(page, "window") == "40/400"
    canvas = page.locator(".nblabel-volume-canvas").bounding_box()
    cx, cy = canvas["x"] + canvas["width"] / 2, canvas["y"] + canvas["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down(button="right")
    page.mouse.move(cx + 60, cy - 30, steps=5)
    page.mouse.up(button="right")
    centre, width = (int(v) for v in _data(page, "window").split("/"))
    assert width > 400 and centre > 40  # sideways widens, upwards raises the centre
    # Back to the first slice with proposals (the slider), review its boxes by key.
    slider = page.locator(".nblabel-volume-slider")
    slider.fill(str(first))
    _wait(page, f"d.painted === '{first}'")
    page.keyboard.press("Tab")  # select the first pending box
    _wait(page, "d.selected")
    page.keyboard.press("a")
    _wait(page, "!d.busy")
    page.keyboard.press("Shift+A")
    _wait(page, "!d.busy")
    page.keyboard.press("Shift+N")  # done: on to the next slice to review
    _wait(page, f"d.slice !== '{first}' && !d.busy")
    page.keyboard.press("?")
    assert "window: lung" in page.locator(".nblabel-volume .nblabel-help").inner_text()
    ds.reload()  # the kernel declared the review's fields
    ids, series, slices = ds.values(["id", "nblabel_series", "nblabel_slice"])
    sid = next(i for i, s, k in zip(ids, series, slices, strict=True)
               if s == series[0] and k == first)
    for _ in range(50):  # the session syncs in the background
        ds.reload()
        gt = ds[sid]["ground_truth"]
        if gt is not None and gt.detections:
            break
        page.wait_for_timeout(200)
    assert gt.detections and gt.detections[0].review == "accepted"
    assert ds[sid]["nblabel_instance"]


def test_real_ct_series_opens(ct_ds, open_notebook, page, tmp_path):
    ds = ct_ds
    series = ds.values("nblabel_series")[-1]
    open_notebook("real.ipynb", _cells(ds.name, str(tmp_path / "j.db"), repr(series)))
    page.locator(".nblabel-volume").wait_for(timeout=120_000)
    _wait(page, "d.painted === '0'")
    assert "inconsistent slice spacing" in page.locator(".nblabel-volume .nblabel-message") \
        .inner_text()
    assert "slice 1/4" in page.locator(".nblabel-volume-info").inner_text()
