"""What every segmenter shares: the prompt, its validation, and turning a mask into a label."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar, runtime_checkable

import numpy as np

from nblabel.core.images import encode_mask
from nblabel.core.labels import Box, ImageSize

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["PerImage", "Prompt", "SegmentationError", "Segmenter", "bgr", "mask_label"]

T = TypeVar("T")


class SegmentationError(ValueError):
    """A prompt or a segmenter's answer cannot make a mask; the message says which and why."""


@dataclass(frozen=True)
class Prompt:
    """What the reviewer gave: a box and/or clicks ``(x, y, positive)`` in image pixels."""

    box: Box | None = None
    points: tuple[tuple[float, float, bool], ...] = field(default_factory=tuple)

    def checked(self, size: ImageSize) -> Prompt:
        """This prompt, or a :class:`SegmentationError` naming what is outside the image or
        empty (a click outside, a box of zero size, no positive input at all)."""
        for x, y, _ in self.points:
            if not (0 <= x < size.width and 0 <= y < size.height):
                raise SegmentationError(f"click at ({x:g}, {y:g}) is outside the "
                                        f"{size.width}x{size.height} image")
        box = self.box
        if box is not None:
            if box.w < 1 or box.h < 1:
                raise SegmentationError(f"box {[round(v, 1) for v in box.as_list()]} has zero "
                                        "size: drag a box around the object")
            try:
                box = box.clipped(size)
            except ValueError:
                raise SegmentationError(f"box {[round(v, 1) for v in box.as_list()]} is outside "
                                        f"the {size.width}x{size.height} image") from None
        if box is None and not any(p for _, _, p in self.points):
            raise SegmentationError("a mask needs a box or at least one positive click")
        return Prompt(box, tuple(self.points))


@runtime_checkable
class Segmenter(Protocol):
    """Makes a mask (H x W, bool, the whole image) from a prompt. ``prepares_ahead``: whether
    :meth:`prepare` does any work (the widget reads the next images for it only then)."""

    name: str
    prepares_ahead: bool

    def prepare(self, image: Image.Image, key: str | None = None) -> None:
        """Do the per-image work ahead (an image encoder); ``key`` names the image."""

    def segment(self, image: Image.Image, prompt: Prompt, key: str | None = None
                ) -> np.ndarray:
        """The mask for ``prompt`` on ``image``."""


def mask_label(mask: np.ndarray, source: str = "") -> tuple[Box, bytes]:
    """The box of a whole-image mask and the mask cropped to it as PNG (FiftyOne's form);
    :class:`SegmentationError` when the mask is empty."""
    ys, xs = np.nonzero(np.asarray(mask))
    if xs.size == 0:
        raise SegmentationError(f"{source or 'the segmenter'} returned an empty mask")
    x1, y1, x2, y2 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
    return Box(x1, y1, x2 - x1, y2 - y1), encode_mask(np.asarray(mask)[y1:y2, x1:x2])


def points_array(points: Sequence[tuple[float, float, bool]]) -> tuple[np.ndarray, np.ndarray]:
    """Clicks as arrays: ``(N, 2)`` coordinates and ``(N,)`` labels (1 positive, 0 negative)."""
    if not points:
        return np.zeros((0, 2), np.float32), np.zeros((0,), np.int32)
    return (np.array([[x, y] for x, y, _ in points], np.float32),
            np.array([1 if p else 0 for _, _, p in points], np.int32))


def bgr(image: Image.Image) -> np.ndarray:
    """The image as ultralytics reads arrays: contiguous BGR, 8 bits."""
    return np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])


class PerImage(Generic[T]):
    """A segmenter's per-image work (an encoder's features, FastSAM's segments) for the last
    ``size`` images, by key; computed once per image, one computation at a time (the widget
    prepares the next images in its prefetch thread while clicks come in the kernel's)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, T] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, compute: Callable[[], T]) -> T:
        """The value for ``key``, computed by ``compute`` if it is not kept."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            value = compute()
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
            return value
