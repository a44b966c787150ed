"""Proposal sources: models that turn images into :class:`~nblabel.types.Proposal` lists.

A source is anything with a ``name`` and ``propose(images) -> list[list[Proposal]]`` (one list
per image, boxes in pixels of that image). Sources validate what their model returns through
:mod:`nblabel.types`: boxes are clipped to the image, NaN scores and empty boxes are dropped and
counted in :attr:`ProposalSource.dropped`.

``task`` says what a source proposes: ``"detect"`` (boxes), ``"segment"`` (boxes with instance
masks) or ``"classify"`` (one image-level proposal per image, its box the whole image, with
per-class ``scores``). Every source takes a ``label_map`` from the model's class names or indices
to the dataset's labels (see :class:`LabelMap`); proposals of unmapped classes are dropped and
counted in ``unmapped``.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from nblabel.types import Box, ImageSize, InvalidLabelError, Proposal

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "TASKS", "CallableSource", "EnsembleSource", "HTTPSource", "LabelMap", "ProposalError",
    "ProposalSource", "UltralyticsSource", "prepare_ultralytics",
]

TASKS = ("detect", "segment", "classify")

log = logging.getLogger(__name__)


@runtime_checkable
class ProposalSource(Protocol):
    """What :func:`nblabel.preannotate.preannotate` needs from a model."""

    name: str
    task: str
    dropped: int
    unmapped: Counter[str]

    def propose(
        self, images: Sequence[Image.Image]
    ) -> Sequence[list[Proposal] | ProposalError]: ...


def prepare_ultralytics(config_dir: str | os.PathLike[str] | None = None) -> None:
    """Make ultralytics work with no network: settings sync off and a local font.

    Training plots need ``Arial.ttf`` in ultralytics' config folder and would fetch it from the
    internet; matplotlib's DejaVuSans is copied there instead. Call before importing ultralytics
    when ``config_dir`` is given (it sets ``YOLO_CONFIG_DIR``).
    """
    if config_dir is not None:
        os.environ["YOLO_CONFIG_DIR"] = os.fspath(config_dir)
    os.environ.setdefault("YOLO_OFFLINE", "1")
    from ultralytics.utils import SETTINGS, USER_CONFIG_DIR

    # No usage reporting, and no experiment-tracker callbacks (Ray Tune's among them, once Ray
    # is installed for pre-annotation) hooking into nblabel's training runs.
    off = {k: False for k in ("sync", "raytune", "mlflow", "comet", "clearml", "dvc")
           if SETTINGS.get(k)}
    if off:
        SETTINGS.update(off)
    font = Path(USER_CONFIG_DIR) / "Arial.ttf"
    if not font.exists():
        import shutil

        import matplotlib

        src = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
        font.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, font)


class LabelMap:
    """Maps a model's class names or indices to the dataset's labels.

    ``mapping`` keys are class names (``"car"``) or indices (``2``); values are dataset labels,
    or ``None`` to drop a class on purpose. A class that is in neither is dropped too. With no
    mapping every class keeps its name. Several classes may map to one label (their scores add).
    """

    def __init__(self, mapping: Mapping[str | int, str | None] | None = None) -> None:
        self.mapping = dict(mapping) if mapping is not None else None
        if self.mapping is not None:
            bad = {k: v for k, v in self.mapping.items() if v is not None and
                   (not isinstance(v, str) or not v)}
            if bad:
                raise ValueError(f"label_map values must be non-empty strings or None: {bad}")

    def __call__(self, name: str, index: int | None = None) -> str | None:
        """The dataset label for class ``name`` (index ``index``), or ``None`` when unmapped."""
        if self.mapping is None:
            return name
        if index is not None and index in self.mapping:
            return self.mapping[index]
        return self.mapping.get(name)

    def scores(self, scores: Mapping[str, float], names: Sequence[str] | None = None
               ) -> dict[str, float]:
        """Per-class scores keyed by dataset label (unmapped classes left out)."""
        out: dict[str, float] = {}
        index = {n: i for i, n in enumerate(names)} if names is not None else {}
        for name, value in scores.items():
            label = self(name, index.get(name))
            if label is not None:
                out[label] = out.get(label, 0.0) + float(value)
        return out


class _Source:
    """What all sources share: task, label mapping and the counts of what they dropped."""

    name: str

    def __init__(self, task: str, label_map: Mapping[str | int, str | None] | LabelMap | None
                 ) -> None:
        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, not {task!r}")
        self.task = task
        self.label_map = label_map if isinstance(label_map, LabelMap) else LabelMap(label_map)
        self.dropped = 0
        self.unmapped: Counter[str] = Counter()

    def _label(self, name: Any, index: int | None = None) -> str | None:
        label = self.label_map(str(name), index)
        if label is None:
            self.unmapped[str(name)] += 1
        return label

    def _proposal(self, name: Any, box: Box, confidence: Any, size: ImageSize, *,
                  index: int | None = None, scores: Mapping[str, float] | None = None,
                  names: Sequence[str] | None = None, mask: bytes | None = None
                  ) -> Proposal | None:
        """A validated proposal, or ``None`` (counted) when it is invalid or unmapped."""
        label = self._label(name, index)
        if label is None:
            return None
        try:
            mapped = self.label_map.scores(scores, names) if scores is not None else None
            return Proposal(label, box.clipped(size), confidence, source=self.name,
                            scores=mapped, mask=mask)
        except (InvalidLabelError, TypeError, ValueError) as exc:
            self.dropped += 1
            log.debug("dropped a proposal from %s: %s", self.name, exc)
            return None

    def _classification(self, scores: Mapping[str, float], size: ImageSize,
                        names: Sequence[str] | None = None) -> list[Proposal]:
        """The image-level proposal from per-class scores: the best mapped class."""
        for name, value in scores.items():
            if not math.isfinite(float(value)):
                self.dropped += 1
                log.debug("dropped a classification from %s: score of %s is %s",
                          self.name, name, value)
                return []
        mapped = self.label_map.scores(scores, names)
        if not mapped:
            best = max(scores, key=lambda k: scores[k]) if scores else "?"
            self.unmapped[str(best)] += 1
            return []
        label = max(mapped, key=lambda k: mapped[k])
        return [Proposal(label, Box(0, 0, size.width, size.height), min(mapped[label], 1.0),
                         source=self.name, scores=mapped)]


class UltralyticsSource(_Source):
    """Proposals from an ultralytics YOLO model: detect, segment or classify.

    ``model`` is a ``YOLO`` object or a path/name for one: ``"yolo11n.pt"`` downloads official
    weights when a user has network access; a local ``.pt`` (for example one trained by nblabel)
    needs none. The task and class names come from the model. ``device=None`` lets ultralytics
    choose (the first CUDA GPU when present, else the CPU). ``conf`` is low on purpose: reviewers
    see weak proposals too, and the widget's threshold hides them. Segmentation masks are the
    model's polygons drawn at the image's full resolution; a classifier's proposal carries the
    probabilities of every class. ``agnostic_nms=True`` suppresses overlapping boxes across
    classes, so a reviewer sees one proposal per object (a class confusion is one box to
    relabel, not two to sort out); the default keeps ultralytics' per-class suppression, whose
    duplicates carry the class doubt that uncertainty scores use.
    """

    def __init__(
        self,
        model: Any,
        *,
        conf: float = 0.05,
        iou: float = 0.6,
        imgsz: int = 640,
        device: str | int | None = None,
        max_det: int = 300,
        agnostic_nms: bool = False,
        label_map: Mapping[str | int, str | None] | LabelMap | None = None,
        name: str | None = None,
    ) -> None:
        self._weights: str | None = None
        if isinstance(model, str | os.PathLike):
            self._weights = os.fspath(model)
            model = self._load(self._weights)
        task = getattr(model, "task", "detect")
        if task not in TASKS:
            raise ValueError(f"ultralytics task {task!r} is not supported (only {TASKS})")
        self.model = model
        self.conf = conf
        self.iou = iou
        self.imgsz = imgsz
        self.device = device
        self.max_det = max_det
        self.agnostic_nms = agnostic_nms
        ckpt = getattr(model, "ckpt_path", None) or getattr(model, "model_name", None) or "yolo"
        self.name = name or Path(str(ckpt)).stem
        super().__init__(task, label_map)

    @staticmethod
    def _load(weights: str) -> Any:
        prepare_ultralytics()
        from ultralytics import YOLO

        return YOLO(weights)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle by weights path when there is one (Ray workers load the model themselves)."""
        state = self.__dict__.copy()
        if self._weights is not None:
            state["model"] = None
        else:  # a copy without its predictor (threads, a compiled model); ours keeps its own
            model = copy.copy(self.model)
            model.predictor = None
            state["model"] = model
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if self.model is None and self._weights is not None:
            self.model = self._load(self._weights)

    @property
    def class_names(self) -> list[str]:
        names = self.model.names
        return [names[i] for i in sorted(names)] if isinstance(names, dict) else list(names)

    def torch_module(self) -> Any:
        """The torch module that runs predictions (for MC dropout), once one has run."""
        predictor = getattr(self.model, "predictor", None)
        backend = getattr(predictor, "model", None)  # AutoBackend, a copy of the model
        inner = getattr(getattr(backend, "backend", None), "model", None)  # ultralytics >= 8.4
        return inner or backend or getattr(self.model, "model", None)

    def propose(self, images: Sequence[Image.Image]) -> list[list[Proposal]]:
        if not images:
            return []
        kwargs: dict[str, Any] = {"conf": self.conf, "iou": self.iou, "imgsz": self.imgsz,
                                  "max_det": self.max_det, "verbose": False}
        if self.agnostic_nms:
            kwargs["agnostic_nms"] = True
        if self.device is not None:
            kwargs["device"] = self.device
        results = self.model.predict(list(images), **kwargs)
        return [self._convert(img, res) for img, res in zip(images, results, strict=True)]

    def _convert(self, img: Image.Image, res: Any) -> list[Proposal]:
        size = ImageSize(img.width, img.height)
        names = res.names
        if self.task == "classify":
            probs = res.probs.data.cpu().numpy().tolist()
            return self._classification({str(names[k]): p for k, p in enumerate(probs)}, size,
                                        [str(names[k]) for k in range(len(probs))])
        proposals: list[Proposal] = []
        boxes = res.boxes
        if boxes is None or not len(boxes):
            return proposals
        xyxy = boxes.xyxy.cpu().numpy().tolist()
        confs = boxes.conf.cpu().numpy().tolist()
        classes = boxes.cls.cpu().numpy().astype(int).tolist()
        polygons = res.masks.xy if self.task == "segment" and res.masks is not None else None
        for j, ((x1, y1, x2, y2), c, k) in enumerate(zip(xyxy, confs, classes, strict=True)):
            try:
                box = Box.from_xyxy(x1, y1, x2, y2)
            except InvalidLabelError as exc:
                self.dropped += 1
                log.debug("dropped a proposal from %s: %s", self.name, exc)
                continue
            mask = None
            if polygons is not None:
                with contextlib.suppress(InvalidLabelError):
                    mask = _polygon_mask(polygons[j], box.clipped(size))
            p = self._proposal(names[k], box, c, size, index=k, mask=mask)
            if p is not None:
                proposals.append(p)
        return proposals


