"""Every source of help measures itself on the images the reviewer finishes, and steps back
when it does not pay: "never slower than by hand" as a rule.

When an image is finished, its final labels are known, so what each source proposed on it can be
priced (:func:`nblabel.core.cost.replay`) against drawing the same labels by hand, whether its
proposals were shown or not. :class:`Ledger` keeps, per source (the exemplar assistant, a model
round, an import):

- a **calibration** (:class:`Calibration`): the measured hit rate and the seconds a proposal
  saves, as functions of its raw confidence, fitted on every proposal measured so far
  (increasing by pool-adjacent-violators, shrunk toward "unknown" while there are few). It
  gives what a confidence is worth (:meth:`Ledger.hit_rate`) and the source's display floor,
  the lowest raw confidence worth showing: a proposal is shown only where its expected saving
  is positive (at the default costs, a hit saves 6 s and a miss costs 1 s, so above a hit rate
  of about 1/7) and it reaches the reviewer's threshold;
- a **verdict** (:class:`Verdict`) over the last ``window`` finished images: precision, recall
  and IoU of what would be shown now, and the saving against drawing by hand. A source whose
  saving is not above zero **steps back**: its proposals are hidden (not deleted: they are
  still measured, in the background, on every image finished, and come back when they would
  have paid).

A source never measured is ``unmeasured``; whether it is shown is the caller's policy
(:meth:`Ledger.shows`): the widget shows what the user asked for (a model's or an import's
proposals) and makes its own assistant earn its place first. The verdict is measured on the
images the calibration was fitted on, which flatters a source a little; the window is short so
that a source that turns bad steps back within a few images.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nblabel.core.cost import CostModel, replay
from nblabel.core.labels import Box, Proposal
from nblabel.core.rules import DEFAULT_THRESHOLD, HIDDEN_FLOOR, visible

__all__ = ["Calibration", "Ledger", "Verdict"]

UNMEASURED, HELPING, STEPPED_BACK = "unmeasured", "helping", "stepped back"


def _increasing(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Pool-adjacent-violators: the non-decreasing fit of ``y`` with weights ``w``."""
    vals, wts, sizes = [], [], []
    for v, wt in zip(y.tolist(), w.tolist(), strict=True):
        vals.append(v)
        wts.append(wt)
        sizes.append(1)
        while len(vals) > 1 and vals[-2] > vals[-1]:
            v2, w2, s2 = vals.pop(), wts.pop(), sizes.pop()
            total = wts[-1] + w2
            vals[-1] = (vals[-1] * wts[-1] + v2 * w2) / total
            wts[-1] = total
            sizes[-1] += s2
    return np.repeat(np.array(vals), sizes)


@dataclass(frozen=True)
class Calibration:
    """Measured hit rate and seconds saved per proposal, by raw confidence (see the module
    doc). ``confidence``: the groups' mean raw confidence, increasing; ``hits`` and
    ``seconds``: their fitted values."""

    confidence: np.ndarray
    hits: np.ndarray
    seconds: np.ndarray

    @classmethod
    def fit(cls, confidence: Sequence[float], hit: Sequence[bool], seconds: Sequence[float],
            *, groups: int = 10, prior: float = 4.0, prior_seconds: float = 0.0
            ) -> Calibration:
        """Fit on measured proposals: raw ``confidence``, whether each was a ``hit`` (accepted
        or edited) and the ``seconds`` it saved (negative for a miss). Proposals are grouped
        by confidence into at most ``groups`` groups of equal size; each group's means are
        shrunk toward a hit rate of 1/2 and ``prior_seconds`` by ``prior`` pseudo-proposals
        (hiding a good proposal costs a draw, showing a bad one a rejection: a group is
        judged not worth showing only on evidence)."""
        c = np.asarray(confidence, float)
        if c.size == 0:
            raise ValueError("a calibration needs at least one measured proposal")
        order = np.argsort(c, kind="stable")
        parts = np.array_split(order, min(groups, c.size))
        h, s = np.asarray(hit, float), np.asarray(seconds, float)
        n = np.array([len(p) for p in parts], float)
        mean_c = np.array([c[p].mean() for p in parts])
        mean_h = np.array([(h[p].sum() + prior / 2) / (len(p) + prior) for p in parts])
        mean_s = np.array([(s[p].sum() + prior * prior_seconds) / (len(p) + prior)
                           for p in parts])
        return cls(mean_c, _increasing(mean_h, n), _increasing(mean_s, n))

    def hit_rate(self, confidence: float) -> float:
        return float(np.interp(confidence, self.confidence, self.hits))

    def saves(self, confidence: float) -> float:
        """Expected seconds saved by showing a proposal of this raw confidence."""
        return float(np.interp(confidence, self.confidence, self.seconds))

    def floor(self) -> float:
        """The lowest raw confidence worth showing (expected saving above zero); above 1 when
        none is."""
        good = np.nonzero(self.seconds > 0)[0]
        if good.size == 0:
            return HIDDEN_FLOOR
        k = int(good[0])
        if k == 0:
            return 0.0
        # Where the interpolated saving crosses zero between the two groups.
        c0, c1, s0, s1 = (self.confidence[k - 1], self.confidence[k], self.seconds[k - 1],
                          self.seconds[k])
        return float(c0 + (c1 - c0) * (-s0) / (s1 - s0)) if s1 != s0 else float(c1)


