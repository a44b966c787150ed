"""Several sources fused into one by weighted box fusion, with per-box agreement."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from nblabel.core.labels import Box, Proposal

if TYPE_CHECKING:
    from PIL import Image


from nblabel.core.geometry import greedy_clusters
from nblabel.sources.base import ProposalError, ProposalSource

__all__ = ["EnsembleSource", "fuse_boxes"]

log = logging.getLogger(__name__)


class EnsembleSource:
    """Several sources fused by weighted box fusion (WBF), keeping per-box agreement.

    Boxes of the same label from all members are clustered greedily by confidence (IoU with the
    cluster's fused box at least ``iou``); a cluster's box is the confidence-and-weight-weighted
    mean of its boxes, its confidence the weighted mean confidence scaled by the share of member
    weight that voted for it (a box only one of two equal members saw keeps half its
    confidence), and ``agreement`` the share of members in the cluster. Classifiers are fused by
    the weighted mean of their class scores; ``agreement`` is then the share of members whose
    best class is the fused one. Members map their own classes to the dataset's labels (each
    has its ``label_map``). A member failing on an image fails that image (its error names the
    member).
    """

    def __init__(
        self,
        sources: Sequence[ProposalSource],
        weights: Sequence[float] | None = None,
        *,
        iou: float = 0.55,
        name: str = "ensemble",
    ) -> None:
        if not sources:
            raise ValueError("an ensemble needs at least one source")
        self.sources = list(sources)
        tasks = {getattr(s, "task", "detect") for s in self.sources}
        if len(tasks) > 1:
            raise ValueError(f"ensemble members must share one task, got {sorted(tasks)}")
        self.task = tasks.pop()
        self.weights = list(weights) if weights is not None else [1.0] * len(self.sources)
        if len(self.weights) != len(self.sources) or min(self.weights) <= 0:
            raise ValueError("one positive weight per source is needed")
        self.iou = iou
        self.name = name
        self.dropped = 0
        self.unmapped: Counter[str] = Counter()

    def propose(self, images: Sequence[Image.Image]) -> list[list[Proposal] | ProposalError]:
        per_member = [list(s.propose(images)) for s in self.sources]
        self.dropped = sum(s.dropped for s in self.sources)
        self.unmapped = sum((Counter(getattr(s, "unmapped", {})) for s in self.sources),
                            Counter())
        out: list[list[Proposal] | ProposalError] = []
        for i in range(len(images)):
            results = [m[i] for m in per_member]
            failed = [r for r in results if isinstance(r, ProposalError)]
            if failed:
                out.append(ProposalError(f"{self.name}: {failed[0]}"))
                continue
            members = [r for r in results if not isinstance(r, ProposalError)]
            out.append(self._fuse_classes(members) if self.task == "classify"
                       else self._fuse(members))
        return out

    def _fuse_classes(self, members: list[list[Proposal]]) -> list[Proposal]:
        total = sum(self.weights)
        fused: dict[str, float] = {}
        box = None
        tops = []
        for props, w in zip(members, self.weights, strict=True):
            if not props:
                continue
            p = props[0]
            box = p.box
            tops.append(p.label)
            for label, v in (p.scores or {p.label: p.confidence or 0.0}).items():
                fused[label] = fused.get(label, 0.0) + w * v / total
        if not fused or box is None:
            return []
        label = max(fused, key=lambda k: fused[k])
        agreement = sum(1 for t in tops if t == label) / len(self.sources)
        return [Proposal(label, box, min(fused[label], 1.0), source=self.name, scores=fused,
                         agreement=agreement)]
    def _fuse(self, members: list[list[Proposal]]) -> list[Proposal]:
        return fuse_boxes(members, self.weights, self.iou, self.name)


def fuse_boxes(members: Sequence[Sequence[Proposal]], weights: Sequence[float], iou: float,
               name: str) -> list[Proposal]:
    """Weighted box fusion of the members' proposals of one image (the rule in
    :class:`EnsembleSource`'s doc); one member fuses its own overlapping boxes."""
    total = sum(weights)
    tagged = sorted(
        ((p, k) for k, props in enumerate(members) for p in props),
        key=lambda pk: -(pk[0].confidence or 0.0) * weights[pk[1]],
    )
    groups = greedy_clusters(
        tagged, lambda pk: pk[0].box.as_list(), min_iou=iou,
        centre=lambda items: _mean_box(items, weights).as_list(),
        can_join=lambda items, pk: items[0][0].label == pk[0].label,
    )
    fused = []
    for items in groups:
        box = _mean_box(items, weights) if len(items) > 1 else items[0][0].box
        voters = {k for _, k in items}
        vote_weight = sum(weights[k] for k in voters)
        w = [weights[k] for _, k in items]
        conf = sum((p.confidence or 0.0) * wi for (p, _), wi in zip(items, w, strict=True))
        conf = conf / sum(w) * vote_weight / total
        fused.append(Proposal(items[0][0].label, box, min(conf, 1.0), source=name,
                              agreement=len(voters) / len(members)))
    return fused


def _mean_box(items: list[tuple[Proposal, int]], weights: Sequence[float]) -> Box:
    w = [(p.confidence or 1e-6) * weights[k] for p, k in items]
    s = sum(w)
    x1 = sum(p.box.x * wi for (p, _), wi in zip(items, w, strict=True)) / s
    y1 = sum(p.box.y * wi for (p, _), wi in zip(items, w, strict=True)) / s
    x2 = sum(p.box.x2 * wi for (p, _), wi in zip(items, w, strict=True)) / s
    y2 = sum(p.box.y2 * wi for (p, _), wi in zip(items, w, strict=True)) / s
    return Box.from_xyxy(x1, y1, x2, y2)
