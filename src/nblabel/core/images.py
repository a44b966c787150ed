"""Loading images for display and for models, with clear errors for bad files.

Browsers show JPEG, PNG, GIF and WebP as they are; those files are sent to the widget unchanged
(as binary, never base64). Anything else (TIFF, BMP, 16-bit, CMYK, palette with transparency...)
is converted to 8-bit RGB(A) and sent as PNG. EXIF orientation is applied in Python, so pixel
coordinates in the widget, in the model and in FiftyOne agree.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from nblabel.core.labels import ImageSize

__all__ = [
    "DisplayImage", "ImageLoadError", "decode_mask", "encode_mask", "load_display_image",
    "load_rgb",
]

_BROWSER_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif",
                    "WEBP": "image/webp"}
_BROWSER_MODES = {"RGB", "RGBA", "L", "LA", "P"}
_EXIF_ORIENTATION = 0x0112


class ImageLoadError(Exception):
    """An image that cannot be shown or read: the message names the file and the reason."""


@dataclass(frozen=True, slots=True)
class DisplayImage:
    """Encoded image bytes ready for a browser, with their MIME type and the image's full pixel
    size; ``preview`` when the bytes are a downscaled version (of a large image)."""

    data: bytes
    mime: str
    size: ImageSize
    preview: bool = False


def _open(path: str | os.PathLike[str], draft: tuple[int, int] | None = None) -> Image.Image:
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ImageLoadError(f"image file not found: {path}")
    if os.path.isdir(path):
        raise ImageLoadError(f"image path is a folder, not a file: {path}")
    try:
        img = Image.open(path)
        if draft is not None and img.format == "JPEG":
            img.draft("RGB", draft)  # decode a large JPEG at a fraction of its size: much faster
        img.load()
    except Exception as exc:
        # ultralytics patches Image.open (for HEIF) and may turn PIL's UnidentifiedImageError
        # into another exception; look at the chain to name the problem either way.
        if isinstance(exc, UnidentifiedImageError) or isinstance(
            exc.__context__, UnidentifiedImageError
        ):
            raise ImageLoadError(f"not an image file (unknown format): {path}") from exc
        raise ImageLoadError(f"corrupt or truncated image {path}: {exc}") from exc
    if img.width <= 0 or img.height <= 0:
        raise ImageLoadError(f"image has no pixels: {path}")
    return img


def _orientation(img: Image.Image) -> int:
    try:
        return int(img.getexif().get(_EXIF_ORIENTATION, 1))
    except Exception:  # broken EXIF blocks must not make the image unreadable
        return 1


def _to_8bit(img: Image.Image) -> Image.Image:
    """RGB or RGBA 8-bit version of any PIL mode (16-bit and float scaled to 0..255)."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        import numpy as np

        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        scaled = (arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)
        return Image.fromarray(np.nan_to_num(scaled).astype("uint8"), "L").convert("RGB")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        return img.convert("RGBA")
    return img.convert("RGB")


def load_display_image(
    path: str | os.PathLike[str], max_side: int | None = None
) -> DisplayImage:
    """Bytes for the widget: the file itself when a browser shows it as is, else PNG.

    With ``max_side``, an image larger than that is sent as a JPEG preview of at most
    ``max_side`` pixels per side (``preview=True``; ``size`` stays the full size, so coordinates
    do not change); the widget asks for the full image when the user zooms in.
    """
    size = image_size(path)
    large = max_side is not None and max(size.width, size.height) > max_side
    img = _open(path, draft=(max_side, max_side) if large and max_side else None)
    fmt = img.format or ""
    orientation = _orientation(img)
    if not large and fmt in _BROWSER_FORMATS and img.mode in _BROWSER_MODES and orientation == 1:
        with open(path, "rb") as f:
            data = f.read()
        return DisplayImage(data, _BROWSER_FORMATS[fmt], size)
    img = _to_8bit(ImageOps.exif_transpose(img) if orientation != 1 else img)
    buf = io.BytesIO()
    if large and max_side:
        img.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
        img.convert("RGB").save(buf, format="JPEG", quality=88)
        return DisplayImage(buf.getvalue(), "image/jpeg", size, preview=True)
    img.save(buf, format="PNG", compress_level=1)
    return DisplayImage(buf.getvalue(), "image/png", size)


def load_rgb(path: str | os.PathLike[str]) -> Image.Image:
    """The image as 8-bit RGB with EXIF orientation applied (what models should see)."""
    img = _open(path)
    if _orientation(img) != 1:
        img = ImageOps.exif_transpose(img)
    img = _to_8bit(img)
    return img.convert("RGB") if img.mode != "RGB" else img


def image_size(path: str | os.PathLike[str]) -> ImageSize:
    """Pixel size after EXIF orientation, reading only the header."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ImageLoadError(f"image file not found: {path}")
    try:
        with Image.open(path) as img:
            w, h = img.size
            if _orientation(img) in (5, 6, 7, 8):
                w, h = h, w
    except Exception as exc:  # see _open
        raise ImageLoadError(f"corrupt or unreadable image {path}: {exc}") from exc
    return ImageSize(w, h)


def encode_mask(mask: object) -> bytes:
    """A 2-D mask (bool or numbers, non-zero inside) as 8-bit PNG bytes (0 or 255)."""
    import numpy as np

    arr = np.asarray(mask)
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"a mask must be a non-empty 2-D array, got shape {arr.shape}")
    buf = io.BytesIO()
    Image.fromarray(np.where(arr > 0, 255, 0).astype("uint8"), "L").save(buf, format="PNG")
    return buf.getvalue()


def decode_mask(data: bytes) -> object:
    """The boolean array of a mask made by :func:`encode_mask`."""
    import numpy as np

    return np.asarray(Image.open(io.BytesIO(data)).convert("L")) > 127
