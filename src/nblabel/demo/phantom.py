"""A generated CT volume with known lesions, written as NIfTI or as a DICOM series.

scikit-image's ``cells3d`` is only downloaded on demand and pydicom's real series are a few
slices of 16 x 16 pixels, so the volume tests and the benchmark use this phantom. Its truth is
exact by construction:

- air (-1000 HU) around an elliptic body of soft tissue (40 HU), with two lungs (-850 HU)
  and a ring of bone (spine, 700 HU) behind them, the same on every slice;
- ``lesions`` spherical nodules (60 HU) inside the lungs at random centres and radii; on
  each slice a nodule's truth is the disc where the slice cuts its sphere (``truth_masks``);
- Gaussian noise of 15 HU.

Voxels are 0.7 x 0.7 mm in-plane and 1.25 mm apart, as in a chest CT.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Nodule", "Phantom", "make_phantom"]

PIXEL_MM = 0.7
SLICE_MM = 1.25


@dataclass(frozen=True)
class Nodule:
    """A spherical lesion: centre (slice, row, col) in voxels, radius in mm."""

    z: float
    y: float
    x: float
    radius_mm: float

    def disc(self, k: int) -> tuple[float, float, float] | None:
        """The nodule's cross-section on slice ``k``: (row, col, radius in pixels), or None."""
        dz = (k - self.z) * SLICE_MM
        if abs(dz) >= self.radius_mm:
            return None
        return (self.y, self.x, float(np.sqrt(self.radius_mm ** 2 - dz ** 2)) / PIXEL_MM)


@dataclass
class Phantom:
    """The phantom's shape, nodules and seed; slices are made on demand (:meth:`slice`)."""

    slices: int
    size: int
    nodules: list[Nodule]
    seed: int

    def _anatomy(self) -> np.ndarray:
        n = self.size
        yy, xx = np.mgrid[0:n, 0:n].astype(np.float32) / n
        img = np.full((n, n), -1000.0, np.float32)
        img[((xx - 0.5) / 0.42) ** 2 + ((yy - 0.52) / 0.32) ** 2 <= 1] = 40.0
        for cx in (0.33, 0.67):
            img[((xx - cx) / 0.13) ** 2 + ((yy - 0.47) / 0.2) ** 2 <= 1] = -850.0
        ring = ((xx - 0.5) / 0.05) ** 2 + ((yy - 0.75) / 0.05) ** 2
        img[(ring <= 1) & (ring >= 0.4)] = 700.0
        return img

    def slice(self, k: int) -> np.ndarray:
        """Slice ``k`` in HU (int16), the same for the same seed."""
        img = self._anatomy()
        yy, xx = np.mgrid[0:self.size, 0:self.size]
        for nod in self.nodules:
            d = nod.disc(k)
            if d is not None:
                img[(yy - d[0]) ** 2 + (xx - d[1]) ** 2 <= d[2] ** 2] = 60.0
        noise = np.random.default_rng(self.seed * 100_003 + k).normal(0, 15, img.shape)
        return np.clip(img + noise, -1024, 3071).astype(np.int16)

    def truth_masks(self, k: int) -> list[np.ndarray]:
        """One boolean mask per nodule cut by slice ``k``."""
        yy, xx = np.mgrid[0:self.size, 0:self.size]
        out = []
        for nod in self.nodules:
            d = nod.disc(k)
            if d is not None:
                out.append((yy - d[0]) ** 2 + (xx - d[1]) ** 2 <= d[2] ** 2)
        return out

    def write_nifti(self, path: str | Path) -> Path:
        """An uncompressed ``.nii`` (memory-mapped when read: one slice read at a time)."""
        import nibabel as nib

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = np.empty((self.size, self.size, self.slices), np.int16)
        for k in range(self.slices):
            data[:, :, k] = self.slice(k).T
        img = nib.Nifti1Image(data, np.diag([PIXEL_MM, PIXEL_MM, SLICE_MM, 1.0]))
        img.header.set_xyzt_units("mm")
        nib.save(img, str(path))
        return path

    def write_dicom(self, folder: str | Path, *, slices: int | None = None) -> list[Path]:
        """A CT series, one uncompressed DICOM file per slice (the first ``slices``)."""
        import pydicom
        from pydicom.dataset import FileMetaDataset
        from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        series, study, frame = (generate_uid() for _ in range(3))
        today = datetime.date(2026, 1, 1).strftime("%Y%m%d")
        out = []
        for k in range(slices or self.slices):
            meta = FileMetaDataset()
            meta.MediaStorageSOPClassUID = CTImageStorage
            meta.MediaStorageSOPInstanceUID = generate_uid()
            meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ds = pydicom.Dataset()
            ds.file_meta = meta
            ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
            ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
            ds.PatientID, ds.PatientName, ds.PatientBirthDate, ds.PatientSex = \
                "PHANTOM", "Phantom^Chest", "", "O"
            ds.StudyDate = ds.SeriesDate = ds.ContentDate = today
            ds.StudyTime = ds.SeriesTime = ds.ContentTime = "120000"
            ds.StudyID, ds.AccessionNumber, ds.ReferringPhysicianName = "1", "", ""
            ds.Modality, ds.Manufacturer, ds.SeriesNumber, ds.InstanceNumber = \
                "CT", "nblabel", 1, k + 1
            ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
            ds.ImagePositionPatient = [0.0, 0.0, k * SLICE_MM]
            ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
            ds.PixelSpacing = [PIXEL_MM, PIXEL_MM]
            ds.SliceThickness = SLICE_MM
            ds.Rows = ds.Columns = self.size
            ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
            ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
            ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = 0, 1, "HU"
            ds.WindowCenter, ds.WindowWidth = -600, 1500
            ds.PixelData = self.slice(k).tobytes()
            path = folder / f"slice-{k:04d}.dcm"
            ds.save_as(path, enforce_file_format=True)
            out.append(path)
        return out