def _polygon_mask(polygon: Any, box: Box) -> bytes | None:
    """An instance mask (PNG bytes) covering ``box`` from a polygon in image pixels."""
    from PIL import Image as PILImage
    from PIL import ImageDraw

    from nblabel.images import encode_mask

    w, h = max(1, round(box.w)), max(1, round(box.h))
    pts = [(float(x) - box.x, float(y) - box.y) for x, y in polygon]
    if len(pts) < 3:
        return None
    canvas = PILImage.new("L", (w, h), 0)
    ImageDraw.Draw(canvas).polygon(pts, fill=255)
    return encode_mask(canvas)


class ProposalError(Exception):
    """A source could not propose for one image (the message says why); the run goes on."""


class CallableSource(_Source):
    """Proposals from any Python function ``fn(image) -> predictions``.

    Detection and segmentation: an iterable of mappings with ``label`` (a name or class index),
    a box as ``box`` ([x, y, w, h] in pixels) or ``xyxy`` ([x1, y1, x2, y2]), and ``confidence``
    (or ``score``); optional ``scores`` ({label: score}) and ``mask`` (a 2-D array covering the
    box). Classification (``task="classify"``): a mapping {label: probability}. Invalid
    predictions (NaN, outside the image, negative sizes) are dropped and counted; an exception
    from ``fn`` becomes that image's error. ``module``, a torch module ``fn`` runs, lets
    MC dropout switch its dropout layers on (see :mod:`nblabel.uncertainty`).
    """

    def __init__(self, fn: Any, name: str | None = None, *, task: str = "detect",
                 label_map: Mapping[str | int, str | None] | LabelMap | None = None,
                 module: Any = None) -> None:
        self.fn = fn
        self.name = str(name or getattr(fn, "__name__", "callable"))
        self.module = module
        super().__init__(task, label_map)

    def torch_module(self) -> Any:
        return self.module

    def propose(self, images: Sequence[Image.Image]) -> list[list[Proposal] | ProposalError]:
        out: list[list[Proposal] | ProposalError] = []
        for img in images:
            size = ImageSize(img.width, img.height)
            try:
                raw = self.fn(img)
                if self.task == "classify":
                    if not isinstance(raw, Mapping):
                        raise TypeError(f"a classifier must return {{label: score}}, "
                                        f"not {type(raw).__name__}")
                    out.append(self._classification(
                        {str(k): float(v) for k, v in raw.items()}, size))
                    continue
                predictions = list(raw)
            except Exception as exc:
                out.append(ProposalError(f"{self.name} failed: {exc!r}"))
                continue
            proposals = []
            for p in predictions:
                try:
                    prop = self._one(p, size)
                except (InvalidLabelError, KeyError, TypeError, ValueError) as exc:
                    self.dropped += 1
                    log.debug("dropped a prediction from %s: %s", self.name, exc)
                    continue
                if prop is not None:
                    proposals.append(prop)
            out.append(proposals)
        return out

    def _one(self, p: Mapping[str, Any], size: ImageSize) -> Proposal | None:
        box = Box.from_xyxy(*p["xyxy"]) if "xyxy" in p else Box(*p["box"])
        conf = p.get("confidence", p.get("score"))
        label = p["label"]
        index = label if isinstance(label, int) else None
        mask = None
        if p.get("mask") is not None:
            from nblabel.images import encode_mask

            mask = encode_mask(p["mask"])
        return self._proposal(label, box, conf, size, index=index, scores=p.get("scores"),
                              mask=mask)


