"""One small dataset per label kind with proposals, and the code that opens its widget, for the
tests that must hold in every kind (refusals, time-outs, zoom, classes): images, video tracks,
keypoints, volume slices. Each builder returns a :class:`Kind`: the dataset's name and the lines
that open the widget on it (the same in a test's process and in a notebook's kernel)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KINDS = ("image", "video", "shapes", "volume", "labels")


@dataclass(frozen=True)
class Kind:
    """A kind's dataset and how to open its widget on it (``w``) with journal ``journal``."""

    name: str
    dataset: str
    #: Python lines that define ``w`` from ``ds`` and ``journal`` (nblabel imported); ``{extra}``
    #: takes more keyword arguments (``, attributes=...``).
    opener: str
    #: CSS class of the widget's root.
    root: str

    def open(self, journal: Any, **extra: Any) -> Any:
        """The widget, opened in this process (``extra``: more arguments of its ``review_*``)."""
        import fiftyone as fo

        import nblabel

        scope: dict[str, Any] = {"nblabel": nblabel, "ds": fo.load_dataset(self.dataset),
                                 "journal": journal}
        exec(self.line(**extra), scope)  # the same lines a notebook cell runs
        return scope["w"]

    def line(self, **extra: Any) -> str:
        return self.opener.format(extra="".join(f", {k}={v!r}" for k, v in extra.items()))

    def cells(self, journal_path: str, **extra: Any) -> list[str]:
        """Notebook cells that open the widget (its last line shows it)."""
        return ["import nblabel, fiftyone as fo\n"
                "from nblabel.store.journal import DecisionJournal\n"
                f"ds = fo.load_dataset({self.dataset!r})\n"
                f"journal = DecisionJournal({journal_path!r})\n"
                f"{self.line(**extra)}\nw"]


def _image(folder: Path) -> Kind:
    import fiftyone as fo

    from nblabel.demo.synthetic import make_shapes

    images = make_shapes(folder / "images", 2, seed=7, max_objects=3)
    ds = fo.Dataset(f"kind-image-{uuid.uuid4().hex[:8]}")
    ds.add_samples([fo.Sample(filepath=str(img.path), predictions=fo.Detections(detections=[
        fo.Detection(label=label, bounding_box=box.to_relative(img.size), confidence=0.9)
        for label, box in img.objects])) for img in images], progress=False)
    return Kind("image", ds.name, "w = nblabel.review(ds, journal=journal, reviewer='kim',"
                " threshold=0.0{extra})", "nblabel-root")


def _video(folder: Path) -> Kind:
    import fiftyone as fo

    from nblabel.demo.tracks import faulty_tracks
    from nblabel.demo.video import ReplayTracker, write_sprite_video
    from nblabel.preannotation.tracking import track_videos
    from nblabel.sources.tracker import CallableTracker

    video = write_sprite_video(folder / "sprites.mp4", n_objects=3, frames=30, seed=4)
    faulty = faulty_tracks(video.tracks, share=0.4, seed=4)
    ds = fo.Dataset(f"kind-video-{uuid.uuid4().hex[:8]}")
    ds.add_sample(fo.Sample(filepath=str(video.path)))
    track_videos(ds, CallableTracker(ReplayTracker(faulty.tracks, video.labels())), window=16)
    return Kind("video", ds.name, "w = nblabel.review_video(ds, journal=journal, "
                "reviewer='kim'{extra})", "nblabel-video")


def _shapes(folder: Path) -> Kind:
    import fiftyone as fo
    import numpy as np
    from PIL import Image

    from nblabel.demo.poses import STICK, make_pose_dataset
    from nblabel.preannotation.shapes import preannotate_shapes
    from nblabel.sources.shapes import CallableShapes

    items = make_pose_dataset(folder / "poses", 2, seed=3)
    truth = {np.asarray(Image.open(p).convert("RGB")).tobytes(): figs for p, figs in items}

    def propose(image: np.ndarray) -> list[dict[str, Any]]:
        return [{"label": f.label, "points": [[x, y] for x, y, _ in f.points],
                 "confidence": [0.6] * len(f.points), "score": 0.8}
                for f in truth[image.tobytes()]]

    ds = fo.Dataset(f"kind-shapes-{uuid.uuid4().hex[:8]}")
    ds.add_samples([fo.Sample(filepath=str(p)) for p, _ in items], progress=False)
    preannotate_shapes(ds, CallableShapes(propose, skeleton=STICK, name="truth"))
    return Kind("shapes", ds.name, "w = nblabel.review_shapes(ds, journal=journal, "
                "reviewer='kim'{extra})", "nblabel-shapes")


def _volume(folder: Path) -> Kind:
    import fiftyone as fo

    from nblabel.core.volume import open_volume
    from nblabel.demo.phantom import find_nodules, make_phantom
    from nblabel.preannotation.volumes import preannotate_volume
    from nblabel.sources import CallableSource
    from nblabel.store.volumes import add_volume

    ph = make_phantom(12, 96, lesions=3, seed=5)
    ph.write_dicom(folder / "dcm")
    ds = fo.Dataset(f"kind-volume-{uuid.uuid4().hex[:8]}")
    add_volume(ds, open_volume(folder / "dcm"))
    preannotate_volume(ds, CallableSource(find_nodules, "finder"))
    return Kind("volume", ds.name, "w = nblabel.review_volume(ds, journal=journal, "
                "reviewer='kim'{extra})", "nblabel-volume")


