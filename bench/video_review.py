"""Video review by track against reviewing boxes frame by frame: human effort, tracking quality,
proposal throughput and memory.

Data: generated videos of moving shapes (``nblabel.demo.video``: crossings, occlusions, entries
and exits; the truth is the drawn tracks). Two families of proposals:

- ``bytetrack``: the demo detector (trained here on generated shapes) with ultralytics' ByteTrack,
  run by ``nblabel.preannotation.tracking.track_videos`` into FiftyOne (real tracker faults:
  fragments, identity switches at occlusions, missed frames);
- ``faulty``: the truth with known faults on half the tracks (``nblabel.demo.tracks``: identity
  switch at a crossing, drift, lost frames), to check the result on a second kind of error.

(a) Effort. A simulated reviewer who knows the truth (the same for both ways):

- frame by frame: every frame's proposals reviewed as images (``nblabel.core.cost.replay``:
  accept 1 s, reject 1 s, edit 4 s, draw 7 s, 1 s per frame);
- by track (``nblabel.core.track_edits``): watch the video once at its frame rate, 1 s to look
  at each track, 2 s per track action (accept, reject, split, merge, end: select and press a
  key, two verifications' worth), 5 s per keyframe (a box edit, 4 s, and 1 s to reach the
  frame), 5 s per bridge (mark where a stretch of wrong boxes starts and ends on the timeline,
  as much as a keyframe), and a missed object drawn as a new track from keyframes. Split where
  the track's true identity changes, reject pieces on no object, merge pieces of one object,
  end or trim what runs past it, bridge each stretch of wrong boxes between right ones when
  interpolation puts it right (an occlusion), then keyframes at the worst frame until every
  box has IoU >= 0.7 with the truth (at most one per 5 frames), then accept.

``saving``: 1 - track seconds / frame-by-frame seconds, over all videos of both families (the
worse family is printed too).

(b) Tracking quality of the proposals and of the reviewed tracks against the truth: MOTA and
IDF1 (``nblabel.curation.video_eval``, motmetrics), HOTA (TrackEval, installed by setup.sh).

(c) ``ratio``: frames per second of ``track_videos`` (PyAV decoding, the tracker in windows of
32 frames, bulk FiftyOne frame writes) over plain ``YOLO.track(video, stream=True)``, the same
model and video, alternated, best of 3 each.

(e) ``memory_ratio_10x``: peak memory growth (RSS) of ``track_videos`` on a 10,000-frame video
over a 1,000-frame one (a cheap tracker, so the pipeline is measured, not the model), each in a
fresh process.

(d) ``frame_p95_ms``: the video widget (``nblabel.review_video``) in JupyterLab and headless
Chromium on a 1080p video of 300 frames; ArrowRight pressed every 40 ms (25 fps) from the
widget's first frame; each step timed from the key to the first animation frame after the
widget painted that frame (``data-painted``), so a frame still on its way from the kernel
counts its wait; then again with the view zoomed to 4x (``frame_p95_zoom4_ms``: the frame sent
ahead is painted at once, the full-resolution frame follows from its own worker). ``--quick``
skips it; ``--steps-only`` runs only it.
"""

from __future__ import annotations

import itertools
import multiprocessing
import resource
import threading
import time

import numpy as np

from common import emit, parse_args, print_table, private_fiftyone, steps_in_chromium

FPS = 25
TRACK_LOOK, TRACK_ACTION, KEYFRAME, BRIDGE = 1.0, 2.0, 5.0, 5.0
ACCEPT_IOU = 0.7
#: 640 px frames seen at 320 px (the demo detector's scale: 160 px for 320 px images).
IMGSZ = 320


def _iou(a, b) -> float:
    from nblabel.core.geometry import iou

    return float(iou(a, b))


def frame_by_frame_seconds(truth, pred, labels) -> float:
    from nblabel.core.cost import CostModel, replay
    from nblabel.core.labels import Box, Proposal

    cost = CostModel()
    frames = {b.frame for bs in truth.values() for b in bs} | {
        b.frame for t in pred for b in t.track_boxes()}
    total = 0.0
    for f in sorted(frames):
        kept = [(labels[t], Box(*b.box)) for t, bs in truth.items() for b in bs if b.frame == f]
        shown = [Proposal(t.label, Box(*t.boxes[f]), t.confidence.get(f) or 0.5)
                 for t in pred if f in t.boxes]
        r = replay(shown, kept)
        total += cost.seconds(len(r.accepted), len(r.rejected), len(r.edited), len(r.drawn))
    return total


