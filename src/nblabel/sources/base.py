"""What every proposal source shares: the protocol, class mapping and validation.

A source is anything with a ``name`` and ``propose(images) -> list[list[Proposal]]`` (one list
per image, boxes in pixels of that image). Sources validate what their model returns through
:mod:`nblabel.core.labels`: boxes are clipped to the image, NaN scores and empty boxes are
dropped and counted in :attr:`ProposalSource.dropped`.

``task`` says what a source proposes: ``"detect"`` (boxes), ``"segment"`` (boxes with instance
masks) or ``"classify"`` (one image-level proposal per image, its box the whole image, with
per-class ``scores``). Every source takes a ``label_map`` from the model's class names or indices
to the dataset's labels (see :class:`LabelMap`); proposals of unmapped classes are dropped and
counted in ``unmapped``.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from nblabel.core.labels import Box, ImageSize, InvalidLabelError, Proposal

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["TASKS", "LabelMap", "ProposalError", "ProposalSource"]

TASKS = ("detect", "segment", "classify")

log = logging.getLogger(__name__)


@runtime_checkable
class ProposalSource(Protocol):
    """What :func:`nblabel.preannotation.preannotate` needs from a model."""

    name: str
    task: str

    @property
    def dropped(self) -> int:
        """Invalid proposals dropped so far."""

    @property
    def unmapped(self) -> Counter[str]:
        """Proposals of classes the label map leaves out, per model class, so far."""

    def propose(
        self, images: Sequence[Image.Image]
    ) -> Sequence[list[Proposal] | ProposalError]: ...


class LabelMap:
    """Maps a model's class names or indices to the dataset's labels.

    ``mapping`` keys are class names (``"car"``) or indices (``2``); values are dataset labels,
    or ``None`` to drop a class on purpose. A class that is in neither is dropped too. With no
    mapping every class keeps its name. Several classes may map to one label (their scores add).
    """

    def __init__(self, mapping: Mapping[str | int, str | None] | None = None) -> None:
        self.mapping = dict(mapping) if mapping is not None else None
        if self.mapping is not None:
            bad = {k: v for k, v in self.mapping.items() if v is not None and
                   (not isinstance(v, str) or not v)}
            if bad:
                raise ValueError(f"label_map values must be non-empty strings or None: {bad}")

    def __call__(self, name: str, index: int | None = None) -> str | None:
        """The dataset label for class ``name`` (index ``index``), or ``None`` when unmapped."""
        if self.mapping is None:
            return name
        if index is not None and index in self.mapping:
            return self.mapping[index]
        return self.mapping.get(name)

    def scores(self, scores: Mapping[str, float], names: Sequence[str] | None = None
               ) -> dict[str, float]:
        """Per-class scores keyed by dataset label (unmapped classes left out)."""
        out: dict[str, float] = {}
        index = {n: i for i, n in enumerate(names)} if names is not None else {}
        for name, value in scores.items():
            label = self(name, index.get(name))
            if label is not None:
                out[label] = out.get(label, 0.0) + float(value)
        return out


class _Source:
    """What all sources share: task, label mapping and the counts of what they dropped."""

    name: str

    def __init__(self, task: str, label_map: Mapping[str | int, str | None] | LabelMap | None
                 ) -> None:
        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, not {task!r}")
        self.task = task
        self.label_map = label_map if isinstance(label_map, LabelMap) else LabelMap(label_map)
        self.dropped = 0
        self.unmapped: Counter[str] = Counter()

    def _label(self, name: Any, index: int | None = None) -> str | None:
        label = self.label_map(str(name), index)
        if label is None:
            self.unmapped[str(name)] += 1
        return label

    def _proposal(self, name: Any, box: Box, confidence: Any, size: ImageSize, *,
                  index: int | None = None, scores: Mapping[str, float] | None = None,
                  names: Sequence[str] | None = None, mask: bytes | None = None
                  ) -> Proposal | None:
        """A validated proposal, or ``None`` (counted) when it is invalid or unmapped."""
        label = self._label(name, index)
        if label is None:
            return None
        try:
            mapped = self.label_map.scores(scores, names) if scores is not None else None
            return Proposal(label, box.clipped(size), confidence, source=self.name,
                            scores=mapped, mask=mask)
        except (InvalidLabelError, TypeError, ValueError) as exc:
            self.dropped += 1
            log.debug("dropped a proposal from %s: %s", self.name, exc)
            return None

    def _classification(self, scores: Mapping[str, float], size: ImageSize,
                        names: Sequence[str] | None = None) -> list[Proposal]:
        """The image-level proposal from per-class scores: the best mapped class."""
        for name, value in scores.items():
            if not math.isfinite(float(value)):
                self.dropped += 1
                log.debug("dropped a classification from %s: score of %s is %s",
                          self.name, name, value)
                return []
        mapped = self.label_map.scores(scores, names)
        if not mapped:
            best = max(scores, key=lambda k: scores[k]) if scores else "?"
            self.unmapped[str(best)] += 1
            return []
        label = max(mapped, key=lambda k: mapped[k])
        return [Proposal(label, Box(0, 0, size.width, size.height), min(mapped[label], 1.0),
                         source=self.name, scores=mapped)]


class _Wrapper:
    """A source around another (sliced, rules): its dropped and unmapped counts are the inner
    source's."""

    source: ProposalSource

    @property
    def dropped(self) -> int:
        return self.source.dropped

    @property
    def unmapped(self) -> Counter[str]:
        return self.source.unmapped


class ProposalError(Exception):
    """A source could not propose for one image (the message says why); the run goes on."""
