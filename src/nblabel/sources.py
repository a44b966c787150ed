"""Proposal sources: models that turn images into :class:`~nblabel.types.Proposal` lists.

A source is anything with a ``name`` and ``propose(images) -> list[list[Proposal]]`` (one list
per image, boxes in pixels of that image). Sources validate what their model returns through
:mod:`nblabel.types`: boxes are clipped to the image, NaN scores and empty boxes are dropped and
counted in :attr:`ProposalSource.dropped`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from nblabel.types import Box, ImageSize, InvalidLabelError, Proposal

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "CallableSource", "EnsembleSource", "HTTPSource", "ProposalError", "ProposalSource",
    "UltralyticsSource",
    "prepare_ultralytics",
]

log = logging.getLogger(__name__)


@runtime_checkable
class ProposalSource(Protocol):
    """What :func:`nblabel.preannotate.preannotate` needs from a model."""

    name: str
    dropped: int

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

    if SETTINGS.get("sync"):
        SETTINGS.update({"sync": False})
    font = Path(USER_CONFIG_DIR) / "Arial.ttf"
    if not font.exists():
        import shutil

        import matplotlib

        src = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
        font.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, font)


class UltralyticsSource:
    """Detection proposals from an ultralytics YOLO model.

    ``model`` is a ``YOLO`` object or a path/name for one: ``"yolo11n.pt"`` downloads official
    weights when a user has network access; a local ``.pt`` (for example one trained by nblabel)
    needs none. ``device=None`` lets ultralytics choose (the first CUDA GPU when present, else
    the CPU). ``conf`` is low on purpose: reviewers see weak proposals too, and the widget's
    threshold hides them.
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
        name: str | None = None,
    ) -> None:
        if isinstance(model, str | os.PathLike):
            prepare_ultralytics()
            from ultralytics import YOLO

            model = YOLO(os.fspath(model))
        self.model = model
        self.conf = conf
        self.iou = iou
        self.imgsz = imgsz
        self.device = device
        self.max_det = max_det
        ckpt = getattr(model, "ckpt_path", None) or getattr(model, "model_name", None) or "yolo"
        self.name = name or Path(str(ckpt)).stem
        self.dropped = 0

    @property
    def class_names(self) -> list[str]:
        names = self.model.names
        return [names[i] for i in sorted(names)] if isinstance(names, dict) else list(names)

    def propose(self, images: Sequence[Image.Image]) -> list[list[Proposal]]:
        if not images:
            return []
        kwargs: dict[str, Any] = {"conf": self.conf, "iou": self.iou, "imgsz": self.imgsz,
                                  "max_det": self.max_det, "verbose": False}
        if self.device is not None:
            kwargs["device"] = self.device
        results = self.model.predict(list(images), **kwargs)
        out: list[list[Proposal]] = []
        for img, res in zip(images, results, strict=True):
            size = ImageSize(img.width, img.height)
            names = res.names
            proposals: list[Proposal] = []
            boxes = res.boxes
            if boxes is not None and len(boxes):
                xyxy = boxes.xyxy.cpu().numpy().tolist()
                confs = boxes.conf.cpu().numpy().tolist()
                classes = boxes.cls.cpu().numpy().astype(int).tolist()
                for (x1, y1, x2, y2), c, k in zip(xyxy, confs, classes, strict=True):
                    try:
                        box = Box.from_xyxy(x1, y1, x2, y2).clipped(size)
                        proposals.append(Proposal(str(names[k]), box, c, source=self.name))
                    except InvalidLabelError as exc:
                        self.dropped += 1
                        log.debug("dropped a proposal from %s: %s", self.name, exc)
            out.append(proposals)
        return out


class ProposalError(Exception):
    """A source could not propose for one image (the message says why); the run goes on."""


def _proposal_from_parts(
    label: Any, box: Box, confidence: Any, size: ImageSize, source: str,
    scores: Mapping[str, float] | None = None,
) -> Proposal:
    return Proposal(str(label), box.clipped(size), None if confidence is None else
                    float(confidence), source=source, scores=scores)


class CallableSource:
    """Proposals from any Python function ``fn(image) -> iterable of predictions``.

    Each prediction is a mapping with ``label``, a box as ``box`` ([x, y, w, h] in pixels) or
    ``xyxy`` ([x1, y1, x2, y2]), and ``confidence`` (or ``score``); optional ``scores``
    ({label: score}) and ``mask`` (a 2-D array covering the box). Invalid predictions (NaN,
    outside the image, negative sizes) are dropped and counted; an exception from ``fn`` becomes
    that image's error.
    """

    def __init__(self, fn: Any, name: str | None = None) -> None:
        self.fn = fn
        self.name: str = str(name or getattr(fn, "__name__", "callable"))
        self.dropped = 0

    def propose(self, images: Sequence[Image.Image]) -> list[list[Proposal] | ProposalError]:
        out: list[list[Proposal] | ProposalError] = []
        for img in images:
            size = ImageSize(img.width, img.height)
            try:
                predictions = list(self.fn(img))
            except Exception as exc:
                out.append(ProposalError(f"{self.name} failed: {exc!r}"))
                continue
            proposals = []
            for p in predictions:
                try:
                    proposals.append(self._one(p, size))
                except (InvalidLabelError, KeyError, TypeError, ValueError) as exc:
                    self.dropped += 1
                    log.debug("dropped a prediction from %s: %s", self.name, exc)
            out.append(proposals)
        return out

    def _one(self, p: Mapping[str, Any], size: ImageSize) -> Proposal:
        box = Box.from_xyxy(*p["xyxy"]) if "xyxy" in p else Box(*p["box"])
        conf = p.get("confidence", p.get("score"))
        prop = _proposal_from_parts(p["label"], box, conf, size, self.name, p.get("scores"))
        if p.get("mask") is not None:
            from nblabel.images import encode_mask

            prop = replace(prop, mask=encode_mask(p["mask"]))
        return prop