def _owner(box, truth_at) -> tuple[str | None, float]:
    best, best_iou = None, 0.0
    for tid, tb in truth_at.items():
        v = _iou(box, tb)
        if v > best_iou:
            best, best_iou = tid, v
    return (best, best_iou) if best_iou >= 0.3 else (None, best_iou)


def review_by_track(truth, pred, labels, frames: int):
    """The simulated track review (module doc): the seconds and the reviewed tracks."""
    from nblabel.core import track_edits as te

    by_frame: dict[int, dict[str, tuple]] = {}
    for tid, bs in truth.items():
        for b in bs:
            by_frame.setdefault(b.frame, {})[tid] = b.box
    seconds = frames / FPS + TRACK_LOOK * len(pred)
    pieces: dict[str, list] = {}
    out = []
    next_id = 10_000
    for t in pred:
        owners = [(f, _owner(t.boxes[f], by_frame.get(f, {}))[0]) for f in t.frames]
        cuts = [f for (_, a), (f, b) in itertools.pairwise(owners)
                if a != b and a is not None and b is not None]
        parts = [t]
        for f in cuts:  # an identity change: split there
            head = parts.pop()
            next_id += 1
            parts.extend(te.split(head, f, str(next_id)))
            seconds += TRACK_ACTION
        for p in parts:
            who = [_owner(p.boxes[f], by_frame.get(f, {}))[0] for f in p.frames]
            major = max(set(who), key=who.count)
            if major is None or who.count(major) < 0.5 * len(who):
                out.extend(te.reject(p))
                seconds += TRACK_ACTION
            else:
                pieces.setdefault(major, []).append(p)
    for tid, ps in pieces.items():
        ps.sort(key=lambda p: p.first)
        track = ps[0]
        for other in ps[1:]:
            merged, rejected = te.merge(track, other)
            out.append(rejected)
            track = merged
            seconds += TRACK_ACTION
        lo, hi = truth[tid][0].frame, truth[tid][-1].frame
        if track.last > hi:
            (track,) = te.end(track, hi)
            seconds += TRACK_ACTION
        if track.first < lo:
            _, track = te.split(track, lo, track.id)
            seconds += 2 * TRACK_ACTION  # split and reject the head
        track, secs = _keyframes(track, {b.frame: b.box for b in truth[tid]})
        seconds += secs + TRACK_ACTION
        out.extend(te.accept(track) if track.status == "pending" else [track])
    for tid in set(truth) - set(pieces):  # missed: drawn as a new track from keyframes
        boxes = {b.frame: b.box for b in truth[tid]}
        ends = {min(boxes): boxes[min(boxes)], max(boxes): boxes[max(boxes)]}
        (track,) = te.new_track(f"new-{tid}", labels[tid], ends)
        track, secs = _keyframes(track, boxes)
        seconds += secs + 2 * KEYFRAME + TRACK_ACTION
        out.append(track)
    return seconds, out


def _bridges(track, true_boxes):
    """Bridge each stretch of wrong boxes that has right ones on both sides, when linear
    interpolation puts the whole stretch right (a hidden object), 5 s each."""
    from nblabel.core import track_edits as te

    def good(t, f):
        return f in t.boxes and _iou(t.boxes[f], true_boxes[f]) >= ACCEPT_IOU

    frames = sorted(true_boxes)
    seconds, i = 0.0, 0
    while i < len(frames):
        if good(track, frames[i]):
            i += 1
            continue
        j = i
        while j < len(frames) and not good(track, frames[j]):
            j += 1
        if i > 0 and j < len(frames):
            (cand,) = te.bridge(track, frames[i - 1], frames[j])
            if all(good(cand, f) for f in frames[i:j]):
                track, seconds = cand, seconds + BRIDGE
        i = j
    return track, seconds


