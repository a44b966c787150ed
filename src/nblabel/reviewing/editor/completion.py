"""Finishing an item reviewed whole (a video's tracks, an image's shapes): one rule for every
kind. The journal marks it complete first (a kernel that dies after that loses nothing), then the
sample is tagged ``reviewed``, its reviewer added to its reviewers and the reviewer's claim
released, in one atomic database update (:meth:`nblabel.store.claims.Claims.finish`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nblabel.store import schema
from nblabel.store.claims import Claims
from nblabel.store.schema import CLAIM_FIELD, REVIEWERS_FIELD

if TYPE_CHECKING:
    import fiftyone as fo

    from nblabel.store.journal import DecisionJournal

__all__ = ["complete_item"]


def complete_item(dataset: fo.Dataset, journal: DecisionJournal, journal_key: str,
                  sample_id: str, reviewer: str, seconds: float) -> None:
    """Mark ``sample_id`` reviewed by ``reviewer`` (see the module doc)."""
    journal.mark_complete(journal_key, sample_id, reviewer, seconds)
    schema.declare(dataset, {REVIEWERS_FIELD: "list[str]", CLAIM_FIELD: "dict"})
    Claims(dataset, reviewer).finish(sample_id)
