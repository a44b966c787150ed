"""Claims: which reviewer holds an image now, so reviewers of a team work on different images.

A claim is one atomic MongoDB update on the sample (``nblabel_claim``: reviewer and expiry), so
two kernels cannot both hold an image. Claims last :data:`CLAIM_SECONDS` and are renewed while the
image is shown; the session releases one only once the image is durably finished (its decisions
synced), so no one else opens it in between.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from nblabel.store import shim
from nblabel.store.schema import CLAIM_FIELD, REVIEWED_TAG, REVIEWERS_FIELD

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = ["CLAIM_FIELD", "CLAIM_SECONDS", "Claims"]

CLAIM_SECONDS = 600.0


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Claims:
    """Claims of one reviewer on one dataset's samples."""

    def __init__(self, dataset: fo.Dataset, reviewer: str) -> None:
        self.dataset = dataset
        self.reviewer = reviewer

    def claim(self, sample_id: str) -> str | None:
        """Claim ``sample_id``: ``None`` when the claim is this reviewer's, else the name of
        the reviewer who holds a live claim on it."""
        why = self._claim(sample_id, unless_finished=False)
        return why.removesuffix(" is reviewing it") if why else None

    def take(self, sample_id: str) -> str | None:
        """Claim ``sample_id`` unless another reviewer holds it or has finished it, in one
        atomic update (a reviewer moving on cannot take an image someone finished a moment
        ago): ``None`` when taken, else why not."""
        return self._claim(sample_id, unless_finished=True)

    def _claim(self, sample_id: str, unless_finished: bool) -> str | None:
        from bson import ObjectId

        coll = shim.sample_collection(self.dataset)
        until = datetime.fromtimestamp(time.time() + CLAIM_SECONDS, timezone.utc)
        query: dict[str, object] = {"_id": ObjectId(sample_id), "$or": [
            {CLAIM_FIELD: None},
            {f"{CLAIM_FIELD}.reviewer": self.reviewer},
            {f"{CLAIM_FIELD}.until": {"$lt": _now()}},
        ]}
        if unless_finished:
            query["$nor"] = [{"tags": REVIEWED_TAG,
                              REVIEWERS_FIELD: {"$elemMatch": {"$ne": self.reviewer}}}]
        res = coll.update_one(query, {"$set": {CLAIM_FIELD: {
            "reviewer": self.reviewer, "until": until.replace(tzinfo=None)}}})
        if res.matched_count:
            return None
        doc = coll.find_one({"_id": ObjectId(sample_id)},
                            {CLAIM_FIELD: 1, "tags": 1, REVIEWERS_FIELD: 1}) or {}
        holder = (doc.get(CLAIM_FIELD) or {}).get("reviewer")
        if holder and holder != self.reviewer:
            return f"{holder} is reviewing it"
        others = [r for r in doc.get(REVIEWERS_FIELD) or [] if r != self.reviewer]
        return f"reviewed by {', '.join(others)}" if others else "taken"

    def finish(self, sample_id: str) -> None:
        """``sample_id`` is reviewed by this reviewer: tagged ``reviewed``, the reviewer added to
        its reviewers and its claim released, in one atomic update (``$addToSet``: reviewers
        finishing at once never lose each other, where a read-modify-write of the list did)."""
        from bson import ObjectId

        add: dict[str, object] = {"tags": REVIEWED_TAG}
        if self.reviewer:
            add[REVIEWERS_FIELD] = self.reviewer
        shim.sample_collection(self.dataset).update_one(
            {"_id": ObjectId(sample_id)},
            [{"$set": {
                "tags": {"$setUnion": [{"$ifNull": ["$tags", []]}, [REVIEWED_TAG]]},
                **({REVIEWERS_FIELD: {"$setUnion": [{"$ifNull": [f"${REVIEWERS_FIELD}", []]},
                                                    [self.reviewer]]}} if self.reviewer else {}),
                CLAIM_FIELD: {"$cond": [{"$eq": [f"${CLAIM_FIELD}.reviewer", self.reviewer]},
                                        None, f"${CLAIM_FIELD}"]},
                "last_modified_at": "$$NOW"}}])
        shim.reload_sample_docs(self.dataset, [sample_id])

    def release(self, sample_ids: Sequence[str]) -> None:
        """Give up this reviewer's claims on ``sample_ids`` (where it holds one)."""
        from bson import ObjectId

        if sample_ids:
            shim.sample_collection(self.dataset).update_many(
                {"_id": {"$in": [ObjectId(s) for s in sample_ids]},
                 f"{CLAIM_FIELD}.reviewer": self.reviewer},
                {"$set": {CLAIM_FIELD: None}},
            )

    def held_or_finished(self, sample_ids: Sequence[str]) -> tuple[dict[str, str],
                                                                   dict[str, list[str]]]:
        """Of ``sample_ids``: those another reviewer holds (id -> reviewer) and those tagged
        reviewed with other reviewers among their reviewers (id -> those reviewers)."""
        from bson import ObjectId

        now = _now()
        held: dict[str, str] = {}
        finished: dict[str, list[str]] = {}
        for doc in shim.sample_collection(self.dataset).find(
            {"_id": {"$in": [ObjectId(s) for s in sample_ids]}},
            {CLAIM_FIELD: 1, "tags": 1, REVIEWERS_FIELD: 1},
        ):
            sid = str(doc["_id"])
            claim = doc.get(CLAIM_FIELD) or {}
            others = [r for r in doc.get(REVIEWERS_FIELD) or [] if r != self.reviewer]
            if claim.get("reviewer") not in (None, self.reviewer) and claim["until"] > now:
                held[sid] = str(claim["reviewer"])
            elif REVIEWED_TAG in (doc.get("tags") or []) and others:
                finished[sid] = others
        return held, finished