def make_phantom(slices: int = 40, size: int = 128, lesions: int = 4, seed: int = 0) -> Phantom:
    """A phantom of ``slices`` slices of ``size`` x ``size`` with ``lesions`` nodules, each
    inside a lung (see the module doc), 3 to 5 mm in radius at 128 px (scaled with ``size``,
    so they stay inside the lungs)."""
    rng = np.random.default_rng(seed)
    nodules = []
    for k in range(lesions):
        cx = (0.33 if k % 2 == 0 else 0.67) + rng.uniform(-0.03, 0.03)
        cy = 0.47 + rng.uniform(-0.08, 0.08)
        r = float(rng.uniform(3.0, 5.0)) * size / 128  # well inside the lung at any size
        z = float(rng.uniform(r / SLICE_MM + 1, slices - r / SLICE_MM - 1))
        nodules.append(Nodule(z, cy * size, cx * size, r))
    return Phantom(slices, size, nodules, seed)


def find_nodules(image: object, max_area: int = 600) -> list[dict[str, object]]:
    """A classic nodule finder for the phantom's slices, as a proposal source's function
    (``CallableSource(find_nodules)``): on the lung-windowed slice, bright parts that are small
    (at most ``max_area`` pixels, so not the body) become boxes with their masks, confidence
    rising with their area. It misses the smallest cross-sections: a model, not the truth."""
    import cv2

    grey = np.asarray(image)[..., 0] if np.asarray(image).ndim == 3 else np.asarray(image)
    bright = (grey > 160).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(bright, connectivity=8)
    out: list[dict[str, object]] = []
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i])
        if area < 6 or area > max_area:
            continue
        mask = labels[y:y + h, x:x + w] == i
        out.append({"label": "nodule", "box": [x, y, w, h], "mask": mask,
                    "confidence": float(min(0.99, 0.4 + area / 200))})
    return out
