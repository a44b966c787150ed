"""Queue and analytics for keypoints and polylines.

- :func:`shape_queue`: images to review, unreviewed first, then by their weakest instance's mean
  keypoint confidence (lowest first: the likeliest to need a point moved); images with no
  proposal (to label by hand) come after those with weak ones, and polylines go by their score.
- :func:`keypoint_table`: per skeleton point, how its proposals fared in review (accepted,
  moved, removed, placed by hand) and their mean confidence: which points a model gets wrong,
  for a pandas table in the notebook.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nblabel.store.schema import REVIEWED_TAG, shape_container
from nblabel.store.shapes import skeleton_of

if TYPE_CHECKING:
    import fiftyone as fo
    import pandas as pd

__all__ = ["keypoint_table", "shape_queue"]


def _mean(values: Sequence[Any] | None) -> float | None:
    good = [float(v) for v in values or [] if v is not None and not math.isnan(float(v))]
    return sum(good) / len(good) if good else None


def shape_queue(dataset: fo.Dataset, field: str, kind: str = "keypoints") -> list[str]:
    """Sample ids in review order (see the module doc)."""
    ids, tags = dataset.values(["id", "tags"])
    scores: list[Any]
    _, attr = shape_container(kind)
    if field not in dataset.get_field_schema():
        scores = [None] * len(ids)
    elif kind == "keypoints":
        conf = dataset.values(f"{field}.{attr}.confidence")
        scores = [min((m for c in inst or [] if (m := _mean(c)) is not None), default=None)
                  for inst in conf]
    else:
        scores = [min((s for s in inst or [] if s is not None), default=None)
                  for inst in dataset.values(f"{field}.{attr}.instance_confidence")]

    def key(i: int) -> tuple[bool, bool, float]:
        return (REVIEWED_TAG in (tags[i] or []), scores[i] is None,
                scores[i] if scores[i] is not None else 0.0)

    return [ids[i] for i in sorted(range(len(ids)), key=key)]


def keypoint_table(dataset: fo.Dataset, field: str = "keypoints",
                   gt_field: str = "gt_keypoints") -> pd.DataFrame:
    """Per skeleton point: ``proposed`` (points proposed), ``mean_confidence``, and in the
    reviewed labels ``accepted``, ``moved``, ``removed``, ``placed`` and ``occluded``, with
    ``fix_rate`` = (moved + removed) / reviewed proposed points."""
    import pandas as pd

    skeleton = skeleton_of(dataset, field) or skeleton_of(dataset, gt_field)
    rows: dict[int, dict[str, float]] = {}
    names = list(skeleton.names) if skeleton else []

    def row(i: int) -> dict[str, float]:
        return rows.setdefault(i, {"proposed": 0, "confidence_sum": 0.0, "accepted": 0,
                                   "moved": 0, "removed": 0, "placed": 0, "occluded": 0})

    schema = dataset.get_field_schema()
    if field in schema:
        for inst in dataset.values(f"{field}.keypoints"):
            for kp in inst or []:
                for i, ((x, _), c) in enumerate(zip(kp.points, kp.confidence or
                                                    [None] * len(kp.points), strict=False)):
                    if x is None or math.isnan(x):
                        continue
                    r = row(i)
                    r["proposed"] += 1
                    r["confidence_sum"] += float(c) if c is not None and not math.isnan(c) \
                        else 0.0
    if gt_field in schema:
        states = {"accepted": "accepted", "edited": "moved", "rejected": "removed",
                  "added": "placed"}
        for inst in dataset.values(f"{gt_field}.keypoints"):
            for kp in inst or []:
                review = kp.get_attribute_value("point_review", None) or []
                vis = kp.get_attribute_value("visible", None) or []
                for i, st in enumerate(review):
                    if st in states:
                        row(i)[states[st]] += 1
                    if i < len(vis) and vis[i] == 1:
                        row(i)["occluded"] += 1
    out = []
    for i in sorted(rows):
        r = rows[i]
        reviewed = r["accepted"] + r["moved"] + r["removed"]
        out.append({"point": names[i] if i < len(names) else f"kp{i}",
                    "proposed": int(r["proposed"]),
                    "mean_confidence": (r["confidence_sum"] / r["proposed"]
                                        if r["proposed"] else None),
                    **{k: int(r[k]) for k in ("accepted", "moved", "removed", "placed",
                                               "occluded")},
                    "fix_rate": (r["moved"] + r["removed"]) / reviewed if reviewed else None})
    return pd.DataFrame(out)