def _keyframes(track, true_boxes):
    from nblabel.core import track_edits as te

    track, seconds = _bridges(track, true_boxes)
    cap = max(1, len(true_boxes) // 5)
    for _ in range(cap):
        worst, worst_iou = None, ACCEPT_IOU
        for f, tb in true_boxes.items():
            v = _iou(track.boxes[f], tb) if f in track.boxes else 0.0
            if v < worst_iou:
                worst, worst_iou = f, v
        if worst is None:
            break
        (track,) = te.fix_box(track, worst, tuple(true_boxes[worst]))
        seconds += KEYFRAME
    return track, seconds


def hota(truth, pred) -> float:
    """HOTA with TrackEval (its ``HOTA.eval_sequence`` on per-frame IoU matrices)."""
    from trackeval.metrics import HOTA

    from nblabel.curation.video_eval import iou_distance

    frames = sorted({b.frame for bs in truth.values() for b in bs}
                    | {b.frame for bs in pred.values() for b in bs})
    t_ids = {t: i for i, t in enumerate(truth)}
    p_ids = {t: i for i, t in enumerate(pred)}
    data = {"num_timesteps": len(frames), "num_gt_ids": len(t_ids), "num_tracker_ids": len(p_ids),
            "gt_ids": [], "tracker_ids": [], "similarity_scores": [], "num_gt_dets": 0,
            "num_tracker_dets": 0}
    for f in frames:
        g = [(t_ids[t], b.box) for t, bs in truth.items() for b in bs if b.frame == f]
        h = [(p_ids[t], b.box) for t, bs in pred.items() for b in bs if b.frame == f]
        data["gt_ids"].append(np.array([i for i, _ in g], dtype=int))
        data["tracker_ids"].append(np.array([i for i, _ in h], dtype=int))
        a = np.array([b for _, b in g], dtype=float).reshape(-1, 4)
        c = np.array([b for _, b in h], dtype=float).reshape(-1, 4)
        d = iou_distance(a, c, 2.0)
        data["similarity_scores"].append(np.nan_to_num(1.0 - d, nan=0.0))
        data["num_gt_dets"] += len(g)
        data["num_tracker_dets"] += len(h)
    res = HOTA().eval_sequence(data)
    return float(np.mean(res["HOTA"]))


def _as_tracks(tracks):
    return {t.id: t.track_boxes() for t in tracks if t.status != "rejected"}


def quality_and_effort(family, truth, pred, labels, frames, rows, totals):
    from nblabel.curation.video_eval import mot_scores

    manual = frame_by_frame_seconds(truth, pred, labels)
    seconds, reviewed = review_by_track(truth, pred, labels, frames)
    before = mot_scores(truth, {t.id: t.track_boxes() for t in pred})
    after = mot_scores(truth, _as_tracks(reviewed))
    h0, h1 = hota(truth, {t.id: t.track_boxes() for t in pred}), hota(truth, _as_tracks(reviewed))
    rows.append([family, frames, len(truth), len(pred), manual, seconds, 1 - seconds / manual,
                 before.mota, after.mota, before.idf1, after.idf1, h0, h1])
    fam = totals.setdefault(family, {"manual": 0.0, "track": 0.0, "mota": [], "idf1": [],
                                     "hota": [], "mota_r": [], "idf1_r": [], "hota_r": []})
    fam["manual"] += manual
    fam["track"] += seconds
    for k, v in (("mota", before.mota), ("idf1", before.idf1), ("hota", h0),
                 ("mota_r", after.mota), ("idf1_r", after.idf1), ("hota_r", h1)):
        fam[k].append(v)


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def _memory_child(frames: int, out) -> None:
    work, mongod = private_fiftyone(f"video-mem-{frames}")
    try:
        import fiftyone as fo

        from nblabel.demo.video import write_sprite_video
        from nblabel.preannotation.tracking import track_videos
        from nblabel.sources.tracker import CallableTracker

        video = write_sprite_video(work / f"video-{frames}.mp4",
                                   frames=frames, size=(320, 180), n_objects=6, seed=frames)
        ds = fo.Dataset()
        ds.add_sample(fo.Sample(filepath=str(video.path)))

        def boxes(batch):
            return [[(1, "circle", (10.0, 10.0, 30.0, 30.0), 0.9)] for _ in batch]

        base = _rss_mb()
        peak = [base]
        done = threading.Event()

        def sample() -> None:  # ru_maxrss keeps the imports' peak: sample the RSS instead
            while not done.wait(0.01):
                peak[0] = max(peak[0], _rss_mb())

        watcher = threading.Thread(target=sample)
        watcher.start()
        track_videos(ds, CallableTracker(boxes), window=32)
        done.set()
        watcher.join()
        out.put(peak[0] - base)
        video.path.unlink()
    finally:
        mongod.stop()


def memory_growth(frames: int) -> float:
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_memory_child, args=(frames, q))
    p.start()
    value = q.get(timeout=1800)
    p.join()
    return float(value)


