"""Every private FiftyOne call nblabel makes, in one place.

FiftyOne's public API has no raw, atomic per-sample update, no raw read that skips building label
objects, and no handle on its database; nblabel needs all three (atomic team writes, reading
stored labels that another tool wrote wrongly, claims). When FiftyOne changes, this is the one
module to fix. It is also the one place that writes FiftyOne's raw label documents
(:func:`raw_label`, :func:`raw_detections`: the ``_cls`` form the database holds). Modules that
need one of these calls (the store, loading, export, curation and pre-annotation) import it from
here; no other module touches FiftyOne's private API or its raw documents.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import fiftyone as fo
    from pymongo.collection import Collection
    from pymongo.database import Database

log = logging.getLogger(__name__)

__all__ = [
    "base_dataset",
    "database",
    "filters_labels",
    "is_patches",
    "merge_frame_label_schema",
    "merge_label_schema",
    "raw_detections",
    "raw_label",
    "raw_values",
    "release_database",
    "reload_sample_docs",
    "reload_schema",
    "root_dataset",
    "sample_collection",
    "sample_filter",
]


def root_dataset(view: fo.core.collections.SampleCollection) -> fo.Dataset:
    """The dataset a view reads from; for a patches view, the dataset behind its patches."""
    return view._root_dataset


def base_dataset(view: fo.core.collections.SampleCollection) -> fo.Dataset:
    """The dataset of a view (a patches view's own generated dataset for patches views)."""
    return view._dataset


def is_patches(view: fo.core.collections.SampleCollection) -> bool:
    return bool(view._is_patches)


def sample_collection(dataset: fo.Dataset) -> Collection[Any]:
    """The MongoDB collection holding the dataset's samples."""
    return dataset._sample_collection


def database() -> Database[Any]:
    """FiftyOne's MongoDB database (the one ``FIFTYONE_DATABASE_URI`` points at)."""
    import fiftyone.core.odm as foo

    return foo.get_db_conn()


def reload_sample_docs(dataset: fo.Dataset, sample_ids: Iterable[str] | None) -> None:
    """Bring ``Sample`` objects alive in this process in step with raw writes (``None``: all
    of the dataset's)."""
    import fiftyone as fo

    try:
        fo.Sample._reload_docs(dataset._sample_collection_name,
                               sample_ids=list(sample_ids) if sample_ids is not None else None)
    except Exception as exc:  # e.g. a stored value of the wrong type: the write stands
        log.warning("could not refresh Sample objects of %r held in this process: %s",
                    dataset.name, exc)


def reload_schema(dataset: fo.Dataset) -> None:
    """Read the dataset's schema again from the database, and the ``Sample`` objects this
    process holds (a sample holding a badly stored value cannot be reloaded: that must not
    stop a schema change, and the schema is read first)."""
    try:
        dataset.reload()
    except Exception as exc:
        log.warning("could not reload the samples of %r held in this process: %s",
                    dataset.name, exc)


def merge_label_schema(dataset: fo.Dataset, fields: dict[str, Any]) -> None:
    """Declare nested fields (``"predictions.detections.review"``: field instance) in one
    schema merge (each ``add_sample_field`` call reloads the dataset)."""
    dataset._merge_sample_field_schema(fields)


def merge_frame_label_schema(dataset: fo.Dataset, fields: dict[str, Any]) -> None:
    """:func:`merge_label_schema` for frame-level fields (``"tracks.detections.flags"``)."""
    dataset._merge_frame_field_schema(fields)


_SAMPLE_LEVEL_STAGES = {"Select", "SelectBy", "Match", "MatchTags", "Exists", "Limit", "Skip",
                        "SortBy", "Take", "Shuffle", "Exclude", "ExcludeBy"}


def filters_labels(view: fo.core.collections.SampleCollection) -> bool:
    """Whether the view may hide or change labels (any stage other than selecting, matching or
    ordering whole samples): then per-label work must go through the view's own values."""
    stages = getattr(view, "_stages", [])
    return any(type(stage).__name__ not in _SAMPLE_LEVEL_STAGES for stage in stages)


def sample_filter(view: fo.core.collections.SampleCollection) -> list[dict[str, Any]]:
    """MongoDB filters selecting the view's samples in its dataset's collection: ``[{}]`` for a
    whole dataset, else chunks of ``_id`` lists."""
    if not getattr(view, "_stages", []):
        return [{}]
    ids = view.values("_id")
    return [{"_id": {"$in": ids[i:i + 50_000]}} for i in range(0, len(ids), 50_000)]


def release_database(uri: str) -> None:
    """FiftyOne deletes its non-persistent datasets when the process exits, and waits 30 s
    for a server that is gone by then: do it now, while the server at ``uri`` still runs (for
    tools that stop their own mongod before exiting)."""
    import atexit
    import sys

    database = sys.modules.get("fiftyone.core.odm.database")
    if database is None or getattr(database, "_client", None) is None:
        return
    if getattr(database, "_connection_kwargs", {}).get("host") != uri:
        return
    cleanup = getattr(database, "_delete_non_persistent_datasets_if_allowed", None)
    if cleanup is not None:
        cleanup()
        atexit.unregister(cleanup)


def raw_values(view: fo.core.collections.SampleCollection, fields: Sequence[str]) -> list[Any]:
    """``view.values(fields)`` as stored documents: no label objects are built, so a value of
    the wrong type (written by another tool) cannot make the read fail."""
    return view.values(list(fields), _raw=True)


def raw_label(kind: str, fields: Mapping[str, Any], label_id: str | None = None
              ) -> dict[str, Any]:
    """A label as FiftyOne stores it (``kind``: ``"Detection"``, ``"Classification"``): a new
    id unless ``label_id`` is given, no tags, then ``fields``. Written raw, without building
    label objects (bulk writes of thousands of labels)."""
    from bson import ObjectId

    return {"_id": ObjectId(label_id) if label_id else ObjectId(), "_cls": kind, "tags": [],
            **fields}


def raw_detections(detections: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A ``Detections`` field as FiftyOne stores it, holding raw ``detections``."""
    return {"_cls": "Detections", "detections": list(detections)}
