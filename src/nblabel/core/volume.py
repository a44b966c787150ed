"""Medical volumes: DICOM series (pydicom) and NIfTI files (nibabel), read a slice at a time.

Opening a volume reads headers only: a DICOM series reads each file's header (no pixel data)
to order the slices along the slice normal and check their spacing; a NIfTI file maps its
header and keeps nibabel's lazy array proxy (an uncompressed ``.nii`` is memory-mapped, so one
slice is read from disk; a ``.nii.gz`` is decompressed up to the slice asked for). Memory
therefore does not grow with the number of slices; :meth:`Volume.pixels` reads one slice (a
few are cached) in real units (Hounsfield units for CT: ``RescaleSlope``/``RescaleIntercept``
applied; NIfTI's ``scl_slope``/``scl_inter`` likewise).

Slice ``i`` is shown as rows x columns: for DICOM the stored image, for NIfTI the voxel array's
first two axes transposed (``data[:, :, i].T``) - voxel order, not reoriented to a patient
orientation. ``spacing`` is ``(slice, row, column)`` in millimetres.

Why not FiftyOne's DICOM importer for review: it converts each file to an 8-bit image at import
(scaled between the file's minimum and maximum, so no window/level afterwards), reads every
file's pixels up front, and neither orders slices nor keeps a series together. nblabel keeps
the original files as the samples' media and reads pixels when a slice is shown.

Bad input is named (file, slice): a file without pixel data, compressed pixel data whose
decoder is not installed, slices of different sizes. Uneven slice spacing is not an error: it
is listed in ``problems`` (the slices stay in order, distances along them are not uniform).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["PRESETS", "DicomSeries", "NiftiVolume", "SliceInfo", "Volume", "VolumeError",
           "auto_window", "find_series", "open_volume", "requires", "to_display"]

#: Window presets (centre, width) in Hounsfield units, as radiology viewers offer them.
PRESETS: dict[str, tuple[float, float]] = {
    "soft tissue": (40.0, 400.0), "lung": (-600.0, 1500.0), "bone": (400.0, 1800.0),
    "brain": (40.0, 80.0), "liver": (60.0, 160.0),
}
#: Slices kept decoded per volume.
CACHE = 16


class VolumeError(ValueError):
    """A volume, file or slice that cannot be read (the message names it)."""


def requires(module: str) -> Any:
    """Import one of the medical extra's packages, or say how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"{module} is needed for medical images: "
                          'pip install "nblabel[medical]"') from exc


@dataclass(frozen=True)
class SliceInfo:
    """One slice: its file, its DICOM SOP Instance UID (None for NIfTI) and its position
    along the slice normal in mm (None when unknown)."""

    path: str
    instance_uid: str | None = None
    position: float | None = None


@dataclass
class Volume:
    """A stack of slices read on demand (see the module doc)."""

    kind: str
    series_uid: str
    rows: int
    cols: int
    slices: list[SliceInfo]
    spacing: tuple[float, float, float]
    modality: str = ""
    window: tuple[float, float] | None = None
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return len(self.slices)

    @property
    def shape(self) -> tuple[int, int, int]:
        return (len(self.slices), self.rows, self.cols)

    def pixels(self, i: int) -> np.ndarray:
        """Slice ``i`` (rows x cols, float32, real units)."""
        if not 0 <= i < len(self.slices):
            raise VolumeError(f"{self.series_uid} has no slice {i} (it has {len(self.slices)})")
        if i in self._cache:
            self._cache.move_to_end(i)
            return self._cache[i]
        out = self._read(i)
        if out.shape != (self.rows, self.cols):
            raise VolumeError(f"slice {i} ({self.slices[i].path}) is {out.shape[1]}x"
                              f"{out.shape[0]}, the series is {self.cols}x{self.rows}")
        self._cache[i] = out
        while len(self._cache) > CACHE:
            self._cache.popitem(last=False)
        return out

    def _read(self, i: int) -> np.ndarray:  # pragma: no cover - each kind reads its own
        raise NotImplementedError

    def default_window(self) -> tuple[float, float]:
        """The file's own window, else soft tissue for CT, else :func:`auto_window` on the
        middle slice."""
        if self.window is not None:
            return self.window
        if self.modality == "CT":
            return PRESETS["soft tissue"]
        return auto_window(self.pixels(len(self) // 2))


def auto_window(pixels: np.ndarray) -> tuple[float, float]:
    """A window over the 1st to 99th percentile of ``pixels`` (for MR and unknown units)."""
    lo, hi = (float(v) for v in np.percentile(pixels, [1, 99]))
    return ((lo + hi) / 2, max(hi - lo, 1.0))


def to_display(pixels: np.ndarray, center: float, width: float) -> np.ndarray:
    """8-bit grey of ``pixels`` through the window ``(center, width)`` (DICOM's linear
    VOI function, simplified): what models see and what the browser paints."""
    lo = center - width / 2
    out = (pixels.astype(np.float32) - lo) * (255.0 / max(width, 1e-6))
    return np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)  # rounded as the browser does


# -- DICOM -----------------------------------------------------------------------------------

_HEADER_TAGS = ["SOPInstanceUID", "SeriesInstanceUID", "ImagePositionPatient",
                "ImageOrientationPatient", "InstanceNumber", "PixelSpacing", "SliceThickness",
                "Rows", "Columns", "Modality", "WindowCenter", "WindowWidth",
                "SpacingBetweenSlices"]


def _first(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value[0] if isinstance(value, Sequence) and not isinstance(value, str)
                     else value)
    except (TypeError, ValueError, IndexError):
        return None


def _header(path: str) -> dict[str, Any]:
    """The few header values a series needs, as plain values (the parsed header is dropped at
    once, so opening holds a small record per slice, never a file's whole header)."""
    pydicom = requires("pydicom")
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=_HEADER_TAGS)
    except Exception as exc:
        raise VolumeError(f"{path} is not a readable DICOM file: {exc}") from exc
    out: dict[str, Any] = {}
    for tag in _HEADER_TAGS:
        v = ds.get(tag)
        if v is None or v == "":
            continue
        if tag in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing"):
            out[tag] = [float(x) for x in v]
        elif tag in ("Rows", "Columns"):
            out[tag] = int(v)
        elif tag in ("WindowCenter", "WindowWidth", "SliceThickness", "InstanceNumber",
                     "SpacingBetweenSlices"):
            out[tag] = _first(v)
        else:
            out[tag] = str(v)
    return out


