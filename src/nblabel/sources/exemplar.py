"""Few-shot proposals from exemplars: boxes a reviewer drew become templates, and objects that
look like them are proposed on the same image and the next ones.

Needs no weights and no network; two methods, both fitted in well under a second:

- ``"pixels"`` (default): a pixel classifier fitted on the fly, as ilastik does. Pixels in the
  middle of each exemplar box are the object, a ring around it (outside every known box) is
  background; a random forest over a few colour, edge and blob filters learns the difference,
  labels every pixel of a new image, and the connected regions of object pixels (touching ones
  split by a distance-transform watershed at the exemplars' size) become boxes, their
  confidence the mean probability. Strong where objects differ from their surroundings by
  colour or texture but vary in shape (cells and nuclei, coins, stars).
- ``"template"``: normalised cross-correlation of each exemplar (OpenCV ``matchTemplate``,
  ``TM_CCOEFF_NORMED``, colour) at a few scales; peaks above ``threshold`` become boxes of the
  exemplar's size, the best score winning among overlaps. Strong for rigid objects of one look
  (parts, icons, printed marks), weak when shape or orientation vary.

Measured on the real images of :mod:`nblabel.demo.real` (recall / precision at IoU 0.5,
confidence >= 0.3; 3 exemplars, then 24):

=========  ===========================  ===========================
image      pixels (3 / 24)              template (3 / 24)
=========  ===========================  ===========================
coins      0.92 / 0.85, 1.00 / 1.00     1.00 / 0.96, 1.00 / 0.67
nuclei     0.07 / 0.24, 0.65 / 0.63     0.16 / 0.04, 0.15 / 0.04
=========  ===========================  ===========================

``"pixels"`` is the default: it is the one that keeps improving with more exemplars on objects
that vary. Neither generalises over appearance the way a trained detector does; that is what
the learning loop adds as reviewed images accumulate.

With ultralytics YOLOE weights present (``yoloe-11s-seg.pt`` and the like), visual prompts are
the stronger choice: :meth:`ExemplarSource.yoloe` uses them (nothing downloads in tests, so it is
not exercised there).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from nblabel.core.geometry import nms
from nblabel.core.labels import Box, ImageSize, Proposal
from nblabel.sources.base import LabelMap, ProposalError, _Source

if TYPE_CHECKING:
    import fiftyone as fo
    from PIL import Image

__all__ = ["Exemplar", "ExemplarError", "ExemplarSource", "pixel_features", "rgb_array"]

log = logging.getLogger(__name__)

MIN_EXEMPLAR_SIDE = 4
"""Exemplars narrower or lower than this many pixels are refused: too few pixels to match."""


class ExemplarError(ValueError):
    """An exemplar cannot be used (outside its image, too small); the message says which."""


@dataclass(frozen=True)
class Exemplar:
    """One drawn object as a template: its label, pixels (RGB, uint8) and where it came from."""

    label: str
    pixels: np.ndarray
    origin: str = ""
    #: Filter features of pixels in the middle of the box (object) and in a ring around it
    #: outside every known box (background), for the ``"pixels"`` method.
    inside: np.ndarray | None = None
    around: np.ndarray | None = None

    @property
    def size(self) -> tuple[int, int]:
        return int(self.pixels.shape[1]), int(self.pixels.shape[0])


def rgb_array(image: Image.Image) -> np.ndarray:
    """An image as an RGB uint8 array (H, W, 3), the input of :func:`pixel_features`."""
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def pixel_features(rgb: np.ndarray) -> np.ndarray:
    """Per-pixel features (H, W, 10): colour smoothed at two scales, edge strength, and
    blob responses (difference of Gaussians) at three scales, on a 0-1 scale."""
    from scipy import ndimage as ndi

    x = rgb.astype(np.float32) / 255.0
    grey = x.mean(axis=2)
    feats = [ndi.gaussian_filter(x[..., c], s) for s in (1.0, 3.0) for c in range(3)]
    feats.append(ndi.gaussian_gradient_magnitude(grey, 1.5))
    g = {s: ndi.gaussian_filter(grey, s) for s in (1.0, 2.0, 4.0, 8.0)}
    feats += [g[1.0] - g[2.0], g[2.0] - g[4.0], g[4.0] - g[8.0]]
    return np.stack(feats, axis=-1)


def _sample(mask: np.ndarray, feats: np.ndarray, n: int, seed: int) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    if ys.size > n:
        pick = np.random.default_rng(seed).choice(ys.size, n, replace=False)
        ys, xs = ys[pick], xs[pick]
    return feats[ys, xs]


def crop_exemplar(image: Image.Image, label: str, box: Box, origin: str = "",
                  others: Sequence[Box] = (), features: np.ndarray | None = None) -> Exemplar:
    """The exemplar of ``label`` at ``box`` (pixels) in ``image``; raises :class:`ExemplarError`
    naming the box when it lies outside the image or is under ``MIN_EXEMPLAR_SIDE`` px.
    ``others``: the other known boxes on the image (kept out of the background sample);
    ``features``: :func:`pixel_features` of the image when already computed."""
    where = f"exemplar {label!r} at {[round(v, 1) for v in box.as_list()]}" + (
        f" in {origin}" if origin else "")
    size = ImageSize(image.width, image.height)
    try:
        inside = box.clipped(size)
    except ValueError:
        raise ExemplarError(f"{where} lies outside the {size.width}x{size.height} image"
                            ) from None
    x1, y1 = round(inside.x), round(inside.y)
    x2, y2 = round(inside.x2), round(inside.y2)
    if x2 - x1 < MIN_EXEMPLAR_SIDE or y2 - y1 < MIN_EXEMPLAR_SIDE:
        raise ExemplarError(f"{where} is {x2 - x1}x{y2 - y1} px inside the image: exemplars "
                            f"need at least {MIN_EXEMPLAR_SIDE}x{MIN_EXEMPLAR_SIDE} px")
    rgb = rgb_array(image)
    feats = pixel_features(rgb) if features is None else features
    H, W = rgb.shape[:2]
    yy, xx = np.mgrid[0:H, 0:W]
    cx, cy, rx, ry = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 2, (y2 - y1) / 2
    r2 = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2
    known = np.zeros((H, W), bool)
    for b in (box, *others):
        known[max(0, int(b.y)):int(np.ceil(b.y2)), max(0, int(b.x)):int(np.ceil(b.x2))] = True
    inside = r2 <= 0.8 ** 2
    ring = (r2 >= 1.3 ** 2) & (r2 <= 3.0 ** 2) & ~known
    seed = x1 * 7919 + y1
    return Exemplar(label, rgb[y1:y2, x1:x2].copy(), origin,
                    _sample(inside, feats, 200, seed), _sample(ring, feats, 600, seed + 1))


class ExemplarSource(_Source):
    """Proposals of objects like the exemplars (see the module doc).

    ``method``: ``"pixels"`` or ``"template"``. ``threshold``: lowest correlation proposed by
    templates (the widget's confidence threshold then hides the weak ones); ``scales``: exemplar
    sizes tried; ``max_exemplars``: the most recent ones kept per label (older ones dropped, so
    fitting stays fast as the review goes on); ``work_side``: images larger than this are
    matched downscaled; ``min_confidence``: regions less sure than this are not proposed.
    """

    def __init__(
        self,
        exemplars: Sequence[Exemplar] = (),
        *,
        method: str = "pixels",
        threshold: float = 0.45,
        min_confidence: float = 0.3,
        scales: Sequence[float] = (0.8, 1.0, 1.25),
        nms_iou: float = 0.3,
        max_exemplars: int = 64,
        max_backgrounds: int = 16,
        max_per_image: int = 1000,
        work_side: int = 1024,
        label_map: Mapping[str | int, str | None] | LabelMap | None = None,
        name: str = "exemplars",
    ) -> None:
        if method not in ("pixels", "template"):
            raise ValueError(f"method must be 'pixels' or 'template', not {method!r}")
        if not 0 < threshold < 1:
            raise ValueError(f"threshold must be in (0, 1), got {threshold}")
        if not scales or min(scales) <= 0:
            raise ValueError(f"scales must be positive, got {list(scales)}")
        self.name = name
        self.method = method
        #: Object probability above which a pixel counts as object (``"pixels"``).
        self.pixel_threshold = 0.5
        self.min_confidence = min_confidence
        self._forest: Any = None
        self.threshold = threshold
        self.scales = tuple(scales)
        self.nms_iou = nms_iou
        self.max_exemplars = max_exemplars
        self.max_per_image = max_per_image
        self.work_side = work_side
        self.exemplars: list[Exemplar] = []
        #: Background pixel samples from fully labelled images (:meth:`add_background`).
        self.backgrounds: list[np.ndarray] = []
        #: Background pixel samples from rejected proposals (:meth:`add_negatives`).
        self.negatives: list[np.ndarray] = []
        self.max_backgrounds = max_backgrounds
        super().__init__("detect", label_map)
        for e in exemplars:
            self.add_exemplar(e)

    # -- exemplars ---------------------------------------------------------------------------

    def add_exemplar(self, exemplar: Exemplar) -> None:
        """Keep ``exemplar`` (the oldest of its label goes beyond ``max_exemplars``)."""
        w, h = exemplar.size
        if w < MIN_EXEMPLAR_SIDE or h < MIN_EXEMPLAR_SIDE:
            raise ExemplarError(f"exemplar {exemplar.label!r} from {exemplar.origin or '?'} is "
                                f"{w}x{h} px: exemplars need at least {MIN_EXEMPLAR_SIDE} px")
        self.exemplars.append(exemplar)
        same = [e for e in self.exemplars if e.label == exemplar.label]
        if len(same) > self.max_exemplars:
            self.exemplars.remove(same[0])
        self._forest = None

    def add_background(self, image: Image.Image, boxes: Sequence[Box],
                       features: np.ndarray | None = None, n: int = 1500) -> None:
        """Learn background from a fully labelled image: pixels away from all its ``boxes``
        (a reviewed image has every object boxed, so the rest is background). The last
        ``max_backgrounds`` images are kept."""
        rgb = rgb_array(image)
        feats = pixel_features(rgb) if features is None else features
        H, W = rgb.shape[:2]
        free = np.ones((H, W), bool)
        for b in boxes:
            m = max(2, int(0.25 * min(b.w, b.h)))
            free[max(0, int(b.y) - m):int(np.ceil(b.y2)) + m,
                 max(0, int(b.x) - m):int(np.ceil(b.x2)) + m] = False
        if free.any():
            self.backgrounds.append(_sample(free, feats, n, H * 31 + W + len(self.backgrounds)))
            del self.backgrounds[:-self.max_backgrounds]
            self._forest = None

    def add_negatives(self, image: Image.Image, rejected: Sequence[Box], kept: Sequence[Box],
                      features: np.ndarray | None = None, n: int = 60) -> int:
        """Learn from proposals the reviewer rejected (hard negatives): up to ``n`` pixels in
        the middle of each ``rejected`` box that lie in no ``kept`` box become background
        samples (the last ``max_backgrounds`` images' worth are kept). Returns how many
        boxes gave samples."""
        if not rejected:
            return 0
        rgb = rgb_array(image)
        feats = pixel_features(rgb) if features is None else features
        H, W = rgb.shape[:2]
        free = np.ones((H, W), bool)
        for b in kept:
            free[max(0, int(b.y)):int(np.ceil(b.y2)), max(0, int(b.x)):int(np.ceil(b.x2))] = False
        yy, xx = np.mgrid[0:H, 0:W]
        mask = np.zeros((H, W), bool)
        used = 0
        for b in rejected:
            cx, cy = b.x + b.w / 2, b.y + b.h / 2
            x1, y1 = max(0, int(b.x)), max(0, int(b.y))
            x2, y2 = min(W, int(np.ceil(b.x2))), min(H, int(np.ceil(b.y2)))
            if x2 <= x1 or y2 <= y1:
                continue
            sub = (((xx[y1:y2, x1:x2] - cx) / max(b.w / 2, 1)) ** 2
                   + ((yy[y1:y2, x1:x2] - cy) / max(b.h / 2, 1)) ** 2) <= 0.6 ** 2
            sub &= free[y1:y2, x1:x2]
            if sub.any():
                mask[y1:y2, x1:x2] |= sub
                used += 1
        if used:
            self.negatives.append(_sample(mask, feats, n * used, H * 17 + W + len(self.negatives)))
            del self.negatives[:-self.max_backgrounds]
            self._forest = None
        return used

    def add(self, image: Image.Image, label: str, box: Box, origin: str = "",
            others: Sequence[Box] = (), features: np.ndarray | None = None) -> Exemplar:
        """Crop ``box`` (pixels) of ``image`` as an exemplar of ``label`` and keep it
        (``others``: the image's other known boxes; see :func:`crop_exemplar`)."""
        e = crop_exemplar(image, label, box, origin, others, features)
        self.add_exemplar(e)
        return e

    @classmethod
    def from_field(cls, view: fo.core.collections.SampleCollection, field: str = "ground_truth",
                   limit: int = 12, **kwargs: Any) -> ExemplarSource:
        """Exemplars from the boxes stored in ``field`` of ``view`` (the first ``limit`` per
        label); boxes that cannot be exemplars are skipped with a warning naming them."""
        from nblabel.core.images import load_rgb

        source = cls(max_exemplars=limit, **kwargs)
        counts: dict[str, int] = {}
        for sid, path, dets in zip(*view.values(["id", "filepath", field]), strict=True):
            todo = [d for d in (dets.detections if dets is not None else [])
                    if counts.get(d.label, 0) < limit]
            if not todo:
                continue
            image = load_rgb(path)
            size = ImageSize(image.width, image.height)
            feats = pixel_features(rgb_array(image))
            known = [Box.from_relative(d.bounding_box, size) for d in dets.detections]
            for d in todo:
                try:
                    source.add(image, d.label, Box.from_relative(d.bounding_box, size),
                               f"sample {sid}", known, feats)
                    counts[d.label] = counts.get(d.label, 0) + 1
                except (ExemplarError, ValueError) as exc:
                    log.warning("skipped: %s", exc)
        return source

    # -- proposing ---------------------------------------------------------------------------

    def propose(self, images: Sequence[Image.Image]) -> list[list[Proposal] | ProposalError]:
        out: list[list[Proposal] | ProposalError] = []
        for image in images:
            try:
                out.append(self._propose_one(image))
            except Exception as exc:  # one image's failure must not stop a bulk run
                out.append(ProposalError(f"{self.name} failed: {exc!r}"))
        return out

    def _propose_one(self, image: Image.Image) -> list[Proposal]:
        if not self.exemplars:
            return []
        if self.method == "pixels":
            return self._propose_pixels(image)
        return self._propose_template(image)

    def _fit(self) -> Any:
        """The random forest over the exemplars' pixel samples (refitted when they change)."""
        if self._forest is None:
            from sklearn.ensemble import RandomForestClassifier

            labels = sorted({e.label for e in self.exemplars})
            xs, ys = [], []
            for e in self.exemplars:
                if e.inside is None or e.around is None:
                    continue
                xs += [e.inside, e.around]
                ys += [np.full(len(e.inside), labels.index(e.label) + 1),
                       np.zeros(len(e.around), int)]
            for bg in (*self.backgrounds, *self.negatives):
                xs.append(bg)
                ys.append(np.zeros(len(bg), int))
            forest = RandomForestClassifier(n_estimators=24, max_depth=10, n_jobs=1,
                                            random_state=0, class_weight="balanced")
            forest.fit(np.concatenate(xs), np.concatenate(ys))
            self._forest = (forest, labels)
        return self._forest

    def _propose_pixels(self, image: Image.Image) -> list[Proposal]:
        from scipy import ndimage as ndi
        from skimage import feature, segmentation

        forest, labels = self._fit()
        rgb, size, factor = self._work_image(image)
        H, W = rgb.shape[:2]
        feats = pixel_features(rgb).reshape(H * W, -1)
        proba = np.zeros((H * W, len(labels) + 1), np.float32)
        proba[:, forest.classes_] = forest.predict_proba(feats)
        proba = proba.reshape(H, W, -1)
        fg = 1.0 - proba[..., 0]
        sides = np.array([e.size for e in self.exemplars], float) * factor
        med_w, med_h = np.median(sides, axis=0)
        min_area = 0.2 * med_w * med_h
        mask = ndi.binary_opening(fg >= self.pixel_threshold, iterations=1)
        dist = ndi.distance_transform_edt(mask)
        regions, n = ndi.label(mask)
        if n == 0:
            return []
        peaks = feature.peak_local_max(dist, min_distance=max(2, int(min(med_w, med_h) * 0.4)),
                                       labels=regions, exclude_border=False)
        markers = np.zeros(mask.shape, np.int32)
        markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
        # Regions without a peak (thin ones) keep their own marker.
        no_peak = np.setdiff1d(np.arange(1, n + 1), np.unique(regions[tuple(peaks.T)]))
        for k, r in enumerate(no_peak, start=len(peaks) + 1):
            markers[regions == r] = k
        split = segmentation.watershed(-dist, markers, mask=mask)
        props = []
        for k, sl in enumerate(ndi.find_objects(split), start=1):
            if sl is None:
                continue
            region = split[sl] == k
            area = int(region.sum())
            if area < min_area:
                continue
            p = proba[sl][region].mean(axis=0)
            cls = int(np.argmax(p[1:])) + 1
            conf = float(min(1.0, p[cls] * min(1.0, area / (0.5 * med_w * med_h))))
            if conf < self.min_confidence:
                continue
            y, x = sl
            box = Box.from_xyxy(x.start / factor, y.start / factor, x.stop / factor,
                                y.stop / factor)
            prop = self._proposal(labels[cls - 1], box, conf, size)
            if prop is not None:
                props.append(prop)
        props.sort(key=lambda q: -(q.confidence or 0.0))
        return props[:self.max_per_image]

    def _work_image(self, image: Image.Image) -> tuple[np.ndarray, ImageSize, float]:
        """The image's RGB pixels, downscaled to ``work_side`` when larger; its size; the
        scale factor applied."""
        import cv2

        size = ImageSize(image.width, image.height)
        factor = min(1.0, self.work_side / max(size.width, size.height))
        rgb = rgb_array(image)
        if factor < 1.0:
            rgb = cv2.resize(rgb, (max(1, round(size.width * factor)),
                                   max(1, round(size.height * factor))),
                             interpolation=cv2.INTER_AREA)
        return rgb, size, factor

    def _propose_template(self, image: Image.Image) -> list[Proposal]:
        import cv2

        pixels, size, factor = self._work_image(image)
        work = pixels.astype(np.float32)
        H, W = work.shape[:2]
        found_boxes: list[np.ndarray] = []
        found_scores: list[np.ndarray] = []
        found_labels: list[np.ndarray] = []
        labels = sorted({e.label for e in self.exemplars})
        for e in self.exemplars:
            for s in self.scales:
                tw = max(MIN_EXEMPLAR_SIDE, round(e.size[0] * s * factor))
                th = max(MIN_EXEMPLAR_SIDE, round(e.size[1] * s * factor))
                if tw >= W or th >= H:
                    continue
                tpl = cv2.resize(e.pixels, (tw, th), interpolation=cv2.INTER_AREA
                                 ).astype(np.float32)
                if float(tpl.std()) < 1e-3:  # a flat template correlates with nothing
                    continue
                res = cv2.matchTemplate(work, tpl, cv2.TM_CCOEFF_NORMED)
                res = np.nan_to_num(res, nan=0.0, posinf=0.0, neginf=0.0)
                k = max(3, (min(tw, th) // 2) | 1)
                peaks = (res >= self.threshold) & (res >= cv2.dilate(
                    res, np.ones((k, k), np.uint8)))
                ys, xs = np.nonzero(peaks)
                if xs.size == 0:
                    continue
                sc = res[ys, xs]
                if xs.size > self.max_per_image:
                    top = np.argsort(-sc)[:self.max_per_image]
                    xs, ys, sc = xs[top], ys[top], sc[top]
                found_boxes.append(np.stack([xs, ys, xs + tw, ys + th], 1).astype(np.float32))
                found_scores.append(sc.astype(np.float32))
                found_labels.append(np.full(xs.size, labels.index(e.label)))
        if not found_boxes:
            return []
        boxes = np.concatenate(found_boxes) / factor
        scores = np.concatenate(found_scores)
        which = np.concatenate(found_labels)
        xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)
        keep = nms(xywh, scores, self.nms_iou)[:self.max_per_image]
        props = []
        for i in keep:
            x1, y1, x2, y2 = (float(v) for v in boxes[i])
            p = self._proposal(labels[int(which[i])], Box.from_xyxy(x1, y1, x2, y2),
                               float(min(1.0, scores[i])), size)
            if p is not None:
                props.append(p)
        return props

    # -- YOLOE visual prompts (weights needed) ------------------------------------------------

    @staticmethod
    def yoloe(weights: str, image: Image.Image, boxes: Sequence[Box], labels: Sequence[str],
              *, conf: float = 0.1) -> list[Proposal]:
        """Proposals on ``image`` from ultralytics YOLOE visual prompts (``weights``, e.g.
        ``yoloe-11s-seg.pt``, must be present): the boxes drawn on it are the prompts."""
        from nblabel.sources.yolo import prepare_ultralytics

        prepare_ultralytics()
        from ultralytics import YOLOE
        from ultralytics.models.yolo.yoloe import YOLOEVPSegPredictor

        names = sorted(set(labels))
        prompts: dict[str, Any] = {"bboxes": np.array([[b.x, b.y, b.x2, b.y2] for b in boxes]),
                   "cls": np.array([names.index(label) for label in labels])}
        model = YOLOE(weights)
        result = model.predict(image, visual_prompts=prompts, predictor=YOLOEVPSegPredictor,
                               conf=conf, verbose=False)[0]
        size = ImageSize(image.width, image.height)
        out = []
        for xyxy, c, k in zip(result.boxes.xyxy.tolist(), result.boxes.conf.tolist(),
                              result.boxes.cls.tolist(), strict=True):
            out.append(Proposal(names[int(k)], Box.from_xyxy(*xyxy).clipped(size), float(c),
                                source="yoloe-visual"))
        return out