class HTTPSource:
    """Detection proposals from an HTTP inference endpoint.

    Contract: the image is POSTed as JPEG (``Content-Type: image/jpeg``); the answer is JSON, a
    list of boxes, each ``{"box": [x1, y1, x2, y2], "scores": [...]}`` in pixels with one score
    per label of ``labels`` (or ``"scores": {label: score}``); the label is the best-scoring one
    and the confidence its score. Timeouts, connection errors and 5xx answers are retried
    ``retries`` times with exponential backoff; 4xx answers, malformed or oversized answers
    (over ``max_bytes``) become that image's error, naming the problem.
    """

    def __init__(
        self,
        url: str,
        labels: Sequence[str] | None = None,
        *,
        timeout: float = 10.0,
        retries: int = 2,
        backoff: float = 0.25,
        max_bytes: int = 10 * 2**20,
        name: str | None = None,
    ) -> None:
        self.url = url
        self.labels = list(labels) if labels is not None else None
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_bytes = max_bytes
        self.name = name or f"http:{url}"
        self.dropped = 0

    def propose(self, images: Sequence[Image.Image]) -> list[list[Proposal] | ProposalError]:
        out: list[list[Proposal] | ProposalError] = []
        for img in images:
            try:
                answer = self._post(img)
                out.append(self._parse(answer, ImageSize(img.width, img.height)))
            except ProposalError as exc:
                out.append(exc)
        return out

    def _post(self, img: Image.Image) -> Any:
        import io
        import json
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
                    data = response.read(self.max_bytes + 1)
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
            try:
                return json.loads(data)
            except ValueError as exc:
                raise ProposalError(f"{self.url} answered malformed JSON: {exc}") from exc
        raise ProposalError(f"{self.url} failed after {self.retries + 1} tries: {last}")

    def _parse(self, answer: Any, size: ImageSize) -> list[Proposal]:
        if not isinstance(answer, list):
            raise ProposalError(f"{self.url} answered {type(answer).__name__}, not a list of boxes")
        proposals = []
        for i, item in enumerate(answer):
            try:
                box = Box.from_xyxy(*item["box"])
                raw = item["scores"]
                if isinstance(raw, Mapping):
                    scores = {str(k): float(v) for k, v in raw.items()}
                elif self.labels is not None and len(raw) == len(self.labels):
                    scores = {lab: float(v) for lab, v in zip(self.labels, raw, strict=True)}
                else:
                    raise ValueError("scores do not match the labels")
                label = max(scores, key=lambda k: scores[k])
                proposals.append(_proposal_from_parts(label, box, scores[label], size,
                                                      self.name, scores))
            except (InvalidLabelError, KeyError, TypeError, ValueError) as exc:
                self.dropped += 1
                log.debug("dropped box %d from %s: %s", i, self.url, exc)
        return proposals


class EnsembleSource:
    """Several sources fused by weighted box fusion (WBF), keeping per-box agreement.

    Boxes of the same label from all members are clustered greedily by confidence (IoU with the
    cluster's fused box at least ``iou``); a cluster's box is the confidence-and-weight-weighted
    mean of its boxes, its confidence the weighted mean confidence scaled by the share of member
    weight that voted for it (a box only one of two equal members saw keeps half its
    confidence), and ``agreement`` the share of members in the cluster. A member failing on an
    image fails that image (its error names the member).
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
        self.weights = list(weights) if weights is not None else [1.0] * len(self.sources)
        if len(self.weights) != len(self.sources) or min(self.weights) <= 0:
            raise ValueError("one positive weight per source is needed")
        self.iou = iou
        self.name = name
        self.dropped = 0

    def propose(self, images: Sequence[Image.Image]) -> list[list[Proposal] | ProposalError]:
        per_member = [list(s.propose(images)) for s in self.sources]
        self.dropped = sum(s.dropped for s in self.sources)
        out: list[list[Proposal] | ProposalError] = []
        for i in range(len(images)):
            results = [m[i] for m in per_member]
            failed = [r for r in results if isinstance(r, ProposalError)]
            if failed:
                out.append(ProposalError(f"{self.name}: {failed[0]}"))
                continue
            out.append(self._fuse([r for r in results if not isinstance(r, ProposalError)]))
        return out

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
