"""Everything nblabel writes to FiftyOne, declared in one place: sample fields, tags, label
attributes and ``dataset.info`` keys, and :func:`declare`, which adds them to a dataset's schema.

Declaring is idempotent and safe across threads and processes: FiftyOne saves a dataset's schema
as one document, so two writers adding fields at once can lose each other's declaration (a
sample then holds a value for a field the schema no longer knows, and no process can read it).
:func:`declare` therefore holds a per-dataset lock in this process and a lease in MongoDB
(collection ``nblabel_locks``) across processes, reloads the schema, and adds only what is still
missing. Every raw write happens after the fields it touches are declared.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from nblabel.store import shim

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = [
    "ACCURACY_EVAL_KEY",
    "AGREEMENT_FIELD",
    "ATTRIBUTE_KINDS",
    "CLAIM_FIELD",
    "COMPLETED_FIELD",
    "CONSENSUS_TAG",
    "DEFAULT_EVAL_KEY",
    "DEMO_INFO_KEY",
    "DIFFICULTY_FIELD",
    "DISAGREEMENT_FIELD",
    "DUPLICATE_OF_FIELD",
    "EMBEDDER_FIELD",
    "EMBEDDING_FIELD",
    "ERROR_FIELD",
    "GT_ATTRS",
    "GT_LABELS_FIELD",
    "GT_TRACKS_FIELD",
    "JOURNAL_ATTR",
    "LABELS_FIELD",
    "LABEL_CHECK_ATTRS",
    "LABEL_CHECK_FIELD",
    "LABEL_ERROR_FIELD",
    "MODELS_INFO_KEY",
    "MODEL_ROUND_FIELD",
    "OWNER_ATTR",
    "PROPOSAL_ATTRS",
    "PSEUDO_FIELD",
    "REVIEWED_TAG",
    "REVIEWERS_FIELD",
    "REVIEWER_AGREEMENT_FIELD",
    "REVIEWER_AGREEMENT_INFO_KEY",
    "REVIEW_ATTRS",
    "REVISION_FIELD",
    "SIMILARITY_KEY",
    "SUSPICION_FIELD",
    "TRACKED_FRAMES_FIELD",
    "TRACKER_FIELD",
    "TRACKS_FIELD",
    "TRACK_ATTRS",
    "UNCERTAINTY_ATTRS",
    "UNIQUENESS_FIELD",
    "VISUALIZATION_KEY",
    "VOTES_ATTR",
    "declare",
    "declare_attributes",
    "declare_frames",
    "declare_review",
    "labels_journal_key",
    "shapes_journal_key",
    "stored_kind",
    "tracks_journal_key",
]

# -- tags ------------------------------------------------------------------------------------

#: On samples whose review is complete (the rule: :func:`nblabel.core.rules.is_complete`).
REVIEWED_TAG = "reviewed"
#: On samples whose reviewers' labels were merged by :func:`nblabel.curation.consensus`.
CONSENSUS_TAG = "consensus"

# -- sample fields (name: kind, see _KINDS) --------------------------------------------------

REVIEWERS_FIELD = "nblabel_reviewers"  # who reviewed the image
COMPLETED_FIELD = "nblabel_completed"  # who moved past the image with nothing left to decide
CLAIM_FIELD = "nblabel_claim"  # {"reviewer", "until"}: who holds the image now (team review)
REVISION_FIELD = "nblabel_rev"  # token of nblabel's last write (compare-and-set)
AGREEMENT_FIELD = "nblabel_agreement"  # consensus: agreement among the image's reviewers
REVIEWER_AGREEMENT_FIELD = "nblabel_reviewer_agreement"  # consensus: per reviewer
DIFFICULTY_FIELD = "nblabel_difficulty"  # chance the image holds an error (uncertainty)
DISAGREEMENT_FIELD = "nblabel_disagreement"  # share of boxes models disagree on
ERROR_FIELD = "nblabel_error"  # why pre-annotation could not propose for the image
MODEL_ROUND_FIELD = "nblabel_model_round"  # the learning round whose model proposed
EMBEDDING_FIELD = "nblabel_embedding"  # curation: the image's embedding (a vector)
EMBEDDER_FIELD = "nblabel_embedder"  # curation: which embedder made it (its space)
UNIQUENESS_FIELD = "nblabel_uniqueness"  # curation: FiftyOne Brain uniqueness over them
DUPLICATE_OF_FIELD = "nblabel_duplicate_of"  # curation: the image this one nearly duplicates
LABEL_ERROR_FIELD = "nblabel_label_error"  # curation: chance the image's labels hold an error
LABEL_CHECK_FIELD = "nblabel_label_check"  # curation: labels to confirm or fix, as proposals
TRACKED_FRAMES_FIELD = "nblabel_tracked_frames"  # video: frames a tracker has proposed for
TRACKER_FIELD = "nblabel_tracker"  # video: which tracker proposed the tracks
SUSPICION_FIELD = "nblabel_suspicion"  # video: the most suspect track's score (queue order)
SERIES_FIELD = "nblabel_series"  # volumes: the slice's series (DICOM SeriesInstanceUID, or file)
SLICE_FIELD = "nblabel_slice"  # volumes: the slice's index in its series (0 = first)
INSTANCE_FIELD = "nblabel_instance"  # volumes: the slice's DICOM SOP Instance UID
SPACING_FIELD = "nblabel_spacing"  # volumes: [slice, row, column] spacing in mm
VOLUME_FIELD = "nblabel_volume"  # volumes: where the series is (its NIfTI file or first file)
PSEUDO_FIELD = "pseudo_labels"  # confident proposals used as training labels
DEFAULT_EVAL_KEY = "nblabel_eval"  # evaluation key of nblabel.curation.evaluation
ACCURACY_EVAL_KEY = "nblabel_acc"  # its image-classification evaluation key

SAMPLE_FIELDS: dict[str, str] = {
    REVIEWERS_FIELD: "list[str]",
    COMPLETED_FIELD: "list[str]",
    CLAIM_FIELD: "dict",
    REVISION_FIELD: "str",
    AGREEMENT_FIELD: "float",
    REVIEWER_AGREEMENT_FIELD: "dict",
    DIFFICULTY_FIELD: "float",
    DISAGREEMENT_FIELD: "float",
    ERROR_FIELD: "str",
    MODEL_ROUND_FIELD: "int",
    EMBEDDING_FIELD: "vector",
    EMBEDDER_FIELD: "str",
    UNIQUENESS_FIELD: "float",
    DUPLICATE_OF_FIELD: "str",
    LABEL_ERROR_FIELD: "float",
    LABEL_CHECK_FIELD: "detections",
    TRACKED_FRAMES_FIELD: "int",
    TRACKER_FIELD: "str",
    SUSPICION_FIELD: "float",
    SERIES_FIELD: "str",
    SLICE_FIELD: "int",
    INSTANCE_FIELD: "str",
    SPACING_FIELD: "list[float]",
    VOLUME_FIELD: "str",
}
#: Default frame-level fields of a video dataset (``frames.<name>``): a tracker's proposals
#: (``Detections`` whose ``index`` is the track id) and the reviewed tracks.
TRACKS_FIELD = "tracks"
GT_TRACKS_FIELD = "gt_tracks"
#: On each proposed box of a track (besides FiftyOne's label, confidence and ``index``).
TRACK_ATTRS: dict[str, str] = {"source": "str"}
#: Default fields of keypoint instances (``Keypoints``, the skeleton in
#: ``dataset.skeletons[field]``) and polylines (``Polylines``): proposals and reviewed labels.
KEYPOINTS_FIELD = "keypoints"
GT_KEYPOINTS_FIELD = "gt_keypoints"
POLYLINES_FIELD = "polylines"
GT_POLYLINES_FIELD = "gt_polylines"

# -- label attributes ------------------------------------------------------------------------

#: On each decided proposal, and on every label nblabel writes: the latest decision.
REVIEW_ATTRS: dict[str, str] = {"review": "str", "reviewer": "str", "reviewed_at": "datetime"}
#: On each decided proposal: every journal's latest decision ``[{journal, review, reviewer,
#: at, label, box}]``; ``review``/``reviewer``/``reviewed_at`` are the latest of these.
VOTES_ATTR = "nblabel_votes"
OWNER_ATTR = "nblabel_key"  # ground truth: the decision key that wrote the label
JOURNAL_ATTR = "nblabel_journal"  # ground truth: the journal that owns the label
#: On each keypoint instance or polyline, proposed or reviewed (besides FiftyOne's label,
#: points, per-point ``confidence``, ``closed``): ``visible`` is COCO's 0/1/2 per point (the
#: attribute FiftyOne's COCO exporter reads), ``point_review`` the review state of each point,
#: ``instance_confidence`` the instance's (not ``score``: COCO's own key).
SHAPE_ATTRS: dict[str, str] = {**REVIEW_ATTRS, "source": "str", "instance_confidence": "float",
                               "visible": "list[int]", "point_review": "list[str]",
                               "proposal_id": "str"}
#: Ground-truth detections written by a sync.
GT_ATTRS: dict[str, str] = {
    **REVIEW_ATTRS,
    "proposal_id": "str",
    "proposal_confidence": "float",
    "seconds_on_image": "float",
    OWNER_ATTR: "str",
    JOURNAL_ATTR: "str",
}
#: Proposals written by pre-annotation (besides FiftyOne's label, confidence, mask).
PROPOSAL_ATTRS: dict[str, str] = {
    "source": "str", "scores": "dict", "agreement": "float", "tta_instability": "float",
    "mc_variance": "float",
}
UNCERTAINTY_ATTRS: dict[str, str] = {"least_confidence": "float", "margin": "float",
                                     "entropy": "float"}

# -- dataset.info keys -----------------------------------------------------------------------

MODELS_INFO_KEY = "nblabel_models"  # learning: every model version
REVIEWER_AGREEMENT_INFO_KEY = "nblabel_reviewer_agreement"  # consensus: over all images
DEMO_INFO_KEY = "nblabel_demo"  # the demo data's stamp

# -- journal keys (where the journal keeps each kind's decisions; images: the dataset's name) ----


def tracks_journal_key(dataset_name: str) -> str:
    """Where the journal keeps a video dataset's track decisions."""
    return f"{dataset_name}/tracks"


