"""Export of reviewed keypoints and polylines: COCO (keypoints and polygons), YOLO pose, CVAT.

- ``"coco"`` goes through FiftyOne's COCO exporter (which writes each point's ``visible``) and
  then adds what it leaves out: each category's ``keypoints`` names and 1-based ``skeleton``
  from the field's skeleton, and, for keypoint objects, ``num_keypoints`` and a box around the
  labeled points (COCO needs one; FiftyOne writes none for a ``Keypoint``).
- ``"yolo-pose"`` is written here: FiftyOne has no YOLO pose exporter. One line per instance,
  ``class cx cy w h`` then ``x y v`` per point (relative; ``v`` 0 absent, 1 occluded, 2
  visible), the box the labeled points' extent grown by ``box_margin`` on each side (keypoint
  labels carry no box); ``dataset.yaml`` has ``kpt_shape`` and a ``flip_idx`` that swaps
  ``left``/``right`` point names, ready for ``YOLO("yolo11n-pose.yaml").train(data=...)``.
- ``"cvat"`` is FiftyOne's CVAT image exporter (keypoints and polylines).

Only samples tagged ``reviewed`` are exported unless ``only_reviewed=False``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nblabel.core.shapes import Skeleton
from nblabel.curation.export import export_target, split_ids
from nblabel.store import shim
from nblabel.store.shapes import skeleton_of

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = ["SHAPE_FORMATS", "export_shapes", "flip_index"]

SHAPE_FORMATS = ("coco", "yolo-pose", "cvat")


def flip_index(names: tuple[str, ...]) -> list[int]:
    """For each point, the point it becomes in a mirrored image (``left_x`` <-> ``right_x``,
    also ``l_``/``r_`` prefixes); itself when it has no mirror."""
    swaps = (("left", "right"), ("l_", "r_"))
    out = []
    for name in names:
        twin = name
        for a, b in swaps:
            if name.startswith(a):
                twin = b + name[len(a):]
            elif name.startswith(b):
                twin = a + name[len(b):]
            if twin != name:
                break
        out.append(names.index(twin) if twin in names else names.index(name))
    return out


def export_shapes(view: fo.core.collections.SampleCollection, export_dir: str | os.PathLike[str],
                  format: str = "coco", *, field: str = "gt_keypoints",
                  only_reviewed: bool = True, val_fraction: float = 0.2,
                  box_margin: float = 0.1, overwrite: bool = False, seed: int = 0) -> Path:
    """Export ``view``'s reviewed shapes of ``field``; returns the COCO ``labels.json``,
    the YOLO ``dataset.yaml`` or the CVAT folder (see the module doc)."""
    import fiftyone as fo

    if format not in SHAPE_FORMATS:
        raise ValueError(f"unknown shape export format {format!r}: use one of "
                         f"{', '.join(SHAPE_FORMATS)}")
    target, out = export_target(view, export_dir, field, only_reviewed, overwrite)
    ds = shim.root_dataset(view)
    kind = "keypoints" if ds.get_field(field).document_type is fo.Keypoints \
        else "polylines"
    classes = sorted(x for x in target.distinct(f"{field}.{kind}.label") if x)
    skeleton = skeleton_of(ds, field) if kind == "keypoints" else None
    if format == "cvat":
        target.export(export_dir=str(out), dataset_type=fo.types.CVATImageDataset,
                      label_field=field)
        return out
    if format == "coco":
        target.export(export_dir=str(out), dataset_type=fo.types.COCODetectionDataset,
                      label_field=field, classes=classes)
        if skeleton is not None:
            _coco_keypoints(out / "labels.json", skeleton)
        return out / "labels.json"
    if kind != "keypoints" or skeleton is None:
        raise ValueError(f"yolo-pose needs keypoints with a skeleton; {field!r} holds "
                         f"{kind}" + ("" if kind != "keypoints" else " without a skeleton"))
    return _yolo_pose(target, out, field, classes, skeleton, val_fraction, box_margin,
                      seed)


def _coco_keypoints(labels_json: Path, skeleton: Skeleton) -> None:
    data = json.loads(labels_json.read_text())
    for cat in data.get("categories", []):
        cat["keypoints"] = list(skeleton.names)
        cat["skeleton"] = [[a + 1, b + 1] for a, b in skeleton.edges]
    for ann in data.get("annotations", []):
        kps = ann.get("keypoints")
        if not kps:
            continue
        pts = [(kps[i], kps[i + 1]) for i in range(0, len(kps), 3) if kps[i + 2] > 0]
        ann["num_keypoints"] = len(pts)
        if pts and not ann.get("bbox"):
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            ann["bbox"] = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
            ann["area"] = ann["bbox"][2] * ann["bbox"][3]
    labels_json.write_text(json.dumps(data))


def _yolo_pose(target: Any, out: Path, label_field: str, classes: list[str],
               skeleton: Skeleton, val_fraction: float, margin: float, seed: int) -> Path:
    train, val = split_ids(target.values("id"), val_fraction, seed)
    if None in target.values("metadata.width"):
        target.compute_metadata()
    for split, chosen in (("train", train), ("val", val or train)):
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "labels" / split).mkdir(parents=True, exist_ok=True)
        view = target.select(chosen)
        for sid, path, labels in zip(*view.values(["id", "filepath", label_field]),
                                     strict=True):
            name = f"{sid}{Path(path).suffix}"
            shutil.copyfile(path, out / "images" / split / name)
            lines = [_pose_line(kp, classes, margin) for kp in
                     (labels.keypoints if labels is not None else [])]
            (out / "labels" / split / f"{sid}.txt").write_text(
                "".join(f"{line}\n" for line in lines if line))
    names = "\n".join(f"  {i}: {name!r}" for i, name in enumerate(classes))
    path = out / "dataset.yaml"
    path.write_text(f"path: {out}\ntrain: {out / 'images' / 'train'}\n"
                    f"val: {out / 'images' / 'val'}\n"
                    f"kpt_shape: [{len(skeleton.names)}, 3]\n"
                    f"flip_idx: {flip_index(skeleton.names)}\n"
                    f"kpt_names:\n  0: {list(skeleton.names)}\n"
                    f"names:\n{names}\n")
    return path


def _pose_line(kp: Any, classes: list[str], margin: float) -> str:
    vis = kp.get_attribute_value("visible", None) or []
    pts = []
    for i, (x, y) in enumerate(kp.points):
        if x is None or math.isnan(x) or (i < len(vis) and vis[i] == 0):
            pts.append((0.0, 0.0, 0))
        else:
            pts.append((float(x), float(y), int(vis[i]) if i < len(vis) else 2))
    there = [(x, y) for x, y, v in pts if v > 0]
    if not there or kp.label not in classes:
        return ""
    xs, ys = [p[0] for p in there], [p[1] for p in there]
    w, h = max(xs) - min(xs), max(ys) - min(ys)
    x1, x2 = max(0.0, min(xs) - margin * w), min(1.0, max(xs) + margin * w)
    y1, y2 = max(0.0, min(ys) - margin * h), min(1.0, max(ys) + margin * h)
    head = f"{classes.index(kp.label)} {(x1 + x2) / 2:.6f} {(y1 + y2) / 2:.6f} " \
        f"{x2 - x1:.6f} {y2 - y1:.6f}"
    return head + "".join(f" {x:.6f} {y:.6f} {v}" for x, y, v in pts)
