"""What every kind shares beyond the widget: team review (shapes images and volume series are
claimed as images and videos are; finishing an item adds its reviewer atomically, with no
read-modify-write of the list), one undo step per action (a track relabeled from a frame on),
and one ``progress`` argument for every pre-annotation run."""

from __future__ import annotations

import threading
from pathlib import Path

import fiftyone as fo
import pytest

import nblabel
from nblabel.store import schema
from nblabel.store.claims import Claims
from nblabel.store.journal import DecisionJournal
from nblabel.store.schema import CLAIM_FIELD, REVIEWED_TAG, REVIEWERS_FIELD
from tests.harness.kinds import build


def test_two_reviewers_open_different_shapes_images(tmp_path: Path) -> None:
    made = build("shapes", tmp_path)
    ds = fo.load_dataset(made.dataset)
    ana = nblabel.review_shapes(ds, journal=DecisionJournal(tmp_path / "a.db"), reviewer="ana")
    ben = nblabel.review_shapes(ds, journal=DecisionJournal(tmp_path / "b.db"), reviewer="ben")
    assert ana.sample_id != ben.sample_id, "ben opens the image ana does not hold"
    finished = ana.sample_id
    ana.dispatch({"kind": "act", "seq": 1, "action": "accept_rest", "shape": ""})
    ana.dispatch({"kind": "act", "seq": 2, "action": "complete", "shape": ""})
    done = list(ds.match_tags(REVIEWED_TAG))
    assert [s.id for s in done] == [finished]
    assert done[0][REVIEWERS_FIELD] == ["ana"] and not done[0][CLAIM_FIELD]


def test_a_series_is_reviewed_by_one_reviewer_at_a_time(tmp_path: Path) -> None:
    made = build("volume", tmp_path)
    ds = fo.load_dataset(made.dataset)
    ana = nblabel.review_volume(ds, journal=DecisionJournal(tmp_path / "a.db"), reviewer="ana")
    with pytest.raises(ValueError, match="is being reviewed by ana"):
        nblabel.review_volume(ds, journal=DecisionJournal(tmp_path / "b.db"), reviewer="ben")
    ana.close()  # releases the series
    ben = nblabel.review_volume(ds, journal=DecisionJournal(tmp_path / "b.db"), reviewer="ben")
    assert ben.n_slices == ana.n_slices
    ben.close()