@dataclass(frozen=True)
class Verdict:
    """A source's measured worth over its last finished images (see the module doc)."""

    source: str
    state: str
    images: int = 0
    #: Share of the seconds of drawing by hand that showing it saves (negative: it costs).
    saving: float | None = None
    seconds_saved_per_image: float | None = None
    precision: float | None = None
    recall: float | None = None
    iou: float | None = None
    #: The lowest raw confidence shown (the calibrated display threshold).
    floor: float = 0.0
    reason: str = ""

    @property
    def helping(self) -> bool:
        return self.state == HELPING

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 3) if isinstance(v, float) else v)
                for k, v in self.__dict__.items()}


@dataclass
class _Record:
    images: deque[tuple[tuple[Proposal, ...], tuple[tuple[str, Box], ...]]]
    pairs: deque[list[tuple[float, bool, float]]]  # per image
    calibration: Calibration | None = None


@dataclass
class Ledger:
    """Per-source measurements (see the module doc). ``threshold``: the reviewer's display
    threshold; ``window``: finished images a verdict covers; ``history``: finished images the
    calibration is fitted on (recent ones only: an assistant that learns changes what its
    confidences are worth)."""

    cost: CostModel = field(default_factory=CostModel)
    window: int = 4
    history: int = 8
    threshold: float = DEFAULT_THRESHOLD
    accept_iou: float = 0.7
    edit_iou: float = 0.3
    _records: dict[str, _Record] = field(default_factory=dict, repr=False)

    def _record(self, source: str) -> _Record:
        if source not in self._records:
            self._records[source] = _Record(deque(maxlen=self.window),
                                            deque(maxlen=self.history))
        return self._records[source]

    @property
    def sources(self) -> list[str]:
        return list(self._records)

    def record(self, source: str, proposals: Sequence[Proposal],
               kept: Sequence[tuple[str, Box]]) -> Verdict:
        """Measure ``source``'s raw ``proposals`` on a finished image that ends with ``kept``
        (label, pixel box) labels, whether they were shown or not; returns its new verdict."""
        rec = self._record(source)
        review = replay(proposals, kept, accept_iou=self.accept_iou, edit_iou=self.edit_iou)
        c = self.cost
        pairs = [(_raw(p), True, c.draw - c.accept) for p in review.accepted]
        pairs += [(_raw(p), True, c.draw - c.edit) for p, _, _ in review.edited]
        pairs += [(_raw(p), False, -c.reject) for p in review.rejected]
        rec.pairs.append(pairs)
        measured = [x for image in rec.pairs for x in image]
        if measured:
            conf, hit, secs = zip(*measured, strict=True)
            # The prior: a proposal as likely kept as not.
            rec.calibration = Calibration.fit(
                conf, hit, secs, prior_seconds=(c.draw - c.accept - c.reject) / 2)
        rec.images.append((tuple(proposals), tuple(kept)))
        return self.verdict(source)

    def calibrated(self, source: str, proposals: Sequence[Proposal]) -> list[Proposal]:
        """The ``proposals`` worth showing: those whose measured expected saving is positive
        (raw confidence at or above the calibrated floor), most confident first; all of them
        while the source is unmeasured. Confidences stay raw: the calibration is increasing,
        so the order is the same, and :meth:`hit_rate` says what a confidence is worth."""
        rec = self._records.get(source)
        cal = rec.calibration if rec is not None else None
        floor = cal.floor() if cal is not None else 0.0
        out = [p for p in proposals if _raw(p) >= floor]
        return sorted(out, key=lambda p: -_raw(p))

    def hit_rate(self, source: str, confidence: float) -> float | None:
        """The measured share of ``source``'s proposals of this raw confidence that were
        kept (accepted or edited); None while unmeasured."""
        rec = self._records.get(source)
        return (rec.calibration.hit_rate(confidence)
                if rec is not None and rec.calibration is not None else None)

    def floor(self, source: str) -> float:
        """The lowest raw confidence of ``source`` shown now: above 1 when it stepped back."""
        v = self.verdict(source)
        return HIDDEN_FLOOR if v.state == STEPPED_BACK else v.floor

    def verdict(self, source: str) -> Verdict:
        rec = self._records.get(source)
        if rec is None or not rec.images:
            return Verdict(source, UNMEASURED, reason=f"{source}: not measured yet")
        secs = manual = 0.0
        shown = matched = kept_n = 0
        ious: list[float] = []
        for props, kept in rec.images:
            view = [p for p in self.calibrated(source, props)
                    if visible(p.confidence, self.threshold)]
            review = replay(view, kept, accept_iou=self.accept_iou, edit_iou=self.edit_iou)
            secs += review.seconds(self.cost)
            manual += self.cost.manual_seconds(len(kept))
            shown += review.shown
            matched += len(review.accepted) + len(review.edited)
            kept_n += len(kept)
            ious += review.ious
        saving = 1.0 - secs / manual if manual else 0.0
        n = len(rec.images)
        precision = matched / shown if shown else None
        floor = rec.calibration.floor() if rec.calibration is not None else 0.0
        helping = saving > 0.0
        recall = matched / kept_n if kept_n else None
        parts = [f"precision {precision:.2f}" if precision is not None
                 else "nothing worth showing"]
        if recall is not None:
            parts.append(f"recall {recall:.2f}")
        reason = (f"{source} {'saves' if helping else 'would cost'} {abs(saving):.0%} of "
                  f"drawing by hand on the last {n} finished image(s) ({', '.join(parts)})")
        if not helping:
            reason += ": stepped back; still measured on each finished image"
        return Verdict(source, HELPING if helping else STEPPED_BACK, n, saving,
                       (manual - secs) / n, precision, recall,
                       float(np.mean(ious)) if ious else None, floor, reason)

    def shows(self, source: str, *, unmeasured: bool = True) -> bool:
        """Whether ``source``'s proposals are shown now (``unmeasured``: the policy for a
        source not measured yet)."""
        v = self.verdict(source)
        return unmeasured if v.state == UNMEASURED else v.helping

    def choose(self, sources: Iterable[str]) -> str | None:
        """The measured source that saves most now, or None when none saves anything."""
        best = [(v.saving or 0.0, v.source) for v in map(self.verdict, sources) if v.helping]
        return max(best)[1] if best else None

    def status(self) -> dict[str, dict[str, Any]]:
        """Every source's verdict, as plain values (for ``auto.status`` and notebooks)."""
        return {s: self.verdict(s).to_dict() for s in self._records}

    def floors(self) -> Mapping[str, float]:
        """Per source, the lowest raw confidence shown now (see :meth:`floor`)."""
        return {s: self.floor(s) for s in self._records}


def _raw(p: Proposal) -> float:
    return 1.0 if p.confidence is None else float(p.confidence)
