"""An HTTP inference endpoint as a proposal source (JSON boxes or classes, PNG masks)."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nblabel.core.labels import Box, ImageSize, InvalidLabelError, Proposal

if TYPE_CHECKING:
    from PIL import Image


from nblabel.sources.base import LabelMap, ProposalError, _Source

__all__ = ["HTTPSource"]

log = logging.getLogger(__name__)


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

        from nblabel.core.images import encode_mask

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
