"""Proposal sources: models that turn images into :class:`~nblabel.core.labels.Proposal` lists.

One module per kind of source: :mod:`~nblabel.sources.yolo` (ultralytics YOLO),
:mod:`~nblabel.sources.callable` (any Python function), :mod:`~nblabel.sources.http` (an
inference endpoint), :mod:`~nblabel.sources.ensemble` (several fused),
:mod:`~nblabel.sources.exemplar` (few-shot, from drawn exemplars),
:mod:`~nblabel.sources.sliced` (any source on tiles of large images),
:mod:`~nblabel.sources.rules` (labeling rules as a source), :mod:`~nblabel.sources.openvocab`
(text prompts); what they share (the
protocol, :class:`LabelMap`, validation) is in :mod:`~nblabel.sources.base`.
"""

from nblabel.sources.base import TASKS, LabelMap, ProposalError, ProposalSource
from nblabel.sources.callable import CallableSource
from nblabel.sources.ensemble import EnsembleSource
from nblabel.sources.exemplar import Exemplar, ExemplarError, ExemplarSource
from nblabel.sources.http import HTTPSource
from nblabel.sources.openvocab import OpenVocabError, OpenVocabSource
from nblabel.sources.rules import RuleSource, keep_labels, min_size, relabel_inside
from nblabel.sources.sliced import SlicedSource
from nblabel.sources.tracker import CallableTracker, TrackedBox, Tracker, UltralyticsTracker
from nblabel.sources.yolo import UltralyticsSource, prepare_ultralytics

__all__ = [
    "TASKS", "CallableSource", "CallableTracker", "EnsembleSource", "Exemplar", "ExemplarError",
    "ExemplarSource",
    "HTTPSource", "LabelMap", "OpenVocabError", "OpenVocabSource", "ProposalError",
    "ProposalSource", "RuleSource", "SlicedSource", "TrackedBox", "Tracker",
    "UltralyticsSource", "UltralyticsTracker", "keep_labels",
    "min_size", "prepare_ultralytics", "relabel_inside",
]