def find_series(paths: Iterable[str | os.PathLike[str]]) -> dict[str, list[str]]:
    """DICOM files grouped by SeriesInstanceUID (headers only); a folder is searched whole."""
    files: list[str] = []
    for p in paths:
        p = Path(p)
        files += [str(f) for f in sorted(p.rglob("*")) if f.is_file()] if p.is_dir() \
            else [str(p)]
    out: dict[str, list[str]] = {}
    for f in files:
        if Path(f).name.upper().startswith("DICOMDIR"):
            continue
        try:
            h = _header(f)
        except VolumeError:
            continue
        if "Rows" not in h:  # not an image (a report, a plan, a structure set)
            continue
        out.setdefault(str(h.get("SeriesInstanceUID", "unknown")), []).append(f)
    return out


class DicomSeries(Volume):
    """A DICOM series, one file per slice, ordered along the slice normal."""

    @classmethod
    def open(cls, files: Sequence[str | os.PathLike[str]]) -> DicomSeries:
        """Read the headers of ``files`` (one series) and order them (see the module doc)."""
        heads = [(str(f), _header(str(f))) for f in files]
        if not heads:
            raise VolumeError("no DICOM files given")
        images = [(f, h) for f, h in heads if "Rows" in h]
        for f, h in heads:
            if "Rows" not in h:
                raise VolumeError(f"{f} holds no image (no pixel data): it is a "
                                  f"{h.get('Modality', 'non-image')} object, not a slice")
        uids = {str(h.get("SeriesInstanceUID", "")) for _, h in images}
        if len(uids) > 1:
            raise VolumeError(f"the files hold {len(uids)} series ({', '.join(sorted(uids))}): "
                              "open one at a time (nblabel.core.volume.find_series)")
        problems: list[str] = []
        positions = _positions(images, problems)
        order = sorted(range(len(images)), key=lambda k: (positions[k] is None,
                                                          positions[k] or 0.0,
                                                          _first(images[k][1].get(
                                                              "InstanceNumber")) or 0))
        first = images[order[0]][1]
        sizes = {(h["Rows"], h.get("Columns", 0)) for _, h in images}
        if len(sizes) > 1:
            raise VolumeError(f"series {uids.pop()} mixes slice sizes {sorted(sizes)}: "
                              "a volume needs one size")
        ps = first.get("PixelSpacing") or [1.0, 1.0]
        steps = np.diff([positions[k] for k in order if positions[k] is not None])
        step = float(np.median(np.abs(steps))) if len(steps) else \
            float(_first(first.get("SliceThickness")) or 1.0)
        _check_spacing(steps, step, [images[k][0] for k in order], problems)
        slices = [SliceInfo(images[k][0], str(images[k][1].get("SOPInstanceUID", "")) or None,
                            positions[k]) for k in order]
        wc, ww = _first(first.get("WindowCenter")), _first(first.get("WindowWidth"))
        return cls("dicom", str(first.get("SeriesInstanceUID", "unknown")), first["Rows"],
                   first["Columns"], slices, (step, float(ps[0]), float(ps[1])),
                   str(first.get("Modality", "")),
                   (wc, ww) if wc is not None and ww else None, problems)

    def _read(self, i: int) -> np.ndarray:
        pydicom = requires("pydicom")
        path = self.slices[i].path
        ds = pydicom.dcmread(path)
        if "PixelData" not in ds and "FloatPixelData" not in ds:
            raise VolumeError(f"slice {i} ({path}) has no pixel data")
        try:
            arr = ds.pixel_array
        except Exception as exc:
            syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
            name = getattr(syntax, "name", str(syntax))
            raise VolumeError(
                f"slice {i} ({path}): its pixel data is compressed ({name}) and no decoder "
                "for it is installed: pip install pylibjpeg pylibjpeg-libjpeg "
                f"pylibjpeg-openjpeg (or python-gdcm) ({exc})") from exc
        if arr.ndim != 2:
            raise VolumeError(f"slice {i} ({path}) holds {arr.shape} pixels: colour or "
                              "multi-frame images are not slices of a volume")
        slope = float(ds.get("RescaleSlope", 1) or 1)
        inter = float(ds.get("RescaleIntercept", 0) or 0)
        return (arr.astype(np.float32) * slope + inter).astype(np.float32)


