"""Weak supervision: labeling rules written as Python functions, applied in bulk as a source.

A rule is ``rule(proposals, image) -> proposals``: it gets one image's proposals (from the
wrapped ``source``) and the image itself (PIL, RGB) and returns the proposals to keep, changed or
added. :class:`RuleSource` chains rules after a source, and its proposals are stored, reviewed
and measured like any model's (``source`` is ``"rules:<names>"`` on each proposal). Ready-made
rules: :func:`min_size`, :func:`relabel_inside`, :func:`keep_labels`.

A rule that raises fails that image only: its error names the rule and the image size, the run
goes on, and the other images keep their proposals.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from nblabel.core.labels import Box, InvalidLabelError, Proposal
from nblabel.sources.base import ProposalError, ProposalSource, _Wrapper

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["Rule", "RuleSource", "keep_labels", "min_size", "relabel_inside"]

Rule = Callable[[list[Proposal], "Image.Image"], Sequence[Proposal]]


def _named(rule: Rule, name: str) -> Rule:
    rule.__name__ = name
    return rule


def min_size(pixels: float) -> Rule:
    """Drop boxes narrower or lower than ``pixels`` (noise, specks, far-away clutter)."""
    return _named(lambda props, _img: [p for p in props
                                       if p.box.w >= pixels and p.box.h >= pixels],
                  f"min_size({pixels:g})")


def keep_labels(labels: Collection[str]) -> Rule:
    """Keep only proposals of these labels."""
    wanted = set(labels)
    return _named(lambda props, _img: [p for p in props if p.label in wanted],
                  f"keep_labels({sorted(wanted)})")


def relabel_inside(label: str, inside: str, new_label: str, cover: float = 0.9) -> Rule:
    """A ``label`` box lying (``cover`` of its area) inside an ``inside`` box becomes
    ``new_label`` (e.g. a *person* inside a *car* becomes a *driver*)."""

    def rule(props: list[Proposal], _img: Image.Image) -> list[Proposal]:
        outer = [p.box for p in props if p.label == inside]
        out = []
        for p in props:
            if p.label == label and any(_covered(p, o) >= cover for o in outer):
                p = replace(p, label=new_label)
            out.append(p)
        return out

    return _named(rule, f"relabel_inside({label!r} in {inside!r} -> {new_label!r})")


def _covered(p: Proposal, outer: Box) -> float:
    """Share of ``p``'s box inside ``outer``."""
    w = min(p.box.x2, outer.x2) - max(p.box.x, outer.x)
    h = min(p.box.y2, outer.y2) - max(p.box.y, outer.y)
    return max(0.0, w) * max(0.0, h) / p.box.area if p.box.area > 0 else 0.0


class RuleSource(_Wrapper):
    """``source``'s proposals with ``rules`` applied in order (see the module doc)."""

    def __init__(self, source: ProposalSource, rules: Sequence[Rule], *,
                 name: str | None = None) -> None:
        if not rules:
            raise ValueError("RuleSource needs at least one rule")
        bad = [r for r in rules if not callable(r)]
        if bad:
            raise TypeError(f"rules must be callables rule(proposals, image), got {bad!r}")
        self.source = source
        self.rules = list(rules)
        self.task = getattr(source, "task", "detect")
        names = ",".join(getattr(r, "__name__", "rule") for r in self.rules)
        self.name = name or f"rules:{names}"

    def propose(self, images: Sequence[Image.Image]) -> list[list[Proposal] | ProposalError]:
        out: list[list[Proposal] | ProposalError] = []
        for image, res in zip(images, self.source.propose(images), strict=True):
            if isinstance(res, ProposalError):
                out.append(res)
                continue
            props = list(res)
            try:
                for rule in self.rules:
                    rule_name = getattr(rule, "__name__", repr(rule))
                    result = rule(props, image)
                    props = list(result)
                    if any(not isinstance(p, Proposal) for p in props):
                        raise TypeError(f"returned {type(result).__name__} holding "
                                        "something other than Proposal objects")
                props = [replace(p, source=self.name) for p in props]
            except (Exception) as exc:
                out.append(ProposalError(
                    f"rule {rule_name} failed on a {image.width}x{image.height} image: "
                    f"{exc!r}" if not isinstance(exc, InvalidLabelError) else
                    f"rule {rule_name} made an invalid proposal: {exc}"))
                continue
            out.append(props)
        return out