class HTTPSource(_Source):
    """Proposals from an HTTP inference endpoint.

    Contract: the image is POSTed as JPEG (``Content-Type: image/jpeg``). The answer is, by task:

    - ``detect``: JSON, a list of boxes ``{"box": [x1, y1, x2, y2], "scores": [...]}`` in pixels
      with one score per label of ``labels`` (or ``"scores": {label: score}``); the label is the
      best-scoring one and the confidence its score;
    - ``classify``: JSON, a list of probabilities, one per label of ``labels`` (or a mapping);
    - ``segment``: a PNG the size of the image whose pixel values are indices into ``labels``;
      ``background`` (default 0) is no object. Each connected region of a class becomes one
      proposal with its instance mask and no confidence.

    Timeouts, connection errors and 5xx answers are retried ``retries`` times with exponential
    backoff; 4xx answers, malformed or oversized answers (over ``max_bytes``) become that image's
    error, naming the problem.
    """

    def __init__(
        self,
        url: str,
        labels: Sequence[str] | None = None,
        *,
        task: str = "detect",
        timeout: float = 10.0,
        retries: int = 2,
        backoff: float = 0.25,
        max_bytes: int = 10 * 2**20,
        background: int | None = 0,
        label_map: Mapping[str | int, str | None] | LabelMap | None = None,
        name: str | None = None,
    ) -> None:
        self.url = url
        self.labels = list(labels) if labels is not None else None
        if task in ("classify", "segment") and self.labels is None:
            raise ValueError(f"an HTTP {task} source needs its labels, in the model's order")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_bytes = max_bytes
        self.background = background
        self.name = name or f"http:{url}"
        super().__init__(task, label_map)

    def propose(self, images: Sequence[Image.Image]) -> list[list[Proposal] | ProposalError]:
        out: list[list[Proposal] | ProposalError] = []
        for img in images:
            size = ImageSize(img.width, img.height)
            try:
                data = self._post(img)
                if self.task == "segment":
                    out.append(self._parse_mask(data, size))
                else:
                    answer = self._json(data)
                    out.append(self._parse_classes(answer, size) if self.task == "classify"
                               else self._parse_boxes(answer, size))
            except ProposalError as exc:
                out.append(exc)
        return out

    def _post(self, img: Image.Image) -> bytes:
        import io
        import time
        import urllib.error
        import urllib.request

        buf = io.BytesIO()
        img.convert("RGB").save(buf, format="JPEG", quality=95)
        body = buf.getvalue()
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            request = urllib.request.Request(
                self.url, data=body, method="POST", headers={"Content-Type": "image/jpeg"}
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    data: bytes = response.read(self.max_bytes + 1)
            except urllib.error.HTTPError as exc:
                if exc.code < 500:
                    raise ProposalError(f"{self.url} refused the image: HTTP {exc.code}") from exc
                last = f"HTTP {exc.code}"
                continue
            except (urllib.error.URLError, TimeoutError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                last = "timed out" if "timed out" in str(reason) else f"unreachable ({reason})"
                continue
            if len(data) > self.max_bytes:
                raise ProposalError(f"{self.url} answered more than {self.max_bytes} bytes")
            return data
        raise ProposalError(f"{self.url} failed after {self.retries + 1} tries: {last}")

    def _json(self, data: bytes) -> Any:
        import json

        try:
            return json.loads(data)
        except ValueError as exc:
            raise ProposalError(f"{self.url} answered malformed JSON: {exc}") from exc

    def _scores(self, raw: Any) -> dict[str, float]:
        if isinstance(raw, Mapping):
            return {str(k): float(v) for k, v in raw.items()}
        if self.labels is not None and isinstance(raw, list) and len(raw) == len(self.labels):
            return {lab: float(v) for lab, v in zip(self.labels, raw, strict=True)}
        n = len(raw) if isinstance(raw, list) else type(raw).__name__
        raise ValueError(f"scores ({n}) do not match the {len(self.labels or [])} labels")

    def _parse_classes(self, answer: Any, size: ImageSize) -> list[Proposal]:
        try:
            scores = self._scores(answer)
        except (TypeError, ValueError) as exc:
            raise ProposalError(f"{self.url} answered a malformed classification: {exc}") from exc
        return self._classification(scores, size, self.labels)

    def _parse_boxes(self, answer: Any, size: ImageSize) -> list[Proposal]:
        if not isinstance(answer, list):
            raise ProposalError(f"{self.url} answered {type(answer).__name__}, not a list of boxes")
        proposals = []
        for i, item in enumerate(answer):
            try:
                box = Box.from_xyxy(*item["box"])
                scores = self._scores(item["scores"])
                if not scores:
                    raise ValueError("no scores")
            except (InvalidLabelError, KeyError, TypeError, ValueError) as exc:
                self.dropped += 1
                log.debug("dropped box %d from %s: %s", i, self.url, exc)
                continue
            label = max(scores, key=lambda k: scores[k] if math.isfinite(scores[k]) else -1)
            p = self._proposal(label, box, scores[label], size, scores=scores, names=self.labels)
            if p is not None:
                proposals.append(p)
        return proposals

    def _parse_mask(self, data: bytes, size: ImageSize) -> list[Proposal]:
        import io

        import numpy as np
        from PIL import Image as PILImage
        from scipy import ndimage

        from nblabel.images import encode_mask

        if not data.startswith(b"\x89PNG"):
            raise ProposalError(f"{self.url} answered {data[:16]!r}..., not a PNG mask")
        try:
            with PILImage.open(io.BytesIO(data)) as im:
                classes = np.asarray(im)
        except Exception as exc:
            raise ProposalError(f"{self.url} answered an unreadable PNG mask: {exc}") from exc
        if classes.ndim != 2:
            raise ProposalError(f"{self.url} answered a mask of shape {classes.shape}, "
                                "not one class index per pixel")
        if classes.shape != (size.height, size.width):
            raise ProposalError(f"{self.url} answered a {classes.shape[1]}x{classes.shape[0]} "
                                f"mask for a {size.width}x{size.height} image")
        assert self.labels is not None
        proposals: list[Proposal] = []
        for k in np.unique(classes).tolist():
            if k == self.background:
                continue
            if not 0 <= k < len(self.labels):
                self.dropped += 1
                log.debug("mask from %s has class index %d, not one of %d labels",
                          self.url, k, len(self.labels))
                continue
            regions, _n = ndimage.label(classes == k)
            for r, sl in enumerate(ndimage.find_objects(regions), start=1):
                if sl is None:
                    continue
                ys, xs = sl
                box = Box(xs.start, ys.start, xs.stop - xs.start, ys.stop - ys.start)
                mask = encode_mask(regions[sl] == r)
                p = self._proposal(self.labels[k], box, None, size, index=k, mask=mask)
                if p is not None:
                    proposals.append(p)
        return proposals


class EnsembleSource:
    """Several sources fused by weighted box fusion (WBF), keeping per-box agreement.

    Boxes of the same label from all members are clustered greedily by confidence (IoU with the
    cluster's fused box at least ``iou``); a cluster's box is the confidence-and-weight-weighted
    mean of its boxes, its confidence the weighted mean confidence scaled by the share of member
    weight that voted for it (a box only one of two equal members saw keeps half its
    confidence), and ``agreement`` the share of members in the cluster. Classifiers are fused by
    the weighted mean of their class scores; ``agreement`` is then the share of members whose
    best class is the fused one. Members map their own classes to the dataset's labels (each
    has its ``label_map``). A member failing on an image fails that image (its error names the
    member).
    """

    def __init__(
        self,
        sources: Sequence[ProposalSource],
        weights: Sequence[float] | None = None,
        *,
        iou: float = 0.55,
        name: str = "ensemble",
    ) -> None:
        if not sources:
            raise ValueError("an ensemble needs at least one source")
        self.sources = list(sources)
        tasks = {getattr(s, "task", "detect") for s in self.sources}
        if len(tasks) > 1:
            raise ValueError(f"ensemble members must share one task, got {sorted(tasks)}")
        self.task = tasks.pop()
        self.weights = list(weights) if weights is not None else [1.0] * len(self.sources)
        if len(self.weights) != len(self.sources) or min(self.weights) <= 0:
            raise ValueError("one positive weight per source is needed")
        self.iou = iou
        self.name = name
        self.dropped = 0
        self.unmapped: Counter[str] = Counter()

    def propose(self, images: Sequence[Image.Image]) -> list[list[Proposal] | ProposalError]:
        per_member = [list(s.propose(images)) for s in self.sources]
        self.dropped = sum(s.dropped for s in self.sources)
        self.unmapped = sum((Counter(getattr(s, "unmapped", {})) for s in self.sources),
                            Counter())
        out: list[list[Proposal] | ProposalError] = []
        for i in range(len(images)):
            results = [m[i] for m in per_member]
            failed = [r for r in results if isinstance(r, ProposalError)]
            if failed:
                out.append(ProposalError(f"{self.name}: {failed[0]}"))
                continue
            members = [r for r in results if not isinstance(r, ProposalError)]
            out.append(self._fuse_classes(members) if self.task == "classify"
                       else self._fuse(members))
        return out

    def _fuse_classes(self, members: list[list[Proposal]]) -> list[Proposal]:
        total = sum(self.weights)
        fused: dict[str, float] = {}
        box = None
        tops = []
        for props, w in zip(members, self.weights, strict=True):
            if not props:
                continue
            p = props[0]
            box = p.box
            tops.append(p.label)
            for label, v in (p.scores or {p.label: p.confidence or 0.0}).items():
                fused[label] = fused.get(label, 0.0) + w * v / total
        if not fused or box is None:
            return []
        label = max(fused, key=lambda k: fused[k])
        agreement = sum(1 for t in tops if t == label) / len(self.sources)
        return [Proposal(label, box, min(fused[label], 1.0), source=self.name, scores=fused,
                         agreement=agreement)]
    def _fuse(self, members: list[list[Proposal]]) -> list[Proposal]:
        total = sum(self.weights)
        tagged = sorted(
            ((p, k) for k, props in enumerate(members) for p in props),
            key=lambda pk: -(pk[0].confidence or 0.0) * self.weights[pk[1]],
        )
        clusters: list[tuple[Box, str, list[tuple[Proposal, int]]]] = []
        for p, k in tagged:
            for c, (fused, label, items) in enumerate(clusters):
                if label == p.label and fused.iou(p.box) >= self.iou:
                    items.append((p, k))
                    clusters[c] = (self._mean_box(items), label, items)
                    break
            else:
                clusters.append((p.box, p.label, [(p, k)]))
        fused_props = []
        for box, label, items in clusters:
            voters = {k for _, k in items}
            vote_weight = sum(self.weights[k] for k in voters)
            w = [self.weights[k] for _, k in items]
            conf = sum((p.confidence or 0.0) * wi for (p, _), wi in zip(items, w, strict=True))
            conf = conf / sum(w) * vote_weight / total
            fused_props.append(Proposal(label, box, min(conf, 1.0), source=self.name,
                                        agreement=len(voters) / len(self.sources)))
        return fused_props

    def _mean_box(self, items: list[tuple[Proposal, int]]) -> Box:
        w = [(p.confidence or 1e-6) * self.weights[k] for p, k in items]
        s = sum(w)
        x1 = sum(p.box.x * wi for (p, _), wi in zip(items, w, strict=True)) / s
        y1 = sum(p.box.y * wi for (p, _), wi in zip(items, w, strict=True)) / s
        x2 = sum(p.box.x2 * wi for (p, _), wi in zip(items, w, strict=True)) / s
        y2 = sum(p.box.y2 * wi for (p, _), wi in zip(items, w, strict=True)) / s
        return Box.from_xyxy(x1, y1, x2, y2)