def _labels(folder: Path) -> Kind:
    import fiftyone as fo
    import numpy as np
    from PIL import Image

    from nblabel.demo.synthetic import CLASSES, make_shapes
    from nblabel.preannotation.labels import preannotate_labels

    images = make_shapes(folder / "images", 2, seed=9, max_objects=3)
    truth = {np.asarray(Image.open(img.path).convert("RGB")).tobytes():
             sorted({label for label, _ in img.objects}) for img in images}

    def propose(image: np.ndarray) -> dict[str, float]:
        present = truth[image.tobytes()]
        absent = [c for c in CLASSES if c not in present]
        return {**{c: 0.9 - 0.1 * i for i, c in enumerate(present)},
                **({absent[0]: 0.3} if absent else {})}

    ds = fo.Dataset(f"kind-labels-{uuid.uuid4().hex[:8]}")
    ds.add_samples([fo.Sample(filepath=str(img.path)) for img in images], progress=False)
    preannotate_labels(ds, propose)
    return Kind("labels", ds.name, "w = nblabel.review_labels(ds, journal=journal, "
                "reviewer='kim'{extra})", "nblabel-labels")


BUILDERS: dict[str, Callable[[Path], Kind]] = {
    "image": _image, "video": _video, "shapes": _shapes, "volume": _volume, "labels": _labels}


def build(kind: str, folder: Path) -> Kind:
    """A small dataset of ``kind`` with proposals, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    return BUILDERS[kind](folder)


# -- one decision in each kind, as its browser sends it ------------------------------------------


def accept_message(w: Any, seq: int) -> dict[str, Any]:
    """Accept the selected object (what key ``a`` sends)."""
    return _act(w, seq, "accept")


def reject_message(w: Any, seq: int) -> dict[str, Any]:
    """Reject the selected object (what key ``r`` sends)."""
    return _act(w, seq, "reject")


def _act(w: Any, seq: int, action: str) -> dict[str, Any]:
    kind = type(w).__name__
    if kind == "ReviewWidget":
        return {"kind": "decide", "seq": seq, "sample_id": w.sample_id, "keys": [w.selected],
                "action": {"accept": "accepted", "reject": "rejected"}[action]}
    if kind == "VideoReviewWidget":
        return {"kind": "act", "seq": seq, "action": action, "track": w.selected,
                "frame": w.frame}
    if kind == "ShapeReviewWidget":
        return {"kind": "act", "seq": seq, "action": action, "shape": w.selected, "point": -1}
    if kind == "LabelReviewWidget":
        return {"kind": "act", "seq": seq, "action": action, "label_id": w.selected}
    return {"kind": "act", "seq": seq, "action": action, "slice": w.slice,
            "key": w.selected or w.boxes_on(w.slice)[0][0]}


def attributes_message(w: Any, seq: int, values: dict[str, Any]) -> dict[str, Any]:
    """Set attributes of the selected label (what the attribute panel sends)."""
    kind = type(w).__name__
    if kind == "ReviewWidget":
        return {"kind": "attributes", "seq": seq, "sample_id": w.sample_id, "key": w.selected,
                "values": values}
    msg = _act(w, seq, "attributes")
    msg["action"] = "attributes"
    msg["values"] = values
    return msg


#: Where each kind stores its reviewed labels (a frame field for video).
STORED = {"image": "ground_truth.detections", "video": "frames.gt_tracks.detections",
          "shapes": "gt_keypoints.keypoints", "volume": "ground_truth.detections",
          "labels": "gt_image_labels.classifications"}
_KIND_OF = {"ReviewWidget": "image", "VideoReviewWidget": "video", "ShapeReviewWidget": "shapes",
            "VolumeReviewWidget": "volume", "LabelReviewWidget": "labels"}


def stored_values(kind: str, dataset: str, name: str) -> list[Any]:
    """Every value of ``name`` (an attribute, or ``label``) on the labels ``kind`` stores in
    ``dataset`` (none when the field is not declared yet)."""
    import fiftyone as fo

    ds = fo.load_dataset(dataset)
    ds.reload()
    path = f"{STORED[kind]}.{name}"
    schema = ds.get_frame_field_schema(flat=True) or {} if kind == "video" \
        else ds.get_field_schema(flat=True)
    if path.removeprefix("frames.") not in schema:
        return []
    flat: list[Any] = []
    stack: list[Any] = [ds.values(path)]
    while stack:
        v = stack.pop()
        if isinstance(v, list):
            stack.extend(v)
        elif v is not None:
            flat.append(v)
    return flat


def stored_attributes(w: Any, name: str) -> list[Any]:
    """The values of attribute ``name`` on the labels the widget's kind stores in FiftyOne."""
    return stored_values(_KIND_OF[type(w).__name__], w.session.dataset.name, name)


def answer_to(sent: list[dict[str, Any]], seq: int) -> dict[str, Any]:
    """Python's answer to request ``seq`` among the messages it sent."""
    found = [m for m in sent if m.get("seq") == seq]
    assert found, f"no answer to request {seq}: {sent[-3:]}"
    return found[-1]


def decided(w: Any) -> dict[str, str]:
    """What the widget's session holds as decided: object key -> status."""
    from nblabel.core.labels import Action

    kind = type(w).__name__
    s = w.session
    if kind == "VideoReviewWidget":
        return {t.id: t.status for t in s.tracks.values() if t.status != "pending"}
    if kind == "ShapeReviewWidget":
        return {x.id: x.status for x in s.shapes_on(w.sample_id) if x.status != "pending"}
    if kind == "LabelReviewWidget":
        return {x.id: x.status for x in s.labels_on(w.sample_id) if x.status != "pending"}
    if kind == "VolumeReviewWidget":
        sid = w.ids[w.slice]
        return {k: Action(d.action).value for k, d in s.decisions(sid).items()}
    return {k: Action(d.action).value for k, d in s.decisions(w.sample_id).items()}
