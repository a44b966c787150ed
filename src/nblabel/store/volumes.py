"""Volumes in FiftyOne: one sample per slice, decisions stored per slice.

:func:`add_volume` adds a sample for each slice of a :class:`~nblabel.core.volume.Volume`: its
media is the original file (the slice's DICOM file; for NIfTI, the volume file, shared by its
slices), with the series, the slice index, the DICOM SOP Instance UID and the spacing in
``nblabel_series``, ``nblabel_slice``, ``nblabel_instance``, ``nblabel_spacing``,
``nblabel_volume``, and the slice size as the image metadata (nothing reads the file for it).
Boxes and masks on slices are ordinary ``Detections`` in image pixels of the slice, reviewed and
synced as any image's, so a reviewed slice names its series and instance.

:func:`open_series` finds a series' slice samples (in order) and reopens its volume.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nblabel.core.volume import DicomSeries, NiftiVolume, Volume
from nblabel.store import schema
from nblabel.store.schema import (
    INSTANCE_FIELD,
    SERIES_FIELD,
    SLICE_FIELD,
    SPACING_FIELD,
    VOLUME_FIELD,
)

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = ["add_volume", "open_series", "series_of"]


def add_volume(dataset: fo.Dataset, volume: Volume, source: str | None = None) -> list[str]:
    """A sample per slice of ``volume`` (see the module doc); returns their ids in slice order.
    ``source`` is what :func:`open_series` reopens (default: the NIfTI file, or the folder of
    the DICOM series' first file). A series already in the dataset is not added again."""
    import fiftyone as fo

    schema.declare(dataset, {SERIES_FIELD: "str", SLICE_FIELD: "int", INSTANCE_FIELD: "str",
                             SPACING_FIELD: "list[float]", VOLUME_FIELD: "str"})
    existing = dataset.match({SERIES_FIELD: volume.series_uid})
    if len(existing):
        return list(existing.sort_by(SLICE_FIELD).values("id"))
    from pathlib import Path

    where = source or (volume.slices[0].path if volume.kind == "nifti"
                       else str(Path(volume.slices[0].path).parent))
    samples = []
    for k, s in enumerate(volume.slices):
        sample = fo.Sample(filepath=s.path, metadata=fo.ImageMetadata(
            width=volume.cols, height=volume.rows))
        sample[SERIES_FIELD] = volume.series_uid
        sample[SLICE_FIELD] = k
        sample[INSTANCE_FIELD] = s.instance_uid
        sample[SPACING_FIELD] = list(volume.spacing)
        sample[VOLUME_FIELD] = where
        samples.append(sample)
    return list(dataset.add_samples(samples, progress=False))


def series_of(dataset: fo.Dataset) -> list[str]:
    """The series in ``dataset``, in the order they were added."""
    ids = dataset.values(SERIES_FIELD) if dataset.has_sample_field(SERIES_FIELD) else []
    return list(dict.fromkeys(s for s in ids if s))


def open_series(dataset: fo.Dataset, series: str | None = None
                ) -> tuple[Volume, list[str]]:
    """The volume of ``series`` (default: the dataset's first) and its slice sample ids, in
    slice order. A DICOM series is reopened from its slices' files, a NIfTI one from its file."""
    names = series_of(dataset)
    if not names:
        raise ValueError(f"dataset {dataset.name!r} holds no volume: add one with "
                         "nblabel.store.volumes.add_volume")
    series = series or names[0]
    view = dataset.match({SERIES_FIELD: series}).sort_by(SLICE_FIELD)
    if not len(view):
        raise ValueError(f"dataset {dataset.name!r} has no series {series!r} "
                         f"(it has {', '.join(names)})")
    where = str(view.first()[VOLUME_FIELD])
    volume: Volume
    if where.endswith((".nii", ".nii.gz")):
        volume = NiftiVolume.open(where)
    else:  # the series' own files, as stored (its folder may hold other series)
        volume = DicomSeries.open(view.values("filepath"))
    return volume, list(view.values("id"))
