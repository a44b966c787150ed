"""Proposal sources: models that turn images into :class:`~nblabel.core.labels.Proposal` lists.

One module per kind of source: :mod:`~nblabel.sources.yolo` (ultralytics YOLO),
:mod:`~nblabel.sources.callable` (any Python function), :mod:`~nblabel.sources.http` (an
inference endpoint), :mod:`~nblabel.sources.ensemble` (several fused); what they share (the
protocol, :class:`LabelMap`, validation) is in :mod:`~nblabel.sources.base`.
"""

from nblabel.sources.base import TASKS, LabelMap, ProposalError, ProposalSource
from nblabel.sources.callable import CallableSource
from nblabel.sources.ensemble import EnsembleSource
from nblabel.sources.http import HTTPSource
from nblabel.sources.yolo import UltralyticsSource, prepare_ultralytics

__all__ = [
    "TASKS", "CallableSource", "EnsembleSource", "HTTPSource", "LabelMap", "ProposalError",
    "ProposalSource", "UltralyticsSource", "prepare_ultralytics",
]
