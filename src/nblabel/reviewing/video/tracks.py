"""Review of one video a track at a time: the session behind the video widget, usable alone.

:class:`TrackReview` loads a video's proposed tracks (frame field ``tracks``), lays the journal's
decisions over them (a kernel that died loses nothing), orders them most suspect first
(:func:`nblabel.core.tracks.order_tracks`) and applies the review actions of
:mod:`nblabel.core.track_edits`. Each action is one journal transaction (every track it
changes, in its final state) and one undo step, and is written to the reviewed frame field
(``gt_tracks``) for the frames it touched, in bulk.

The journal keeps track decisions under ``"<dataset>/tracks"``, apart from image decisions.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nblabel.core import track_edits as te
from nblabel.core.attributes import parse_attributes
from nblabel.core.track_edits import Track, TrackDecision
from nblabel.core.tracks import Suspicion, order_tracks
from nblabel.core.video import VideoReader
from nblabel.reviewing.editor.completion import complete_item
from nblabel.reviewing.editor.history import History
from nblabel.sources.retrack import follow
from nblabel.store import schema
from nblabel.store.journal import DecisionJournal
from nblabel.store.schema import (
    GT_TRACKS_FIELD,
    TRACKS_FIELD,
    tracks_journal_key,
)
from nblabel.store.tracks import read_tracks, write_tracks

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = ["TrackReview"]

XYWH = tuple[float, float, float, float]
Pair = tuple[Track | None, Track | None]



class TrackReview:
    """Review the tracks of video ``sample_id`` of ``dataset`` (see the module doc)."""

    def __init__(self, dataset: fo.Dataset, sample_id: str, *, journal: DecisionJournal,
                 field: str = TRACKS_FIELD, gt_field: str = GT_TRACKS_FIELD,
                 reviewer: str = "", classes: Sequence[str] = (),
                 attributes: Mapping[str, Any] | None = None) -> None:
        self.dataset = dataset
        #: The tracks' attributes by class (:mod:`nblabel.core.attributes`).
        declared = attributes if attributes is not None else \
            schema.label_schema_attributes(dataset, gt_field or "", field or "")
        self.attributes = parse_attributes(declared)
        #: Classes offered for new and relabeled tracks besides the video's own.
        self.classes = list(classes)
        self.sample_id = sample_id
        self.journal = journal
        self.field = field
        self.gt_field = gt_field
        self.reviewer = reviewer
        #: What was wrong with the proposals as stored (reused track ids), by sentence.
        self.problems: list[str] = []
        proposed = {t.id: t for t in read_tracks(dataset, sample_id, field, self.problems)}
        self.tracks: dict[str, Track] = dict(proposed)
        for _, payload in journal.payloads(tracks_journal_key(dataset.name), [sample_id]):
            d = TrackDecision.from_dict(payload)
            if d.track is not None:
                self.tracks[d.track_id] = d.track
            elif d.track_id in proposed:  # undone back to the proposal
                self.tracks[d.track_id] = proposed[d.track_id]
            else:  # an added track, undone
                self.tracks.pop(d.track_id, None)
        self.history: History[list[Pair]] = History()
        self._started = time.monotonic()
        self.suspicion: dict[str, Suspicion] = {}
        self.rank()

    # -- what to look at -----------------------------------------------------------------------

    def rank(self) -> list[str]:
        """Track ids, pending ones most suspect first, then the decided ones."""
        ranked = order_tracks({tid: t.track_boxes() for tid, t in self.tracks.items()})
        self.suspicion = dict(ranked)
        pending = [tid for tid, _ in ranked if self.tracks[tid].status == "pending"]
        return pending + [tid for tid, _ in ranked if self.tracks[tid].status != "pending"]

    def next_suspicious_frame(self, track_id: str, after: int) -> int | None:
        """The first flagged frame of a track after ``after`` (None: no more)."""
        return next((f for f in self.suspicion[track_id].frames() if f > after), None)

    @property
    def pending(self) -> list[str]:
        return [tid for tid in self.rank() if self.tracks[tid].status == "pending"]

    # -- actions (each one journal transaction, one undo step) -------------------------------

    def _new_id(self) -> str:
        numbers = [int(t) for t in self.tracks if t.isdigit()]
        return str(max(numbers, default=0) + 1)

    def _apply(self, changed: Sequence[Track], seconds: float | None = None) -> list[Track]:
        before: list[tuple[Track | None, Track | None]] = [(self.tracks.get(t.id), t)
                                                            for t in changed]
        self._commit(before, seconds)
        self.history.done(before)
        return list(changed)

    def _commit(self, pairs: Sequence[tuple[Track | None, Track | None]],
                seconds: float | None) -> None:
        secs = time.monotonic() - self._started if seconds is None else seconds
        decisions = []
        frames: set[int] = set()
        for old, new in pairs:
            tid = (new or old).id  # type: ignore[union-attr]
            decisions.append(TrackDecision(self.sample_id, tid, new, self.reviewer, secs))
            for t in (old, new):
                if t is not None:
                    frames.update(t.boxes)
        self.journal.append_many(tracks_journal_key(self.dataset.name), decisions)
        for old, new in pairs:
            tid = (new or old).id  # type: ignore[union-attr]
            if new is None:
                self.tracks.pop(tid, None)
            else:
                self.tracks[tid] = new
        write_tracks(self.dataset, self.sample_id, self.gt_field, self.tracks.values(), frames,
                     self.reviewer)

    def accept(self, track_id: str) -> list[Track]:
        return self._apply(te.accept(self.tracks[track_id]))

    def reject(self, track_id: str) -> list[Track]:
        return self._apply(te.reject(self.tracks[track_id]))

    def relabel(self, track_id: str, label: str, from_frame: int | None = None) -> list[Track]:
        """Change a track's class: the whole track, or (``from_frame``) from that frame on,
        split off as a track of its own (one action, one undo step)."""
        t = self.tracks[track_id]
        if from_frame is None or from_frame <= t.first:
            return self._apply(te.relabel(t, label))
        head, tail = te.split(t, from_frame, self._new_id())
        return self._apply([head, *te.relabel(tail, label)])

    def set_attributes(self, track_id: str, values: Mapping[str, Any]) -> list[Track]:
        """Set attributes of a track (on every one of its boxes); None clears one. Checked
        against the declaration for the track's class; one action, one undo step."""
        t = self.tracks[track_id]
        return self._apply(te.set_attributes(t, self.attributes.check(t.label, values)))

    def fix_box(self, track_id: str, frame: int, box: XYWH) -> list[Track]:
        return self._apply(te.fix_box(self.tracks[track_id], frame, box))

    def split(self, track_id: str, frame: int) -> list[Track]:
        return self._apply(te.split(self.tracks[track_id], frame, self._new_id()))

    def merge(self, track_id: str, other: str) -> list[Track]:
        return self._apply(te.merge(self.tracks[track_id], self.tracks[other]))

    def swap(self, track_id: str, other: str, frame: int) -> list[Track]:
        return self._apply(te.swap(self.tracks[track_id], self.tracks[other], frame))

    def retrack(self, track_id: str, frame: int, box: XYWH | None = None,
                span: int = 75) -> list[Track]:
        """Set ``box`` (default: the track's box there) on ``frame`` and follow it on the
        pixels of the next frames, up to the track's next keyframe or ``span`` frames, until
        the match is lost (:func:`nblabel.sources.retrack.follow`). One action."""
        t = self.tracks[track_id]
        box = box or t.boxes.get(frame)
        if box is None:
            raise ValueError(f"track {track_id} has no box on frame {frame}: draw one")
        later = [k for k in t.keyframes if k > frame]
        stop = min([frame + span, *[k - 1 for k in later]])
        path = self.dataset.select(self.sample_id).values("filepath")[0]
        frames = (image for _, image in VideoReader(path).frames(frame, stop))
        found = follow(frames, box)
        boxes = {frame + 1 + i: b for i, b in enumerate(found)}
        return self._apply(te.retracked(t, frame, box, boxes))

    def bridge(self, track_id: str, start: int, stop: int) -> list[Track]:
        return self._apply(te.bridge(self.tracks[track_id], start, stop))

    def end(self, track_id: str, frame: int) -> list[Track]:
        return self._apply(te.end(self.tracks[track_id], frame))

    def new_track(self, label: str, keyframes: dict[int, XYWH]) -> list[Track]:
        return self._apply(te.new_track(self._new_id(), label, keyframes))

    def accept_rest(self) -> list[Track]:
        """Accept every pending track (what is left after the suspect ones were fixed)."""
        return self._apply([t for tid in self.pending for t in te.accept(self.tracks[tid])])

    def undo(self) -> bool:
        """Put back the tracks the last action changed (journaled, synced)."""
        def write(step: list[Pair]) -> bool:
            self._commit([(new, old) for old, new in step], None)
            return True

        return self.history.step_back(write) is True

    def redo(self) -> bool:
        def write(step: list[Pair]) -> tuple[bool, list[Pair]]:
            self._commit(step, None)
            return True, step

        return self.history.step_forward(write) is True

    def complete(self) -> None:
        """Every track decided: the video is reviewed (tagged, and marked in the journal)."""
        if self.pending:
            raise ValueError(f"{len(self.pending)} track(s) of video {self.sample_id} are "
                             "still pending: accept or reject them first (accept_rest)")
        complete_item(self.dataset, self.journal, tracks_journal_key(self.dataset.name),
                      self.sample_id, self.reviewer, time.monotonic() - self._started)
