"""Benchmark: keypoint review against placing every point by hand; volume slices and series.

(a) Keypoints. A pose model (yolov8n-pose from its yaml, :func:`nblabel.demo.poses.
prepare_pose_model`) is trained here on generated stick figures of the ``plain`` and
``texture`` families (scikit-image's brick, grass and gravel behind the figures), through
nblabel's own YOLO pose export. New images of those two families and of the held-out
``photo`` family (scikit-image's colour photos behind the figures) are pre-annotated with it
into FiftyOne, read back as a review session sees them, and the review that reaches the true
figures is priced with :class:`nblabel.core.cost.PointCost`
(:func:`nblabel.core.cost.replay_keypoints`) against labeling every point by hand.
``keypoint_saving`` is 1 - review / by hand over the three families.

(b) Volumes. A 512 x 512 x 300 CT phantom (:mod:`nblabel.demo.phantom`, an uncompressed NIfTI
file) is opened in the volume widget in real JupyterLab + headless Chromium and stepped through
slice by slice (a key press every 40 ms, 25 slices a second): ``slice_p95_ms`` is the time from
the key to the slice painted through the window and composited (one animation frame later),
95th percentile. (c) The same phantom as a DICOM series of 300 files: ``series_open_s`` is the
time to open it (headers read, slices ordered and checked; no pixel read), and the peak Python
memory of opening 300 files is compared with opening 100 (``series_memory_ratio_3x``) and with
the series' pixel size.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    emit,
    parse_args,
    percentile,
    print_table,
    private_fiftyone,
    steps_in_chromium,
)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    work, mongod = private_fiftyone("nblabel-bench-kinds-")
    try:
        figures = keypoints(work, n=12 if args.quick else 40)
        figures.update(volumes(work, slices=100 if args.quick else 300))
        emit(figures)
    finally:
        mongod.stop()


def _open_series(files: list[Path]) -> tuple[float, float]:
    import tracemalloc

    from nblabel.core.volume import DicomSeries

    tracemalloc.start()
    t = time.perf_counter()
    DicomSeries.open(files)
    secs = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return secs, peak / 2**20


def volumes(work: Path, slices: int) -> dict[str, float]:
    import fiftyone as fo

    from nblabel.core.volume import open_volume
    from nblabel.demo.phantom import make_phantom
    from nblabel.store.volumes import add_volume

    ph = make_phantom(slices, 512, lesions=8, seed=11)
    t = time.perf_counter()
    files = ph.write_dicom(work / "series")
    nii = ph.write_nifti(work / "phantom.nii")
    print(f"phantom {slices} x 512 x 512 written in {time.perf_counter() - t:.0f} s")
    _open_series(files[:10])  # imports and the disk cache, before timing
    third = max(1, slices // 3)
    open_small, mem_small = _open_series(files[:third])
    open_all, mem_all = _open_series(files)
    pixels_mb = slices * 512 * 512 * 2 / 2**20
    print_table(["slices", "open s", "peak MB", "pixels MB"],
                [[third, f"{open_small:.2f}", f"{mem_small:.2f}", f"{pixels_mb / 3:.0f}"],
                 [slices, f"{open_all:.2f}", f"{mem_all:.2f}", f"{pixels_mb:.0f}"]])
    ds = fo.Dataset("bench-volume")
    add_volume(ds, open_volume(nii))
    cell = ("import nblabel, fiftyone as fo\n"
            "from nblabel.store.journal import DecisionJournal\n"
            f"w = nblabel.review_volume(fo.load_dataset('bench-volume'), "
            f"journal=DecisionJournal({str(work / 'journal.db')!r}))\nw")
    # At fit, then zoomed to 4x (the same slices, drawn from the same raw pixels).
    runs = steps_in_chromium(work, cell, ".nblabel-volume", "0", "ArrowDown", "slice",
                             min(100, (slices - 1) // 2), zooms=(1.0, 4.0))
    for zoom, (steps, waited) in runs.items():
        print(f"slice step painted at zoom {zoom:g} (ms): p50 {percentile(steps, 50):.1f}, "
              f"p95 {percentile(steps, 95):.1f}, max {max(steps):.1f} over {len(steps)} steps; "
              f"{waited} steps found their slice not yet sent")
    steps, waited = runs[1.0]
    return {"slice_p95_ms": round(percentile(steps, 95), 1), "slice_waits": waited,
            "slice_p95_zoom4_ms": round(percentile(runs[4.0][0], 95), 1),
            "series_open_s": round(open_all, 3),
            "series_memory_ratio_3x": round(mem_all / max(mem_small, 1e-9), 2),
            "series_open_peak_mb": round(mem_all, 2)}


def keypoints(work: Path, n: int) -> dict[str, object]:
    import fiftyone as fo

    from nblabel.core.cost import PointCost, replay_keypoints
    from nblabel.demo.poses import make_pose_dataset, prepare_pose_model
    from nblabel.preannotation.shapes import preannotate_shapes
    from nblabel.sources.shapes import UltralyticsShapes
    from nblabel.store.shapes import read_shapes

    t0 = time.perf_counter()
    weights = prepare_pose_model()
    print(f"pose model ready in {time.perf_counter() - t0:.0f} s: {weights}")
    source = UltralyticsShapes(weights, imgsz=160)
    cost = PointCost()
    rows, totals = [], {"review": 0.0, "hand": 0.0}
    by_family = {}
    for family in ("plain", "texture", "photo"):
        items = make_pose_dataset(work / family, n, seed=50, family=family)
        ds = fo.Dataset(f"kinds-{family}", overwrite=True)
        ids = ds.add_samples([fo.Sample(filepath=str(p)) for p, _ in items], progress=False)
        t = time.perf_counter()
        report = preannotate_shapes(ds, source)
        secs = time.perf_counter() - t
        problems: list[str] = []
        shown = read_shapes(ds, ids, "keypoints", "keypoints", problems)
        review = hand = 0.0
        counts: dict[str, float] = {}
        for sid, (_, figures) in zip(ids, items, strict=True):
            kept = [list(f.points) for f in figures]
            props = [(s.mean_confidence(), [None if p is None else (p[0], p[1], v)
                                            for p, v in zip(s.points, s.visible, strict=True)])
                     for s in shown[sid]]
            r = replay_keypoints(props, kept, cost)
            review += r["seconds"]
            hand += r["by_hand"]
            for k, v in r.items():
                counts[k] = counts.get(k, 0) + v
        saving = 1 - review / hand
        by_family[family] = round(saving, 3)
        totals["review"] += review
        totals["hand"] += hand
        rows.append([family, n, report.shapes, f"{secs:.1f}", int(counts["verified"]),
                     int(counts["dragged"]), int(counts["placed"]), int(counts["removed"]),
                     int(counts["rejected"]), int(counts["drawn"]), f"{review:.0f}",
                     f"{hand:.0f}", f"{saving:.3f}"])
        fo.delete_dataset(ds.name)
    print_table(["family", "images", "proposed", "propose s", "points ok", "dragged", "placed",
                 "removed", "inst rejected", "inst by hand", "review s", "by hand s",
                 "saving"], rows)
    return {"keypoint_saving": round(1 - totals["review"] / totals["hand"], 3),
            "keypoint_saving_by_family": by_family}


if __name__ == "__main__":
    main()
