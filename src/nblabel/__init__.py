"""nblabel: model-assisted image labeling and review in Jupyter, synced to FiftyOne.

The heavy parts (FiftyOne, ultralytics, the widget) load on first use, so ``import nblabel``
stays fast.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nblabel.core.labels import Action, Box, Decision, ImageSize, InvalidLabelError, Proposal

__version__ = "0.1.0"

__all__ = [
    "Action",
    "Box",
    "CallableSource",
    "Decision",
    "DecisionJournal",
    "EnsembleSource",
    "FiftyOneSync",
    "HTTPSource",
    "ImageSize",
    "InvalidLabelError",
    "LabelMap",
    "LabelReview",
    "LabelReviewWidget",
    "Proposal",
    "ReviewSession",
    "ReviewWidget",
    "ShapeReview",
    "ShapeReviewWidget",
    "TrackReview",
    "UltralyticsSource",
    "VideoReviewWidget",
    "VolumeReviewWidget",
    "__version__",
    "add_volume",
    "build_queue",
    "compute_uncertainty",
    "export_dicom_seg",
    "export_nifti_labels",
    "export_reviewed",
    "export_shapes",
    "export_tracks",
    "merge_consensus",
    "open_volume",
    "preannotate",
    "preannotate_labels",
    "preannotate_shapes",
    "preannotate_volume",
    "review",
    "review_labels",
    "review_shapes",
    "review_video",
    "review_volume",
    "track_videos",
]

_LAZY = {
    "DecisionJournal": "nblabel.store.journal",
    "FiftyOneSync": "nblabel.store.sync",
    "ReviewSession": "nblabel.reviewing.editor.session",
    "ReviewWidget": "nblabel.reviewing.image.widget",
    "VideoReviewWidget": "nblabel.reviewing.video.widget",
    "ShapeReviewWidget": "nblabel.reviewing.shapes.widget",
    "VolumeReviewWidget": "nblabel.reviewing.volume.widget",
    "TrackReview": "nblabel.reviewing.video.tracks",
    "LabelReview": "nblabel.reviewing.labels.review",
    "LabelReviewWidget": "nblabel.reviewing.labels.widget",
    "preannotate_labels": "nblabel.preannotation.labels",
    "ShapeReview": "nblabel.reviewing.shapes.review",
    "export_tracks": "nblabel.curation.video_export",
    "export_nifti_labels": "nblabel.curation.volume_export",
    "export_dicom_seg": "nblabel.curation.volume_export",
    "UltralyticsSource": "nblabel.sources",
    "CallableSource": "nblabel.sources",
    "HTTPSource": "nblabel.sources",
    "EnsembleSource": "nblabel.sources",
    "LabelMap": "nblabel.sources",
    "build_queue": "nblabel.curation.queue",
    "compute_uncertainty": "nblabel.curation.uncertainty",
    "preannotate": "nblabel.preannotation",
    "export_reviewed": "nblabel.curation.export",
    "merge_consensus": "nblabel.curation.consensus",
    "track_videos": "nblabel.preannotation.tracking",
    "preannotate_shapes": "nblabel.preannotation.shapes",
    "export_shapes": "nblabel.curation.shape_export",
    "open_volume": "nblabel.core.volume",
    "add_volume": "nblabel.store.volumes",
    "preannotate_volume": "nblabel.preannotation.volumes",
}

#: Modules reachable as ``from nblabel import analytics`` (their home is a concept package).
_MODULES = {
    "analytics": "nblabel.curation.analytics",
    "evaluation": "nblabel.curation.evaluation",
    "queue": "nblabel.curation.queue",
    "uncertainty": "nblabel.curation.uncertainty",
    "consensus": "nblabel.curation.consensus",
    "export": "nblabel.curation.export",
}

if TYPE_CHECKING:
    from nblabel.curation.queue import build_queue
    from nblabel.curation.shape_export import export_shapes
    from nblabel.curation.uncertainty import compute_uncertainty
    from nblabel.curation.video_export import export_tracks
    from nblabel.curation.volume_export import export_dicom_seg, export_nifti_labels
    from nblabel.preannotation import preannotate
    from nblabel.preannotation.labels import preannotate_labels
    from nblabel.preannotation.shapes import preannotate_shapes
    from nblabel.preannotation.tracking import track_videos
    from nblabel.reviewing.editor.session import ReviewSession
    from nblabel.reviewing.image.widget import ReviewWidget
    from nblabel.reviewing.labels.review import LabelReview
    from nblabel.reviewing.labels.widget import LabelReviewWidget
    from nblabel.reviewing.shapes.review import ShapeReview
    from nblabel.reviewing.shapes.widget import ShapeReviewWidget
    from nblabel.reviewing.video.tracks import TrackReview
    from nblabel.reviewing.video.widget import VideoReviewWidget
    from nblabel.reviewing.volume.widget import VolumeReviewWidget
    from nblabel.sources import (
        CallableSource,
        EnsembleSource,
        HTTPSource,
        LabelMap,
        UltralyticsSource,
    )
    from nblabel.store.journal import DecisionJournal
    from nblabel.store.sync import FiftyOneSync


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _MODULES:
        import importlib

        return importlib.import_module(_MODULES[name])
    raise AttributeError(f"module 'nblabel' has no attribute {name!r}")


def review(view: Any, **kwargs: Any) -> ReviewWidget:
    """Open the review widget on a FiftyOne dataset or view.

    Keyword arguments go to :class:`~nblabel.reviewing.editor.session.ReviewSession`
    (``field``, ``gt_field``, ``reviewer``, ``journal``, ``queue``, ``classes``,
    ``image_classes``, ``autosync``, ``consensus``, ``claims``) or to
    :class:`~nblabel.reviewing.image.widget.ReviewWidget` (``start``: first position in the queue,
    ``threshold``: initial confidence threshold, ``prefetch``, ``max_preview_side``,
    ``assist``: exemplar proposals while drawing, on by default, ``"live"`` to show them from
    the first image; ``segmenter``: what click to mask uses, GrabCut by default). The session
    is available as ``widget.session``.

    Labeling from scratch works the same: a dataset with no proposals field opens with drawing
    as the default action, ``classes=`` lists the box classes (more can be typed in the
    widget), ``image_classes=`` the image-level ones; after two boxes are drawn on an image,
    the assistant proposes similar objects in the background, and shows them on the next
    images once a finished image has measured that they save time
    (:mod:`nblabel.reviewing.image.assist`, :mod:`nblabel.reviewing.image.worth`). Every source of
    proposals is measured the same way and hidden while it costs more than drawing by hand.
    """
    from nblabel.reviewing.editor.session import ReviewSession
    from nblabel.reviewing.image.widget import ReviewWidget

    widget_args = {k: kwargs.pop(k) for k in ("start", "threshold", "prefetch",
                                              "max_preview_side", "assist", "segmenter")
                   if k in kwargs}
    return ReviewWidget(ReviewSession(view, **kwargs), **widget_args)


def review_video(view: Any, sample_id: str | None = None, *, journal: Any = None,
                 field: str = "tracks", gt_field: str = "gt_tracks",
                 reviewer: str | None = None,
                 attributes: Mapping[str, Any] | None = None) -> VideoReviewWidget:
    """Open the video widget on one video of a FiftyOne video view (the first one not yet
    reviewed, unless ``sample_id`` names one), to review the tracks in frame field ``field``
    (from :func:`~nblabel.preannotation.tracking.track_videos`) into ``gt_field`` a track at a
    time. ``journal`` defaults to the reviewer's journal; ``attributes`` declares the tracks'
    attributes (:mod:`nblabel.core.attributes`). The session is ``widget.session``
    (:class:`~nblabel.reviewing.video.tracks.TrackReview`).

    Team review: the video is claimed for ``reviewer`` (as images are), so reviewers sharing a
    database open different videos; completing it releases the claim."""
    from nblabel.reviewing.editor.session import default_reviewer
    from nblabel.reviewing.video.tracks import TrackReview
    from nblabel.reviewing.video.widget import VideoReviewWidget
    from nblabel.store import schema, shim
    from nblabel.store.claims import Claims
    from nblabel.store.journal import DecisionJournal
    from nblabel.store.schema import CLAIM_FIELD, REVIEWED_TAG, REVIEWERS_FIELD

    reviewer = reviewer or default_reviewer()
    dataset = shim.base_dataset(view)
    schema.declare(dataset, {CLAIM_FIELD: "dict", REVIEWERS_FIELD: "list[str]"})
    claims = Claims(dataset, reviewer)
    if sample_id is None:  # team review: the first video no one else holds or finished
        todo = view.match_tags(REVIEWED_TAG, bool=False).values("id")
        sample_id = next((s for s in todo if claims.take(s) is None), None)
        if sample_id is None:
            raise ValueError(f"no video of {dataset.name} is left to review: every one is "
                             "reviewed or held by another reviewer (name one to open it)")
    elif (holder := claims.claim(sample_id)) is not None:
        raise ValueError(f"video {sample_id} is being reviewed by {holder}")
    session = TrackReview(dataset, sample_id, journal=journal or DecisionJournal(), field=field,
                          gt_field=gt_field, reviewer=reviewer, attributes=attributes)
    return VideoReviewWidget(session)


def review_shapes(view: Any, kind: str = "keypoints", *, field: str | None = None,
                  gt_field: str | None = None, journal: Any = None,
                  reviewer: str | None = None, skeleton: Any = None,
                  attributes: Mapping[str, Any] | None = None) -> ShapeReviewWidget:
    """Open the shapes widget: review the keypoint instances (``kind="keypoints"``, FiftyOne
    ``Keypoints`` with the field's skeleton) or polylines (``kind="polyline"``) that
    :func:`~nblabel.preannotation.shapes.preannotate_shapes` proposed in ``field``, image by
    image, lowest keypoint confidence first, into ``gt_field`` (``gt_keypoints`` or
    ``gt_polylines``). With no proposals, shapes are drawn point by point: keypoints then
    need ``skeleton`` (:class:`~nblabel.core.shapes.Skeleton`: names and edges). ``journal``
    defaults to the reviewer's journal; the session is ``widget.session``
    (:class:`~nblabel.reviewing.shapes.review.ShapeReview`)."""
    from nblabel.reviewing.editor.session import default_reviewer
    from nblabel.reviewing.shapes.review import ShapeReview
    from nblabel.reviewing.shapes.widget import ShapeReviewWidget
    from nblabel.store import shim
    from nblabel.store.journal import DecisionJournal

    session = ShapeReview(shim.base_dataset(view), journal=journal or DecisionJournal(),
                          kind=kind, field=field, gt_field=gt_field,
                          reviewer=reviewer or default_reviewer(), skeleton=skeleton,
                          sample_ids=view.values("id"), attributes=attributes)
    return ShapeReviewWidget(session)


def review_labels(view: Any, *, field: str = "image_labels",
                  gt_field: str = "gt_image_labels", journal: Any = None,
                  reviewer: str | None = None, classes: Sequence[str] = (),
                  threshold: float = 0.5, tags: bool = False,
                  attributes: Mapping[str, Any] | None = None) -> LabelReviewWidget:
    """Open the image-level labels widget: the multi-label classes that
    :func:`~nblabel.preannotation.labels.preannotate_labels` proposed in ``field``
    (``Classifications``; a single ``Classification`` works too), image by image, the least
    certain first, triaged as boxes are (``Shift+A`` accepts every label at or above
    ``threshold``), into ``gt_field`` and, with ``tags``, the images' tags. ``classes``: more
    classes to add from. The session is ``widget.session``
    (:class:`~nblabel.reviewing.labels.review.LabelReview`); team review claims each image."""
    from nblabel.reviewing.editor.session import default_reviewer
    from nblabel.reviewing.labels.review import LabelReview
    from nblabel.reviewing.labels.widget import LabelReviewWidget
    from nblabel.store import shim
    from nblabel.store.journal import DecisionJournal

    session = LabelReview(shim.base_dataset(view), journal=journal or DecisionJournal(),
                          field=field, gt_field=gt_field, reviewer=reviewer or default_reviewer(),
                          sample_ids=view.values("id"), classes=classes, threshold=threshold,
                          tags=tags, attributes=attributes)
    return LabelReviewWidget(session)


def review_volume(view: Any, series: str | None = None, *, field: str =
                  "predictions", gt_field: str = "ground_truth", journal: Any = None,
                  reviewer: str | None = None,
                  attributes: Mapping[str, Any] | None = None) -> VolumeReviewWidget:
    """Open the volume widget on a series of ``view`` (default: its first; slices added by
    :func:`~nblabel.store.volumes.add_volume`): slices by keys and a slider, window/level
    presets and drag, the boxes and masks of ``field`` reviewed as photos' are,
    into ``gt_field`` of each slice's sample. The session is ``widget.session``.

    Team review: the series is claimed for ``reviewer`` (each slice sample), so reviewers sharing
    a database open different series; closing the widget releases it."""
    from nblabel.reviewing.editor.session import ReviewSession
    from nblabel.reviewing.volume.widget import VolumeReviewWidget
    from nblabel.store import schema, shim
    from nblabel.store.claims import Claims
    from nblabel.store.schema import CLAIM_FIELD, REVIEWERS_FIELD, SERIES_FIELD
    from nblabel.store.volumes import open_series

    volume, ids = open_series(view, series)
    view = view.match({SERIES_FIELD: volume.series_uid})
    session = ReviewSession(view, field=field, gt_field=gt_field, journal=journal,
                            reviewer=reviewer, queue=ids, claims=False, attributes=attributes)
    # Team review: the series is claimed for its reviewer (every slice), as a video is.
    dataset = shim.base_dataset(view)
    schema.declare(dataset, {CLAIM_FIELD: "dict", REVIEWERS_FIELD: "list[str]"})
    claims = Claims(dataset, session.reviewer)
    holders = {h for sid in ids if (h := claims.claim(sid))}
    if holders:
        claims.release(ids)
        raise ValueError(f"series {volume.series_uid} is being reviewed by "
                         f"{', '.join(sorted(holders))}")
    return VolumeReviewWidget(session, volume, ids, claims=claims)