def shapes_journal_key(dataset_name: str, field: str) -> str:
    """Where the journal keeps the shape decisions of ``field``."""
    return f"{dataset_name}/shapes:{field}"


def labels_journal_key(dataset_name: str, field: str) -> str:
    """Where the journal keeps the image-level label decisions of ``field``."""
    return f"{dataset_name}/labels:{field}"


#: Image-level labels: proposals (``Classifications``) and the reviewed ones.
LABELS_FIELD = "image_labels"
GT_LABELS_FIELD = "gt_image_labels"


# -- FiftyOne Brain keys -----------------------------------------------------------------------

SIMILARITY_KEY = "nblabel_similarity"  # curation: similar images over nblabel's embeddings
VISUALIZATION_KEY = "nblabel_embedding_plot"  # curation: the 2-D embedding plot
#: On a label to check (``LABEL_CHECK_FIELD``): why it may be wrong (``missing``, ``placed``,
#: ``class``, ``spurious``, or empty) and the chance that it is.
LABEL_CHECK_ATTRS: dict[str, str] = {"suspect": "str", "error": "float", "given_label": "str"}


def _field(kind: str) -> Any:
    import fiftyone as fo

    kinds: dict[str, Any] = {
        "str": fo.StringField, "float": fo.FloatField, "int": fo.IntField,
        "datetime": fo.DateTimeField, "dict": fo.DictField, "vector": fo.VectorField,
        "bool": fo.BooleanField,
        "list[str]": lambda: fo.ListField(fo.StringField()),
        "list[dict]": lambda: fo.ListField(fo.DictField()),
        "list[int]": lambda: fo.ListField(fo.IntField()),
        "list[float]": lambda: fo.ListField(fo.FloatField()),
        "detections": lambda: fo.EmbeddedDocumentField(fo.Detections),
        "keypoints": lambda: fo.EmbeddedDocumentField(fo.Keypoints),
        "polylines": lambda: fo.EmbeddedDocumentField(fo.Polylines),
        "classification": lambda: fo.EmbeddedDocumentField(fo.Classification),
        "classifications": lambda: fo.EmbeddedDocumentField(fo.Classifications),
    }
    if kind not in kinds:
        raise ValueError(f"unknown field kind {kind!r}")
    return kinds[kind]()