def video_detector(work, quick: bool):
    """The demo detector fine-tuned on frames of other generated videos (seeds 100+, never the
    test videos): what a user's detector for their footage would be. Cached in the demo folder.
    """
    from PIL import Image

    from nblabel.core.labels import Box
    from nblabel.core.video import VideoReader
    from nblabel.demo import demo_dir, prepare_model
    from nblabel.demo.synthetic import SyntheticImage, write_yolo_dataset
    from nblabel.demo.video import track_class, write_sprite_video
    from nblabel.learning import train_ultralytics

    weights = demo_dir() / "bench-video" / "sprites-v1.pt"
    if weights.exists():
        return weights
    items = []
    for seed in (100, 101, 102):
        video = write_sprite_video(work / f"train{seed}.mp4", n_objects=6, frames=120, seed=seed)
        for n, image in VideoReader(video.path).frames():
            if n % 3:
                continue
            path = work / "frames" / f"s{seed}-{n:04d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(path)
            objects = tuple((track_class(t), Box(*b.box)) for t, bs in video.tracks.items()
                            for b in bs if b.frame == n)
            items.append(SyntheticImage(path, video.width, video.height, objects))
    data = write_yolo_dataset(work / "yolo", items[20:], items[:20])
    weights.parent.mkdir(parents=True, exist_ok=True)
    train_ultralytics(data, weights, model=prepare_model(), epochs=12, imgsz=IMGSZ,
                      precision="fp32")
    return weights


def frame_steps(work) -> dict[float, list[float]]:
    """(d): frame steps painted in Chromium at 1080p (module doc)."""
    import fiftyone as fo

    from nblabel.demo.tracks import faulty_tracks
    from nblabel.demo.video import ReplayTracker, write_sprite_video
    from nblabel.preannotation.tracking import track_videos
    from nblabel.sources.tracker import CallableTracker

    video = write_sprite_video(work / "hd.mp4", n_objects=8, frames=300, size=(1920, 1080))
    ds = fo.Dataset("bench-video-hd")
    ds.add_sample(fo.Sample(filepath=str(video.path)))
    replay = ReplayTracker(faulty_tracks(video.tracks, seed=1).tracks, video.labels())
    track_videos(ds, CallableTracker(replay), window=32)
    cell = ("import nblabel, fiftyone as fo\n"
            "from nblabel.store.journal import DecisionJournal\n"
            f"w = nblabel.review_video(fo.load_dataset('bench-video-hd'), "
            f"journal=DecisionJournal({str(work / 'journal.db')!r}))\nw")
    runs = steps_in_chromium(work, cell, ".nblabel-video", "1", "ArrowRight", "frame", 120,
                             settle_ms=3000, zooms=(1.0, 4.0))
    return {zoom: steps for zoom, (steps, _) in runs.items()}