def _positions(images: list[tuple[str, Any]], problems: list[str]) -> list[float | None]:
    """Each slice's distance along the slice normal (ImagePositionPatient projected on the
    cross product of ImageOrientationPatient's row and column directions)."""
    out: list[float | None] = []
    for _, h in images:
        ipp, iop = h.get("ImagePositionPatient"), h.get("ImageOrientationPatient")
        if ipp is None or iop is None or len(iop) != 6:
            out.append(None)
            continue
        normal = np.cross(np.array(iop[:3], float), np.array(iop[3:], float))
        out.append(float(np.dot(normal, np.array(ipp, float))))
    if any(p is None for p in out) and len(out) > 1:
        problems.append("some slices have no position (ImagePositionPatient): ordered by "
                        "InstanceNumber instead")
    return out


def _check_spacing(steps: np.ndarray, step: float, files: list[str],
                   problems: list[str]) -> None:
    for k, s in enumerate(np.abs(steps)):
        if abs(s - step) > max(0.01, 0.1 * step):
            problems.append(f"inconsistent slice spacing: {s:.2f} mm between "
                            f"{Path(files[k]).name} and {Path(files[k + 1]).name}, where the "
                            f"series steps {step:.2f} mm")
        if s < 1e-6:
            problems.append(f"{Path(files[k]).name} and {Path(files[k + 1]).name} lie at the "
                            "same position")


# -- NIfTI -----------------------------------------------------------------------------------


class NiftiVolume(Volume):
    """A NIfTI file (``.nii`` or ``.nii.gz``) through nibabel's lazy array proxy."""

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> NiftiVolume:
        nib = requires("nibabel")
        path = str(path)
        try:
            img: Any = nib.load(path)
        except Exception as exc:
            raise VolumeError(f"{path} is not a readable NIfTI file: {exc}") from exc
        shape = img.shape
        if len(shape) < 3:
            raise VolumeError(f"{path} holds a {len(shape)}-D image, not a volume")
        problems = [] if len(shape) == 3 else [
            f"{path} is {len(shape)}-D {shape}: its first volume is shown"]
        zooms = img.header.get_zooms()
        vol = cls("nifti", Path(path).name, int(shape[1]), int(shape[0]),
                  [SliceInfo(path, None, float(k * zooms[2])) for k in range(shape[2])],
                  (float(zooms[2]), float(zooms[1]), float(zooms[0])), "", None, problems)
        vol._proxy = img.dataobj
        vol._affine = img.affine
        return vol

    _proxy: Any = None
    _affine: Any = None

    @property
    def affine(self) -> np.ndarray:
        return np.asarray(self._affine)

    def _read(self, i: int) -> np.ndarray:
        index = (slice(None), slice(None), i) + (0,) * (len(self._proxy.shape) - 3)
        try:
            return np.asarray(self._proxy[index], dtype=np.float32).T.copy()
        except Exception as exc:
            raise VolumeError(f"slice {i} of {self.slices[i].path} could not be read: "
                              f"{exc}") from exc


def open_volume(source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> Volume:
    """A NIfTI file, or a DICOM series (a folder of one series, or its files)."""
    if isinstance(source, str | os.PathLike):
        p = Path(source)
        if not p.exists():
            raise VolumeError(f"{p} does not exist")
        if p.is_file() and (p.name.endswith(".nii") or p.name.endswith(".nii.gz")):
            return NiftiVolume.open(p)
        groups = find_series([p])
        if not groups:
            raise VolumeError(f"{p} holds no DICOM image")
        if len(groups) > 1:
            raise VolumeError(f"{p} holds {len(groups)} series "
                              f"({', '.join(sorted(groups))}): open one of them "
                              "(nblabel.core.volume.find_series)")
        return DicomSeries.open(next(iter(groups.values())))
    return DicomSeries.open(list(source))