_LOCKS: dict[str, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()
_LEASE_S = 30.0


def _thread_lock(name: str) -> threading.RLock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(name, threading.RLock())


@contextlib.contextmanager
def _db_lease(name: str, timeout: float = 60.0) -> Iterator[None]:
    """A lease on ``name`` in MongoDB: one process at a time changes this dataset's schema.

    A lease a crashed process left behind expires after 30 s."""
    from pymongo.errors import DuplicateKeyError

    locks = shim.database()["nblabel_locks"]
    me = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    key = f"schema:{name}"
    deadline = time.monotonic() + timeout
    while True:
        now = datetime.now(timezone.utc)
        try:
            locks.update_one(  # taken, or DuplicateKeyError while another holds it
                {"_id": key, "until": {"$lt": now}},
                {"$set": {"owner": me, "until": now + timedelta(seconds=_LEASE_S)}},
                upsert=True,
            )
            break
        except DuplicateKeyError:  # held by another process
            if time.monotonic() > deadline:
                raise TimeoutError(f"the schema of dataset {name!r} stayed locked for {timeout} s "
                                   f"(collection nblabel_locks, _id {key!r})") from None
            time.sleep(0.02)
    try:
        yield
    finally:
        locks.delete_one({"_id": key, "owner": me})


def _missing(dataset: fo.Dataset, fields: Mapping[str, str]) -> dict[str, str]:
    schema = dataset.get_field_schema(flat=True)
    return {path: kind for path, kind in fields.items() if path not in schema}


def _add_field(add: Any, path: str, kind: str) -> None:
    """Add a top-level field of ``kind`` with ``add`` (``add_sample_field`` or
    ``add_frame_field``)."""
    field = _field(kind)
    kwargs: dict[str, Any] = {}
    if kind in ("detections", "classification", "classifications", "keypoints", "polylines"):
        kwargs["embedded_doc_type"] = field.document_type
    elif kind.startswith("list["):
        kwargs["subfield"] = type(field.field)
    add(path, type(field), **kwargs)


def declare(dataset: fo.Dataset, fields: Mapping[str, str]) -> None:
    """Make sure ``dataset``'s schema has ``fields`` (path: kind, e.g.
    ``{"nblabel_reviewers": "list[str]", "ground_truth.detections.review": "str"}``).

    Cheap when nothing is missing (no database round trip); otherwise serialised across threads
    and processes, and the schema is reloaded first so no one's declaration is lost.
    """
    if not _missing(dataset, fields):
        return
    with _thread_lock(dataset.name), _db_lease(dataset.name):
        shim.reload_schema(dataset)
        missing = _missing(dataset, fields)
        for path, kind in missing.items():
            if "." not in path:
                _add_field(dataset.add_sample_field, path, kind)
        nested = {p: _field(k) for p, k in _missing(dataset, missing).items() if "." in p}
        if nested:
            shim.merge_label_schema(dataset, nested)


def declare_frames(dataset: fo.Dataset, fields: Mapping[str, str]) -> None:
    """:func:`declare` for frame-level fields of a video dataset (``{"tracks": "detections",
    "tracks.detections.flags": "list[str]"}``, paths relative to ``frames``)."""
    schema = dataset.get_frame_field_schema(flat=True) or {}
    if all(path in schema for path in fields):
        return
    with _thread_lock(dataset.name), _db_lease(dataset.name):
        shim.reload_schema(dataset)
        schema = dataset.get_frame_field_schema(flat=True) or {}
        for path, kind in fields.items():
            if "." not in path and path not in schema:
                _add_field(dataset.add_frame_field, path, kind)
        schema = dataset.get_frame_field_schema(flat=True) or {}
        nested = {p: _field(k) for p, k in fields.items() if "." in p and p not in schema}
        if nested:
            shim.merge_frame_label_schema(dataset, nested)


def declare_review(
    dataset: fo.Dataset,
    field: str,
    gt_field: str,
    classification_field: str | None = None,
    gt_classification_field: str = "ground_truth_class",
) -> None:
    """Everything a review session and its sync write, declared before they write."""
    fields: dict[str, str] = {
        REVIEWERS_FIELD: "list[str]", COMPLETED_FIELD: "list[str]", CLAIM_FIELD: "dict",
        REVISION_FIELD: "str", gt_field: "detections",
    }
    if field not in dataset.get_field_schema():
        fields[field] = "detections"  # labelling from scratch: nothing proposed yet
    pd = f"{field}.detections"
    fields.update({f"{pd}.{a}": k for a, k in REVIEW_ATTRS.items()})
    fields[f"{pd}.{VOTES_ATTR}"] = "list[dict]"
    fields.update({f"{gt_field}.detections.{a}": k for a, k in GT_ATTRS.items()})
    if classification_field:
        if classification_field not in dataset.get_field_schema():
            fields[classification_field] = "classification"  # from scratch: none proposed
        fields[gt_classification_field] = "classification"
        fields.update({f"{classification_field}.{a}": k for a, k in REVIEW_ATTRS.items()})
        fields[f"{classification_field}.{VOTES_ATTR}"] = "list[dict]"
        fields.update({f"{gt_classification_field}.{a}": k for a, k in REVIEW_ATTRS.items()})
        fields[f"{gt_classification_field}.proposal_confidence"] = "float"
        fields[f"{gt_classification_field}.seconds_on_image"] = "float"
    declare(dataset, fields)


#: How each kind of label attribute (:mod:`nblabel.core.attributes`) is stored.
ATTRIBUTE_KINDS: dict[str, str] = {"bool": "bool", "number": "float", "text": "str",
                                   "choice": "str"}


def label_schema_attributes(dataset: fo.Dataset, *fields: str) -> dict[str, Any] | None:
    """The attributes the dataset's FiftyOne label schema (``dataset.label_schemas``, set in
    the App's annotation or with ``set_label_schemas``) declares on the first of ``fields``
    that has one (a frame field as ``frames.<name>``), as a declaration of
    :mod:`nblabel.core.attributes`; None when no schema is set for them."""
    from nblabel.core.attributes import from_label_schema

    schemas = getattr(dataset, "label_schemas", None) or {}
    for f in fields:
        for key in (f, f"frames.{f}"):
            if key in schemas:
                return from_label_schema(schemas[key])
    return None


def stored_kind(value: Any) -> str:
    """How an attribute value is stored (a kind of :data:`ATTRIBUTE_KINDS`)."""
    return "bool" if isinstance(value, bool) else "number" if isinstance(value, int | float) \
        else "text"


def declare_attributes(dataset: fo.Dataset, labels_path: str, kinds: Mapping[str, str]) -> None:
    """Declare the user's label attributes (``{name: kind}``, kinds of
    :data:`ATTRIBUTE_KINDS`) on the labels at ``labels_path`` (``ground_truth.detections``),
    so FiftyOne's App filters by them and its exporters write them."""
    if kinds:
        declare(dataset, {f"{labels_path}.{name}": ATTRIBUTE_KINDS[kind]
                          for name, kind in kinds.items()})


def shape_container(kind: str) -> tuple[str, str]:
    """FiftyOne's field kind and list attribute for shapes of ``kind`` (``"keypoints"`` or
    ``"polyline"``): ``("keypoints", "keypoints")`` or ``("polylines", "polylines")``."""
    return ("keypoints", "keypoints") if kind == "keypoints" else ("polylines", "polylines")


def declare_shapes(dataset: fo.Dataset, field: str, kind: str) -> None:
    """A keypoint or polyline field and every attribute nblabel writes on its labels."""
    container, attr = shape_container(kind)
    declare(dataset, {field: container,
                      **{f"{field}.{attr}.{a}": k for a, k in SHAPE_ATTRS.items()}})
