"""Real images nobody here generated, with truth derived by a documented, reproducible method.

The images ship inside scikit-image (no download); the truth is computed from them by classic
image analysis, so anyone can re-derive it and see where it is wrong:

Each object also has its true mask (the method's region), for interactive segmentation.

- ``coins`` (Greek coins, 303x384, grey): the elevation-map watershed of scikit-image's own
  "Comparing edge-based and region-based segmentation" tutorial (Sobel elevation; markers below
  30 background, above 150 coin; holes filled), regions of at least 100 px: 24 coins.
- ``nuclei`` (``immunohistochemistry``, 512x512 colon tissue, haematoxylin + DAB): colour
  deconvolution (``rgb2hed``); nuclei are pixels above Otsu's threshold in the smoothed
  haematoxylin channel and below it in the DAB channel (brown membrane staining excluded),
  opened with a 2 px disk, holes filled, touching nuclei split by a distance-transform watershed
  (peaks at least 5 px apart), regions of at least 30 px: 264 nuclei of about 12 px (with
  scikit-image 0.26). It misses nuclei inside the brown glands and splits a few elongated
  ones: imperfect, but fixed and documented, which is what a benchmark needs.
- ``hubble`` (``hubble_deep_field``, 872x1000, galaxies and stars on a dark sky): source
  extraction as astronomers do it (SExtractor, photutils' ``detect_sources``): the luminance,
  smoothed (Gaussian, 1 px), above the sky's median plus 5 robust standard deviations (1.4826
  median absolute deviations), opened once, holes filled, blended sources split by a
  distance-transform watershed (peaks at least 4 px apart), sources of at least 25 px: 647
  sources of 7 to 20 px (10 px median), faint ones touching bright ones.

Real labeled photos, boxes drawn by people (not derived here):

- ``crowns`` (:func:`crowns`): aerial RGB photos of conifer forest in Yellowstone (NEON site
  YELL, 2019, 10 cm pixels) with the tree crowns boxed by the DeepForest team, shipped in the
  ``deepforest`` wheel on PyPI (``deepforest/data/2019_YELL_2_*.png`` and their Pascal VOC
  ``.xml``: 574 and 279 crowns). Crowns touch, vary in size and look like their shadowed
  surroundings: the hard case for exemplar proposals. Only the wheel's data files are read
  (the package itself, with its GIS dependencies, is not installed); ``scripts/setup.sh``
  downloads the wheel into ``.cache/data``.

:func:`scaled` resizes an image and its truth (``coins`` at several scales: the same objects at
sizes the exemplars never saw).

:func:`write_tiles` cuts an image into tiles (the boxes kept are those whose centre lies in the
tile, clipped to it) and writes them as PNG files, for datasets of many small images.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nblabel.core.labels import Box, ImageSize
from nblabel.demo.synthetic import SyntheticImage

__all__ = ["REAL_IMAGES", "RealImage", "coins", "crowns", "hubble", "nuclei", "scaled",
           "write_tiles"]


@dataclass(frozen=True)
class RealImage:
    """A bundled real image (RGB, uint8), its objects' class and their boxes (pixels)."""

    name: str
    pixels: np.ndarray
    label: str
    boxes: tuple[Box, ...]
    #: The label image of the method (0 background) and each box's region id in it: the
    #: objects' true masks (``mask(i)``).
    regions: np.ndarray | None = None
    region_ids: tuple[int, ...] = ()

    def mask(self, i: int) -> np.ndarray:
        """Object ``i``'s true mask (bool, the whole image)."""
        if self.regions is None:
            raise ValueError(f"{self.name} has no true masks")
        return np.asarray(self.regions == self.region_ids[i])

    @property
    def size(self) -> ImageSize:
        return ImageSize(int(self.pixels.shape[1]), int(self.pixels.shape[0]))


def _found(name: str, rgb: np.ndarray, label: str, labels: np.ndarray, min_area: int
           ) -> RealImage:
    """The image with the boxes (and masks) of ``labels``' regions of at least ``min_area``."""
    from skimage import measure

    found = []
    for r in measure.regionprops(labels):
        if r.area >= min_area:
            y1, x1, y2, x2 = r.bbox
            found.append((Box(float(x1), float(y1), float(x2 - x1), float(y2 - y1)), r.label))
    found.sort(key=lambda bl: (bl[0].y, bl[0].x))
    return RealImage(name, rgb, label, tuple(b for b, _ in found), labels,
                     tuple(int(k) for _, k in found))


def coins() -> RealImage:
    """scikit-image's ``coins`` with its 24 coins (see the module doc for the method)."""
    import skimage.data
    from scipy import ndimage as ndi
    from skimage import filters, segmentation

    grey = skimage.data.coins()
    elevation = filters.sobel(grey)
    markers = np.zeros_like(grey)
    markers[grey < 30] = 1
    markers[grey > 150] = 2
    seg = ndi.binary_fill_holes(segmentation.watershed(elevation, markers) - 1)
    labels, _ = ndi.label(seg)
    return _found("coins", np.stack([grey] * 3, axis=-1), "coin", labels, 100)