def test_reviewers_finishing_at_once_lose_no_one(tmp_path: Path) -> None:
    ds = fo.Dataset()
    sid = ds.add_sample(fo.Sample(filepath=str(tmp_path / "x.png")))
    schema.declare(ds, {REVIEWERS_FIELD: "list[str]", CLAIM_FIELD: "dict"})
    names = [f"r{i}" for i in range(12)]
    go = threading.Barrier(len(names))

    def finish(name: str) -> None:
        go.wait()
        Claims(ds, name).finish(sid)

    threads = [threading.Thread(target=finish, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ds.reload()
    assert sorted(ds[sid][REVIEWERS_FIELD]) == sorted(names)
    assert ds[sid].tags == [REVIEWED_TAG]
    ds.delete()


def test_a_track_relabeled_from_a_frame_on_is_one_undo_step(tmp_path: Path) -> None:
    made = build("video", tmp_path)
    ds = fo.load_dataset(made.dataset)
    w = nblabel.review_video(ds, journal=DecisionJournal(tmp_path / "j.db"), reviewer="ana")
    r = w.session
    tid = w.selected
    t = r.tracks[tid]
    mid = t.frames[len(t.frames) // 2]
    n = len(r.tracks)
    r.relabel(tid, "zebra", from_frame=mid)
    assert len(r.tracks) == n + 1 and r.tracks[tid].label == t.label
    (tail,) = [x for x in r.tracks.values() if x.label == "zebra"]
    assert tail.first == mid and r.tracks[tid].last < mid
    assert r.undo() and len(r.tracks) == n and r.tracks[tid].label == t.label
    w.close()


def test_every_preannotation_run_reports_progress_the_same_way(tmp_path: Path) -> None:
    from nblabel.demo.synthetic import make_shapes
    from nblabel.demo.video import ReplayTracker, write_sprite_video
    from nblabel.sources.tracker import CallableTracker

    images = make_shapes(tmp_path / "img", 5, seed=2)
    ds = fo.Dataset()
    ds.add_samples([fo.Sample(filepath=str(i.path)) for i in images], progress=False)
    seen: list[tuple[int, int]] = []
    nblabel.preannotate_labels(ds, lambda image: {"circle": 0.5}, batch_size=2,
                               progress=lambda done, total: seen.append((done, total)))
    assert seen == [(2, 5), (4, 5), (5, 5)]
    video = write_sprite_video(tmp_path / "v.mp4", n_objects=1, frames=20, seed=1)
    vds = fo.Dataset()
    vds.add_sample(fo.Sample(filepath=str(video.path)))
    frames: list[tuple[int, int]] = []
    nblabel.track_videos(vds, CallableTracker(ReplayTracker(video.tracks, video.labels())),
                         window=8, progress=lambda done, total: frames.append((done, total)))
    assert frames == [(8, 20), (16, 20), (20, 20)]
    ds.delete()
    vds.delete()


@pytest.mark.slow
def test_labels_shapes_and_slices_run_on_ray_as_they_run_here(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    from nblabel.core.volume import open_volume
    from nblabel.demo.phantom import find_nodules, make_phantom
    from nblabel.demo.poses import STICK, make_pose_dataset
    from nblabel.sources import CallableSource
    from nblabel.sources.shapes import CallableShapes
    from nblabel.store.volumes import add_volume

    make_phantom(8, 64, lesions=2, seed=3).write_dicom(tmp_path / "dcm")
    cts = fo.Dataset()
    add_volume(cts, open_volume(tmp_path / "dcm"))
    finder = CallableSource(find_nodules, "finder")
    here_slices = nblabel.preannotate_volume(cts, finder, field="here", progress=False)

    items = make_pose_dataset(tmp_path / "poses", 4, seed=5)
    ds = fo.Dataset()
    ds.add_samples([fo.Sample(filepath=str(p)) for p, _ in items], progress=False)

    def labels(image):
        return {"bright": round(float(image.mean()) / 255, 3), "wide": 0.9}

    def figures(image):
        h, w = image.shape[:2]
        return [{"label": "person", "points": [[w / 2 + i, h / 2 + i] for i in range(7)],
                 "confidence": [0.5] * 7, "score": 0.7}]

    shapes = CallableShapes(figures, skeleton=STICK, name="fixed")
    from nblabel.demo.tracks import faulty_tracks
    from nblabel.demo.video import ReplayTracker, write_sprite_video
    from nblabel.sources.tracker import CallableTracker

    video = write_sprite_video(tmp_path / "v.mp4", n_objects=2, frames=24, seed=1)
    replay = CallableTracker(ReplayTracker(faulty_tracks(video.tracks, share=0.3, seed=1).tracks,
                                           video.labels()))
    vds = fo.Dataset()  # the same clip twice: a replay tracker proposes its tracks on each
    vds.add_samples([fo.Sample(filepath=str(video.path)) for _ in range(2)])
    here_tracks = nblabel.track_videos(vds, replay, field="here", window=8, progress=False)
    here = nblabel.preannotate_labels(ds, labels, "here", progress=False, batch_size=3)
    here_shapes = nblabel.preannotate_shapes(ds, shapes, "kp_here", progress=False)
    try:
        there = nblabel.preannotate_labels(ds, labels, "there", progress=False, batch_size=3,
                                           backend="ray", num_workers=2)
        there_shapes = nblabel.preannotate_shapes(ds, shapes, "kp_there", progress=False,
                                                  backend="ray", num_workers=2)
        there_slices = nblabel.preannotate_volume(cts, finder, field="there", progress=False,
                                                  backend="ray", num_workers=2)
        there_tracks = nblabel.track_videos(vds, replay, field="there", window=8,
                                            progress=False, backend="ray", num_workers=2,
                                            overwrite=True)
    finally:
        ray.shutdown()
    assert there_slices.proposals == here_slices.proposals > 0
    assert cts.values("here.detections.bounding_box") == \
        cts.values("there.detections.bounding_box")
    cts.delete()
    assert (there_tracks.videos, there_tracks.frames, there_tracks.boxes) == \
        (here_tracks.videos, here_tracks.frames, here_tracks.boxes) == (2, 48, here_tracks.boxes)
    assert here_tracks.boxes > 0
    assert vds.values("frames.here.detections.bounding_box") == \
        vds.values("frames.there.detections.bounding_box")
    vds.delete()
    assert (there.images, there.labels) == (here.images, here.labels) == (4, 8)
    assert there_shapes.shapes == here_shapes.shapes == 4
    for s in ds:
        assert [(c.label, c.confidence) for c in s.here.classifications] == \
            [(c.label, c.confidence) for c in s.there.classifications]
        assert s.kp_here.keypoints[0].points == s.kp_there.keypoints[0].points
    ds.delete()
