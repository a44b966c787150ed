"""Reviewed masks of a volume exported back as a volume: a NIfTI label map, or DICOM SEG.

Both read the reviewed labels of every slice of a series (``gt_field``: ``Detections`` written
by the review's sync) and stack them: a kept label's mask where it has one, else its box
filled (a box is the extent a reviewer confirmed). Classes are numbered from 1 in sorted order
(0 is background); where two labels overlap, the later class number wins in the label map.

- :func:`export_nifti_labels`: a ``uint16`` label volume on the source's voxel grid. For a
  NIfTI source its affine is reused; for a DICOM series the affine is built from the slices'
  position, orientation and spacing (LPS to NIfTI's RAS). The class names go to a sidecar
  ``<name>.labels.json``.
- :func:`export_dicom_seg` (highdicom): a DICOM Segmentation object referencing the series'
  instances, one binary segment per class; for DICOM sources only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nblabel.core.labels import Box, ImageSize
from nblabel.core.masks import full_mask
from nblabel.core.volume import NiftiVolume, Volume
from nblabel.store.volumes import open_series

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = ["dicom_affine", "export_dicom_seg", "export_nifti_labels", "label_volume"]


def label_volume(dataset: fo.Dataset, series: str | None = None, gt_field: str = "ground_truth"
                 ) -> tuple[Volume, np.ndarray, list[str]]:
    """The series' volume, its reviewed labels as a (slices, rows, cols) class-index array,
    and the class names (index 1 is the first)."""
    volume, ids = open_series(dataset, series)
    size = ImageSize(volume.cols, volume.rows)
    values = dataset.select(ids, ordered=True).values(gt_field) \
        if dataset.has_sample_field(gt_field) else [None] * len(ids)
    classes = sorted({d.label for v in values if v is not None for d in v.detections})
    out = np.zeros(volume.shape, np.uint16)
    for k, v in enumerate(values):
        for d in (v.detections if v is not None else []):
            box = Box.from_relative(d.bounding_box, size)
            if d.mask is not None:
                mask = full_mask(np.asarray(d.mask), box, size)
            else:
                mask = np.zeros((size.height, size.width), bool)
                x, y = round(box.x), round(box.y)
                mask[y:y + max(1, round(box.h)), x:x + max(1, round(box.w))] = True
            out[k][mask] = classes.index(d.label) + 1
    return volume, out, classes


def dicom_affine(volume: Volume) -> np.ndarray:
    """The voxel (column, row, slice) to RAS millimetre affine of a DICOM series."""
    import pydicom

    first = pydicom.dcmread(volume.slices[0].path, stop_before_pixels=True)
    iop = np.array(first.get("ImageOrientationPatient", [1, 0, 0, 0, 1, 0]), float)
    ipp = np.array(first.get("ImagePositionPatient", [0, 0, 0]), float)
    row_dir, col_dir = iop[:3], iop[3:]
    normal = np.cross(row_dir, col_dir)
    dz, dy, dx = volume.spacing
    lps = np.eye(4)
    lps[:3, 0] = row_dir * dx  # along a row: the column index grows
    lps[:3, 1] = col_dir * dy
    lps[:3, 2] = normal * dz
    lps[:3, 3] = ipp
    return np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps


def export_nifti_labels(view: fo.core.collections.SampleCollection, path: str | os.PathLike[str],
                        series: str | None = None, field: str = "ground_truth") -> Path:
    """Write the series' reviewed labels as a NIfTI label volume (see the module doc)."""
    import nibabel as nib

    volume, labels, classes = label_volume(view, series, field)
    affine = volume.affine if isinstance(volume, NiftiVolume) else dicom_affine(volume)
    data = np.ascontiguousarray(labels.transpose(2, 1, 0))  # (cols, rows, slices), as read
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img = nib.Nifti1Image(data, affine)
    img.header.set_xyzt_units("mm")
    nib.save(img, str(path))
    sidecar = path.with_name(path.name.split(".")[0] + ".labels.json")
    sidecar.write_text(json.dumps({"0": "background",
                                   **{str(i + 1): c for i, c in enumerate(classes)}}))
    return path


def export_dicom_seg(view: fo.core.collections.SampleCollection, path: str | os.PathLike[str],
                     series: str | None = None, field: str = "ground_truth") -> Path:
    """Write the series' reviewed labels as a DICOM SEG file (see the module doc)."""
    import highdicom as hd
    import pydicom
    from pydicom.sr.codedict import codes

    volume, labels, classes = label_volume(view, series, field)
    if volume.kind != "dicom":
        raise ValueError(f"series {volume.series_uid} is a NIfTI volume: DICOM SEG needs DICOM "
                         "source images (export_nifti_labels writes a label volume)")
    if not classes:
        raise ValueError(f"series {volume.series_uid} has no reviewed label in {field!r} "
                         "to export")
    sources = [pydicom.dcmread(s.path) for s in volume.slices]
    pixels = np.stack([labels == i + 1 for i in range(len(classes))], axis=-1)
    descriptions = [hd.seg.SegmentDescription(
        segment_number=i + 1, segment_label=name,
        segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
        segmented_property_type=codes.SCT.Lesion,
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL) for i, name in
        enumerate(classes)]
    seg: Any = hd.seg.Segmentation(
        source_images=sources, pixel_array=pixels,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions, series_instance_uid=hd.UID(), series_number=100,
        sop_instance_uid=hd.UID(), instance_number=1, manufacturer="nblabel",
        manufacturer_model_name="nblabel review", software_versions="nblabel",
        device_serial_number="0")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    seg.save_as(str(path))
    return path
