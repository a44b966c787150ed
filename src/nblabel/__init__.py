"""nblabel: model-assisted image labeling and review in Jupyter, synced to FiftyOne.

The heavy parts (FiftyOne, ultralytics, the widget) load on first use, so ``import nblabel``
stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nblabel.types import Action, Box, Decision, ImageSize, InvalidLabelError, Proposal

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
    "Proposal",
    "ReviewSession",
    "ReviewWidget",
    "UltralyticsSource",
    "__version__",
    "build_queue",
    "compute_uncertainty",
    "export_reviewed",
    "merge_consensus",
    "preannotate",
    "review",
]

_LAZY = {
    "DecisionJournal": "nblabel.journal",
    "FiftyOneSync": "nblabel.fiftyone_sync",
    "ReviewSession": "nblabel.session",
    "ReviewWidget": "nblabel.widget",
    "UltralyticsSource": "nblabel.sources",
    "CallableSource": "nblabel.sources",
    "HTTPSource": "nblabel.sources",
    "EnsembleSource": "nblabel.sources",
    "LabelMap": "nblabel.sources",
    "build_queue": "nblabel.queue",
    "compute_uncertainty": "nblabel.uncertainty",
    "preannotate": "nblabel.preannotate",
    "export_reviewed": "nblabel.export",
    "merge_consensus": "nblabel.consensus",
}

if TYPE_CHECKING:
    from nblabel.fiftyone_sync import FiftyOneSync
    from nblabel.journal import DecisionJournal
    from nblabel.preannotate import preannotate
    from nblabel.queue import build_queue
    from nblabel.session import ReviewSession
    from nblabel.sources import (
        CallableSource,
        EnsembleSource,
        HTTPSource,
        LabelMap,
        UltralyticsSource,
    )
    from nblabel.uncertainty import compute_uncertainty
    from nblabel.widget import ReviewWidget


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nblabel' has no attribute {name!r}")


def review(view: Any, **kwargs: Any) -> ReviewWidget:
    """Open the review widget on a FiftyOne dataset or view.

    Keyword arguments go to :class:`~nblabel.session.ReviewSession` (``predictions_field``,
    ``gt_field``, ``reviewer``, ``journal``, ``queue``, ``classes``, ``autosync``,
    ``consensus``) or to
    :class:`~nblabel.widget.ReviewWidget` (``start``: first position in the queue,
    ``threshold``: initial confidence threshold, ``prefetch``, ``max_preview_side``). The
    session is available as ``widget.session``.
    """
    from nblabel.session import ReviewSession
    from nblabel.widget import ReviewWidget

    widget_args = {k: kwargs.pop(k) for k in ("start", "threshold", "prefetch",
                                              "max_preview_side") if k in kwargs}
    return ReviewWidget(ReviewSession(view, **kwargs), **widget_args)
