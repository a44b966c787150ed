"""Benchmark: keypoint review against placing every point by hand.

A pose model (yolov8n-pose from its yaml) is trained here on generated stick figures of the
``plain`` family (:mod:`nblabel.demo.poses`, through nblabel's own YOLO pose export). New images
of both families (``plain``, the one it was tuned on, and ``texture``: scikit-image's real
brick, grass and gravel photos behind the figures) are pre-annotated with it into FiftyOne, read
back as a review session sees them, and the review that reaches the true figures is priced
with :class:`nblabel.core.cost.PointCost` (:func:`nblabel.core.cost.replay_keypoints`) against
labeling every point by hand. ``keypoint_saving`` is 1 - review / by hand over both families.

The medical-volume figures of issue 26 (``slice_p95_ms``, ``series_open_s``) are not measured
yet: volumes are not built (see the issue's note).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, parse_args, print_table, private_fiftyone


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    work, mongod = private_fiftyone("nblabel-bench-kinds-")
    try:
        run(work, n=12 if args.quick else 40)
    finally:
        mongod.stop()


def run(work: Path, n: int) -> None:
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
    for family in ("plain", "texture"):
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
    emit({"keypoint_saving": round(1 - totals["review"] / totals["hand"], 3),
          "keypoint_saving_by_family": by_family})


if __name__ == "__main__":
    main()
