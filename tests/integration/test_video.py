"""Video by track, in a real FiftyOne video dataset: streamed, resumable track proposals (a
callable tracker and an ultralytics detector with ByteTrack), bad videos named, a review a
track at a time (journaled, undone, reloaded, written to frames), export read back."""

from __future__ import annotations

import uuid
from pathlib import Path

import fiftyone as fo
import motmetrics as mm
import pytest

from nblabel.core.video import VideoError, VideoReader, probe
from nblabel.curation.video_eval import evaluate_tracks, mot_scores, tracks_of
from nblabel.curation.video_export import export_tracks
from nblabel.demo.tracks import faulty_tracks
from nblabel.demo.video import ReplayTracker, track_class, truncate, write_sprite_video
from nblabel.preannotation.tracking import track_videos
from nblabel.reviewing.video.tracks import TrackReview
from nblabel.sources.base import ProposalError
from nblabel.sources.tracker import CallableTracker, UltralyticsTracker
from nblabel.store.journal import DecisionJournal
from nblabel.store.schema import ERROR_FIELD, TRACKED_FRAMES_FIELD


@pytest.fixture
def videos(tmp_path):
    vids = [write_sprite_video(tmp_path / f"v{i}.mp4", n_objects=6, frames=90, seed=i)
            for i in range(2)]
    ds = fo.Dataset(f"video-{uuid.uuid4().hex[:8]}")
    ds.add_samples([fo.Sample(filepath=str(v.path)) for v in vids])
    yield ds, vids
    ds.delete()


def _truth_into(ds, vids, field="truth"):
    for s, v in zip(ds, vids, strict=True):
        for tid, boxes in v.tracks.items():
            for b in boxes:
                frame = s.frames[b.frame]
                dets = frame[field].detections if frame.has_field(field) and frame[field] else []
                x, y, w, h = b.box
                dets.append(fo.Detection(label=track_class(tid), index=int(tid[1:]),
                                         bounding_box=[x / v.width, y / v.height, w / v.width,
                                                       h / v.height]))
                frame[field] = fo.Detections(detections=dets)
        s.save()


