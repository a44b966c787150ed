"""Which help proposes on the images ahead after a learning round: chosen by measured cost on
the reviewed images, not by a fixed mAP threshold.

A new model version is measured on the reviewed images held out of its training
(``ModelVersion.val_ids``): its proposals there are priced against the reviewed labels like
every source's (:class:`nblabel.core.ledger.Ledger`: calibrated floor, saving against drawing
by hand). It proposes on the images ahead only when it saves time, and more than the exemplar
assistant measured on the images finished in the widget; otherwise the images ahead keep what
they have. Its measurements join the widget's ledger under the model's source name, so the
widget goes on measuring it on every image finished and hides it if it stops paying.

Fusing the model with the assistant is measured in ``bench/cold_start.py`` (the ``fused``
candidate) but not offered here: fused proposals would need the assistant's proposals on the
held-out images, which it has learned from already.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nblabel.core.labels import Box, Proposal
from nblabel.core.ledger import Ledger, Verdict

if TYPE_CHECKING:
    from nblabel.learning.loop import LearningLoop, ModelVersion

__all__ = ["Measured", "choose", "measure_version"]


@dataclass(frozen=True)
class Measured:
    """A model version's verdict on held-out reviewed images, and what it was measured on."""

    source: str
    verdict: Verdict
    images: list[tuple[list[Proposal], list[tuple[str, Box]]]]


def measure_version(loop: LearningLoop, version: ModelVersion,
                    sample_ids: Sequence[str] | None = None) -> Measured:
    """Measure ``version`` on ``sample_ids`` (default: the reviewed images held out of its
    training) against their reviewed labels in ``loop.gt_field``."""
    from nblabel.core.images import load_rgb
    from nblabel.learning.simulate import truth_from_field

    ids = list(sample_ids if sample_ids is not None else version.val_ids)
    source = loop.source(version)
    name = getattr(source, "name", "model")
    ledger = Ledger(window=max(1, len(ids)))
    images: list[tuple[list[Proposal], list[tuple[str, Box]]]] = []
    if not ids:
        return Measured(name, ledger.verdict(name), images)
    view = loop.dataset.select(ids)
    truth = truth_from_field(view, loop.gt_field)
    for sid, path in zip(*view.values(["id", "filepath"]), strict=True):
        try:
            result = source.propose([load_rgb(path)])[0]
        except Exception:  # an unreadable held-out image is not measured
            continue
        if isinstance(result, Exception):
            continue
        images.append((list(result), truth.get(sid, [])))
        ledger.record(name, result, truth.get(sid, []))
    return Measured(name, ledger.verdict(name), images)


def choose(model: Verdict, current: Verdict | None) -> tuple[bool, str]:
    """Whether the model proposes on the images ahead, and why: it must save time on its
    held-out images, and more than the ``current`` help measured in the widget."""
    if not model.images:
        return False, f"{model.source}: no held-out reviewed image to measure it on yet"
    if not model.helping:
        return False, model.reason
    if current is not None and current.helping and (current.saving or 0) >= (model.saving or 0):
        return False, (f"{model.reason}; {current.reason}: the proposals ahead stay "
                       f"{current.source}'s")
    return True, model.reason


def adopt(widget: Any, measured: Measured) -> None:
    """Give the widget's ledger the model's held-out measurements (it keeps measuring)."""
    meter = getattr(widget, "help", None)
    if meter is not None:
        for props, kept in measured.images:
            meter.record(measured.source, props, kept)
        widget.help_status = meter.status()