def main() -> None:
    args = parse_args(__doc__ or "", steps_only=True)
    work, mongod = private_fiftyone("video")
    try:
        if args.steps_only:
            by_zoom = frame_steps(work)
            for zoom, s in by_zoom.items():
                print(f"frame step at 1080p, zoom {zoom:g}: p50 {np.median(s):.1f} ms, "
                      f"p95 {np.percentile(s, 95):.1f} ms, max {max(s):.1f} ms")
            emit({"frame_p95_ms": round(float(np.percentile(by_zoom[1.0], 95)), 1),
                  "frame_p95_zoom4_ms": round(float(np.percentile(by_zoom[4.0], 95)), 1)})
            return
        import fiftyone as fo
        from ultralytics import YOLO

        from nblabel.core.track_edits import Track
        from nblabel.curation.video_eval import tracks_of
        from nblabel.demo.tracks import faulty_tracks
        from nblabel.demo.video import write_sprite_video
        from nblabel.preannotation.tracking import track_videos
        from nblabel.sources.tracker import UltralyticsTracker
        from nblabel.store.tracks import read_tracks

        n_videos, frames = (1, 60) if args.quick else (3, 150)
        model = video_detector(work, args.quick)
        rows: list[list] = []
        totals: dict[str, dict] = {}
        ratios = []
        for i in range(n_videos):
            video = write_sprite_video(work / f"v{i}.mp4", n_objects=6, frames=frames, seed=i)
            labels = video.labels()
            # (c) throughput, alternated: plain ultralytics, then nblabel into FiftyOne.
            plain, ours = [], []
            for rep in range(1 if args.quick else 3):
                y = YOLO(str(model))
                t = time.perf_counter()
                n = sum(1 for _ in y.track(str(video.path), stream=True, verbose=False,
                                           conf=0.1, iou=0.6, imgsz=IMGSZ))
                plain.append(n / (time.perf_counter() - t))
                ds = fo.Dataset()
                ds.add_sample(fo.Sample(filepath=str(video.path)))
                t = time.perf_counter()
                track_videos(ds, UltralyticsTracker(str(model), imgsz=IMGSZ), window=32)
                ours.append(frames / (time.perf_counter() - t))
                if rep == 0:
                    kept = ds
                else:
                    ds.delete()
            ratios.append(max(ours) / max(plain))
            sid = kept.first().id
            pred = read_tracks(kept, sid, "tracks")
            quality_and_effort("bytetrack", video.tracks, pred, labels, frames, rows, totals)
            faulty = faulty_tracks(video.tracks, share=0.5, seed=i)
            fpred = [Track.proposed(t, labels[t], bs) for t, bs in faulty.tracks.items()]
            quality_and_effort("faulty", video.tracks, fpred, labels, frames, rows, totals)
            assert tracks_of(kept, "tracks")[sid]
        print_table(["family", "frames", "objects", "tracks", "frame s", "track s", "saving",
                     "MOTA", "MOTA rev", "IDF1", "IDF1 rev", "HOTA", "HOTA rev"], rows)
        savings = {f: 1 - v["track"] / v["manual"] for f, v in totals.items()}
        manual = sum(v["manual"] for v in totals.values())
        track = sum(v["track"] for v in totals.values())
        mem = {}
        steps: list[float] = []
        zoomed: list[float] = []
        if not args.quick:
            by_zoom = frame_steps(work)
            steps, zoomed = by_zoom[1.0], by_zoom[4.0]
            for zoom, s in by_zoom.items():
                print(f"frame step at 1080p, zoom {zoom:g}, 120 steps at 25 fps: p50 "
                      f"{np.median(s):.1f} ms, p95 {np.percentile(s, 95):.1f} ms, "
                      f"max {max(s):.1f} ms")
            mem = {n: memory_growth(n) for n in (1_000, 10_000)}
            print(f"peak memory growth: 1,000 frames {mem[1_000]:.1f} MB, "
                  f"10,000 frames {mem[10_000]:.1f} MB")
        print(f"throughput nblabel/plain per video: {[round(r, 3) for r in ratios]}")
        b = totals["bytetrack"]
        emit({"saving": round(1 - track / manual, 3),
              "saving_by_family": {k: round(v, 3) for k, v in savings.items()},
              "mota": round(float(np.mean(b["mota_r"])), 3),
              "idf1": round(float(np.mean(b["idf1_r"])), 3),
              "hota": round(float(np.mean(b["hota_r"])), 3),
              "proposals_mota": round(float(np.mean(b["mota"])), 3),
              "proposals_idf1": round(float(np.mean(b["idf1"])), 3),
              "proposals_hota": round(float(np.mean(b["hota"])), 3),
              "ratio": round(float(np.median(ratios)), 3),
              "frame_p95_ms": round(float(np.percentile(steps, 95)), 1) if steps else None,
              "frame_p95_zoom4_ms": round(float(np.percentile(zoomed, 95)), 1) if zoomed
              else None,
              "memory_ratio_10x": round(mem[10_000] / max(mem[1_000], 1.0), 2) if mem else None})
    finally:
        mongod.stop()


if __name__ == "__main__":
    main()