def test_tracks_streamed_resumed_reviewed_and_exported(videos, tmp_path):
    ds, vids = videos
    faulty = [faulty_tracks(v.tracks, share=0.5, seed=i) for i, v in enumerate(vids)]
    replays = iter([ReplayTracker(f.tracks, vids[0].labels() | vids[1].labels()) for f in faulty])
    current = {"r": next(replays)}

    def replay(frames):
        return current["r"](frames)

    def reset():
        pass

    replay.reset = reset  # type: ignore[attr-defined]
    # The first video only (a run stopped after it), then the whole view: the first is skipped.
    first = track_videos(ds.limit(1), CallableTracker(replay, name="replay"), window=16)
    assert first.videos == 1 and first.frames == 90
    assert current["r"].calls == 6, "90 frames in windows of 16"
    current["r"] = next(replays)
    rest = track_videos(ds, CallableTracker(replay, name="replay"), window=16)
    assert (rest.videos, rest.skipped) == (1, 1)
    assert ds.values(TRACKED_FRAMES_FIELD) == [90, 90]
    assert ds.values("metadata.total_frame_count") == [90, 90]
    got = tracks_of(ds, "tracks")
    sid = ds.first().id
    assert len(got[sid]) == len(faulty[0].tracks)
    # Suspicion first: the faulty tracks lead the review order.
    _truth_into(ds, vids)
    journal = DecisionJournal(tmp_path / "journal.db")
    review = TrackReview(ds, sid, journal=journal, reviewer="tester")
    order = review.pending
    faults = {str(int(t[1:])) for t in faulty[0].faults}
    top = order[: len(faults)]
    assert len(set(top) & faults) >= len(faults) - 1, (top, faults)
    # Fix them: end a drift, reject the rest of the faulty ones, accept the others.
    before = evaluate_tracks(ds.select(sid), "tracks", "truth")
    for tid in faults:
        kind = faulty[0].faults[f"t{tid}"]
        if kind == "drift":
            truth = {b.frame: b.box for b in vids[0].tracks[f"t{tid}"]}
            frames = review.tracks[tid].frames
            review.fix_box(tid, frames[-1], truth[frames[-1]])
            review.fix_box(tid, frames[len(frames) // 2], truth[frames[len(frames) // 2]])
        elif kind == "lost":
            review.accept(tid)  # the gap is filled when written
    for tid in list(faults):
        if faulty[0].faults[f"t{tid}"] == "switch":
            others = [o for o in faults if o != tid and faulty[0].faults[f"t{o}"] == "switch"]
            crossing = _first_crossing_frame(vids[0], f"t{tid}")
            if others and crossing is not None and review.tracks[tid].status == "pending":
                review.swap(tid, others[0], crossing)
    n_steps = len(review.history.undo)
    review.accept_rest()
    assert not review.pending
    review.complete()
    with pytest.raises(ValueError, match="cannot be split at frame"):
        review.split(order[0], 10_000)
    after = evaluate_tracks(ds.select(sid), "gt_tracks", "truth")
    assert after.idf1 >= before.idf1 and after.mota >= before.mota - 0.01, (before, after)
    # Undo brings a step back, in memory, in the journal and in FiftyOne; reload agrees.
    written = ds.count("frames.gt_tracks.detections")
    assert review.undo()  # the accept_rest
    assert len(review.history.undo) == n_steps and review.pending
    reloaded = TrackReview(ds, sid, journal=journal, reviewer="tester")
    assert {t: r.status for t, r in reloaded.tracks.items()} == \
        {t: r.status for t, r in review.tracks.items()}
    assert ds.count("frames.gt_tracks.detections") < written, "the undone accepts are unwritten"
    assert review.redo()
    assert ds.count("frames.gt_tracks.detections") == written
    # Export: CVAT video, MOT text, FiftyOne; each read back.
    reviewed = ds.match_tags("reviewed")
    assert len(reviewed) == 1
    mot_dir = export_tracks(ds, tmp_path / "mot", "mot")
    gt = mm.io.loadtxt(str(mot_dir / "v0" / "gt" / "gt.txt"), fmt="mot16")
    assert len(gt) == written
    cvat_dir = export_tracks(ds, tmp_path / "cvat", "cvat")
    back = fo.Dataset.from_dir(dataset_dir=str(cvat_dir), dataset_type=fo.types.CVATVideoDataset)
    assert back.count("frames.detections.detections") == written
    assert len(set(back.values("frames.detections.detections.index", unwind=True))) == \
        len({t for t, r in review.tracks.items() if r.status != "rejected"})
    back.delete()
    fo_dir = export_tracks(ds, tmp_path / "fo", "fiftyone")
    again = fo.Dataset.from_dir(dataset_dir=str(fo_dir), dataset_type=fo.types.FiftyOneDataset)
    assert again.count("frames.gt_tracks.detections") == written
    again.delete()
    journal.close()


def _first_crossing_frame(video, tid):
    from nblabel.core.geometry import iou

    mine = {b.frame: b.box for b in video.tracks[tid]}
    for other, boxes in video.tracks.items():
        if other == tid:
            continue
        for b in boxes:
            if b.frame in mine and iou(mine[b.frame], b.box) >= 0.3:
                return b.frame
    return None


def test_bad_videos_are_named_and_the_run_goes_on(tmp_path):
    good = write_sprite_video(tmp_path / "good.mkv", frames=40)
    cut = truncate(good.path, tmp_path / "cut.mkv", 0.5)  # frames before the damage are read
    cut_mp4 = truncate(write_sprite_video(tmp_path / "g.mp4", frames=20).path,
                       tmp_path / "cut.mp4", 0.5)  # the index is at the end: nothing opens
    (tmp_path / "text.mp4").write_text("not a video")
    vfr = write_sprite_video(tmp_path / "vfr.mp4", frames=30, variable_rate=True)
    assert probe(vfr.path).variable_rate and probe(vfr.path).frame_count == 30
    with pytest.raises(VideoError, match=r"text\.mp4"):
        probe(tmp_path / "text.mp4")
    with pytest.raises(VideoError, match=r"cut\.mp4"):
        probe(cut_mp4)
    with pytest.raises(VideoError, match=r"cut\.mkv, frame \d+"):
        list(VideoReader(cut).frames())
    ds = fo.Dataset(f"bad-video-{uuid.uuid4().hex[:8]}")
    paths = [good.path, cut, cut_mp4, tmp_path / "text.mp4", vfr.path]
    ds.add_samples([fo.Sample(filepath=str(p)) for p in paths])

    def nothing(frames):
        return [[] for _ in frames]

    report = track_videos(ds, CallableTracker(nothing), window=8)
    errors = dict(zip(ds.values("filepath"), ds.values(ERROR_FIELD), strict=True))
    assert errors[str(good.path)] is None and errors[str(vfr.path)] is None
    assert "cut.mkv" in errors[str(cut)] and "frame" in errors[str(cut)]
    assert "cut.mp4" in errors[str(cut_mp4)] and "text.mp4" in errors[str(tmp_path / "text.mp4")]
    assert report.videos == 3 and len(report.errors) == 3
    # A tracker that fails on the first window stops the run with its reason.

    def broken(frames):
        raise RuntimeError("CUDA out of memory (test)")

    with pytest.raises(ProposalError, match="out of memory"):
        track_videos(ds.select(ds.first().id), CallableTracker(broken), overwrite=True)
    ds.delete()


@pytest.mark.parametrize("tracker", ["bytetrack.yaml", "botsort.yaml"])
def test_ultralytics_trackers_propose_tracks_on_a_generated_video(demo_model, tmp_path,
                                                                    tracker):
    video = write_sprite_video(tmp_path / "sprites.mp4", n_objects=4, frames=48, seed=3)
    ds = fo.Dataset(f"yolo-video-{uuid.uuid4().hex[:8]}")
    ds.add_sample(fo.Sample(filepath=str(video.path)))
    report = track_videos(ds, UltralyticsTracker(str(demo_model), tracker=tracker, imgsz=640),
                          window=16)
    assert report.frames == 48 and report.boxes > 0
    pred = tracks_of(ds, "tracks")[ds.first().id]
    truth = {t: bs for t, bs in video.tracks.items()}
    scores = mot_scores(truth, pred)
    assert scores.matches > 0.5 * scores.objects, scores
    assert set(ds.distinct("frames.tracks.detections.label")) <= {"circle", "square",
                                                                   "triangle"}
    ds.delete()


def test_reading_a_window_holds_only_that_window(tmp_path):
    video = write_sprite_video(tmp_path / "long.mp4", frames=200, gop=25)
    reader = VideoReader(video.path)
    window = list(reader.frames(120, 130))
    assert [n for n, _ in window] == list(range(120, 131))
    seq = dict(reader.frames(100, 130))
    assert all((seq[n] == img).all() for n, img in window), "seeking gives the same frames"
    assert Path(video.path).stat().st_size > 0


def test_retracking_from_a_fixed_box_follows_the_object(tmp_path):
    from nblabel.core.geometry import iou

    video = write_sprite_video(tmp_path / "drift.mp4", n_objects=3, frames=80, seed=7)
    tid = max(video.tracks, key=lambda t: len(video.tracks[t]))
    truth = {b.frame: b.box for b in video.tracks[tid]}
    # The tracker drifts off the object from the track's 10th frame on.
    frames = sorted(truth)
    start = frames[10]
    drifted = {f: (b[0] + 3.0 * max(0, f - start), b[1], b[2], b[3]) for f, b in truth.items()}
    labels = video.labels()
    from nblabel.core.tracks import TrackBox

    proposed = {tid: [TrackBox(f, b, 0.9) for f, b in sorted(drifted.items())]}
    ds = fo.Dataset(f"retrack-{uuid.uuid4().hex[:8]}")
    ds.add_sample(fo.Sample(filepath=str(video.path)))
    track_videos(ds, CallableTracker(ReplayTracker(proposed, labels)), window=16)
    journal = DecisionJournal(tmp_path / "j.db")
    review = TrackReview(ds, ds.first().id, journal=journal)
    key = str(int(tid[1:]))
    span = [f for f in frames if start < f <= start + 30]
    before = sum(iou(review.tracks[key].boxes[f], truth[f]) >= 0.7 for f in span)
    review.retrack(key, start, truth[start])
    after = sum(iou(review.tracks[key].boxes[f], truth[f]) >= 0.7 for f in span)
    assert before < len(span) // 2 and after >= 0.8 * len(span), (before, after, len(span))
    assert review.tracks[key].keyframes == {start} and len(review.history.undo) == 1
    journal.close()
    ds.delete()


def test_a_reused_track_id_is_named_and_split(tmp_path):
    video = write_sprite_video(tmp_path / "reuse.mp4", n_objects=1, frames=100, seed=2)

    def tracker(frames, state={"n": 0}):  # noqa: B006 - the frame counter across windows
        out = []
        for _ in frames:
            state["n"] += 1
            n = state["n"]
            boxes = []
            if n <= 20 or n >= 80:  # id 1 for one object, then (after 59 frames) another
                boxes.append((1, "circle", (10.0 + n, 10.0, 20.0, 20.0), 0.9))
            if n == 5:  # id 2 on two boxes of one frame
                boxes += [(2, "square", (200.0, 50.0, 30.0, 30.0), 0.8),
                          (2, "square", (400.0, 50.0, 30.0, 30.0), 0.8)]
            out.append(boxes)
        return out

    ds = fo.Dataset(f"reuse-{uuid.uuid4().hex[:8]}")
    ds.add_sample(fo.Sample(filepath=str(video.path)))
    track_videos(ds, CallableTracker(tracker), window=16)
    review = TrackReview(ds, ds.first().id, journal=DecisionJournal(tmp_path / "j.db"))
    assert sorted(review.tracks) == ["1", "1~2", "2", "2~2"]
    assert review.tracks["1"].last == 20 and review.tracks["1~2"].first == 80
    text = " ".join(review.problems)
    assert "track id 1 comes back on frame 80 after 60 frames" in text
    assert "track id 2 is on two boxes of frame 5" in text
    review.accept("1~2")
    ds.reload()
    assert len({d.index for d in ds.first().frames[90]["gt_tracks"].detections}) == 1
    ds.delete()


def test_team_review_on_videos_and_its_table(videos, tmp_path):
    import nblabel
    from nblabel.curation.video_eval import review_table

    ds, vids = videos
    faulty = [faulty_tracks(v.tracks, seed=i) for i, v in enumerate(vids)]
    labels = vids[0].labels() | vids[1].labels()
    for s, f in zip(ds, faulty, strict=True):
        track_videos(ds.select(s.id), CallableTracker(ReplayTracker(f.tracks, labels)))
    journal = DecisionJournal(tmp_path / "team.db")
    ana = nblabel.review_video(ds, journal=journal, reviewer="ana")
    ben = nblabel.review_video(ds, journal=journal, reviewer="ben")
    assert ana.sample_id != ben.sample_id, "two reviewers get two videos"
    with pytest.raises(ValueError, match="being reviewed by ana"):
        nblabel.review_video(ds, ana.sample_id, journal=journal, reviewer="ben")
    with pytest.raises(ValueError, match=r"no video of .* is left"):
        nblabel.review_video(ds, journal=journal, reviewer="cy")
    first = ana.session.pending[0]
    ana.session.reject(first)
    ana.session.accept_rest()
    ana.session.complete()
    done = ds.select(ana.sample_id)
    assert done.values("nblabel_reviewers") == [["ana"]]
    assert done.values("nblabel_claim") == [None], "completing releases the claim"
    table = review_table(ds, journal)
    row = table[table.reviewer == "ana"].iloc[0]
    assert row.video == ana.sample_id and row.rejected == 1
    assert row.kept == len(ana.session.tracks) - 1 and row.actions == len(ana.session.tracks)
    ana.close()
    ben.close()