def _split_touching(mask: np.ndarray, min_distance: int) -> np.ndarray:
    """The label image of ``mask``'s objects, touching ones split by a distance-transform
    watershed (peaks at least ``min_distance`` px apart)."""
    from scipy import ndimage as ndi
    from skimage import feature, measure, segmentation

    dist = ndi.distance_transform_edt(mask)
    peaks = feature.peak_local_max(dist, min_distance=min_distance, labels=measure.label(mask))
    markers = np.zeros(mask.shape, dtype=np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    return np.asarray(segmentation.watershed(-dist, markers, mask=mask))


def nuclei() -> RealImage:
    """scikit-image's ``immunohistochemistry`` with its stroma nuclei (see the module doc)."""
    import skimage.data
    from scipy import ndimage as ndi
    from skimage import color, filters, morphology

    rgb = skimage.data.immunohistochemistry()
    hed = color.rgb2hed(rgb)
    h = filters.gaussian(hed[..., 0], sigma=1.0)
    dab = filters.gaussian(hed[..., 2], sigma=2.0)
    mask = (h > filters.threshold_otsu(h)) & (dab < filters.threshold_otsu(dab))
    mask = ndi.binary_fill_holes(ndi.binary_opening(mask, structure=morphology.disk(2)))
    labels = _split_touching(mask, 5)
    return _found("nuclei", np.ascontiguousarray(rgb), "nucleus", labels, 30)


def hubble() -> RealImage:
    """scikit-image's ``hubble_deep_field`` with its sources (see the module doc)."""
    import skimage.data
    from scipy import ndimage as ndi
    from skimage import color, filters

    rgb = skimage.data.hubble_deep_field()
    grey = filters.gaussian(color.rgb2gray(rgb), sigma=1.0)
    sky = float(np.median(grey))
    sigma = 1.4826 * float(np.median(np.abs(grey - sky)))
    mask = ndi.binary_fill_holes(ndi.binary_opening(grey > sky + 5 * sigma, iterations=1))
    labels = _split_touching(mask, 4)
    return _found("hubble", np.ascontiguousarray(rgb), "source", labels, 25)


def scaled(image: RealImage, factor: float) -> RealImage:
    """``image`` resized by ``factor`` (area interpolation), its boxes and masks with it."""
    import cv2

    w, h = max(1, round(image.size.width * factor)), max(1, round(image.size.height * factor))
    pixels = cv2.resize(image.pixels, (w, h), interpolation=cv2.INTER_AREA)
    regions = (None if image.regions is None else cv2.resize(
        image.regions.astype(np.int32), (w, h), interpolation=cv2.INTER_NEAREST))
    fx, fy = w / image.size.width, h / image.size.height
    boxes = tuple(Box(b.x * fx, b.y * fy, b.w * fx, b.h * fy) for b in image.boxes)
    return RealImage(f"{image.name}-x{factor:g}", pixels, image.label, boxes, regions,
                     image.region_ids)


DEEPFOREST_WHEEL = "deepforest-2.1.0-py3-none-any.whl"
CROWN_IMAGES = ("2019_YELL_2_528000_4978000_image_crop2", "2019_YELL_2_541000_4977000_image_crop")


def _deepforest_wheel() -> Path:
    """The deepforest wheel: ``$NBLABEL_DATA_DIR`` or the repository's ``.cache/data``."""
    here = Path(__file__).resolve().parents[3] / ".cache" / "data"
    dirs = [Path(d) for d in (os.environ.get("NBLABEL_DATA_DIR"),) if d] + [here]
    for d in dirs:
        if (d / DEEPFOREST_WHEEL).is_file():
            return d / DEEPFOREST_WHEEL
    raise FileNotFoundError(
        f"{DEEPFOREST_WHEEL} not found in {', '.join(map(str, dirs))}: run "
        f"`pip download --no-deps deepforest==2.1.0 -d .cache/data` (scripts/setup.sh does)")


def crowns(name: str = CROWN_IMAGES[1]) -> RealImage:
    """One of the deepforest wheel's labeled aerial photos (see the module doc), its crowns'
    boxes as the DeepForest team drew them (Pascal VOC, pixels)."""
    import io
    import re
    import zipfile

    from PIL import Image

    with zipfile.ZipFile(_deepforest_wheel()) as whl:
        try:
            png = whl.read(f"deepforest/data/{name}.png")
            xml = whl.read(f"deepforest/data/{name}.xml").decode()
        except KeyError:
            raise ValueError(f"{name!r} is not one of the wheel's labeled images "
                             f"{list(CROWN_IMAGES)}") from None
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    boxes = []
    for m in re.finditer(r"<xmin>([\d.]+)</xmin>\s*<ymin>([\d.]+)</ymin>\s*"
                         r"<xmax>([\d.]+)</xmax>\s*<ymax>([\d.]+)</ymax>", xml):
        x1, y1, x2, y2 = map(float, m.groups())
        if x2 > x1 and y2 > y1:
            boxes.append(Box(x1, y1, x2 - x1, y2 - y1))
    return RealImage(f"crowns-{name.split('_')[3]}", rgb, "tree", tuple(boxes))


REAL_IMAGES: dict[str, Callable[[], RealImage]] = {"coins": coins, "nuclei": nuclei,
                                                   "hubble": hubble}


def write_tiles(image: RealImage, out_dir: str | os.PathLike[str], tile: int,
                *, min_visible: float = 0.5, overlap: float = 0.0) -> list[SyntheticImage]:
    """Cut ``image`` into ``tile`` px tiles (overlapping by ``overlap`` of a tile, the last ones
    aligned to the edges),
    write them as PNG into ``out_dir`` and return them with their boxes: an object belongs to a
    tile when at least ``min_visible`` of its box lies inside it (clipped there)."""
    from PIL import Image

    from nblabel.sources.sliced import in_tile, tile_grid

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tiles = []
    for k, (x, y, w, h) in enumerate(tile_grid(image.size, tile, overlap)):
        objects = in_tile([(image.label, b) for b in image.boxes], (x, y, w, h), min_visible)
        path = out / f"{image.name}-{k:03d}.png"
        Image.fromarray(image.pixels[y:y + h, x:x + w]).save(path)
        tiles.append(SyntheticImage(path, w, h, tuple(objects)))
    return tiles
