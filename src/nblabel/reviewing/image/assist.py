"""Live help while labeling from scratch: boxes the reviewer draws become exemplars, and similar
objects are proposed on the image on screen and on the next ones.

:class:`ExemplarAssist` keeps an :class:`~nblabel.sources.ExemplarSource`. Once an image has
``min_exemplars`` drawn boxes, every further drawn box refits it and its proposals on that
image are replaced (the reviewer's decisions are never touched): in a background thread, so
drawing never waits. An image reached later that has no proposals gets the exemplars'
proposals when it is loaded (usually ahead, by the prefetch). Images with proposals of another
source (a model, an import) are left alone. When the reviewer leaves an image finished, its
boxes become exemplars, the rest of it background (a reviewed image has every object boxed) and
its proposals that were not kept hard negatives, and the images ahead not yet shown are proposed
on again: the proposals get
better image after image (``bench/cold_start.py``). Proposals are stored in the proposals field
like any source's (``source`` is ``"assistant"``, apart from any pre-annotation made with an
:class:`~nblabel.sources.ExemplarSource`), so they are reviewed and measured like a
model's: the widget shows them only once they have paid on a finished image
(:mod:`nblabel.reviewing.image.worth`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from nblabel.core.images import load_rgb
from nblabel.core.labels import Action, Box, ImageSize, Proposal
from nblabel.sources.exemplar import ExemplarError, ExemplarSource

if TYPE_CHECKING:
    from PIL import Image

    from nblabel.reviewing.editor.loading import SampleState
    from nblabel.reviewing.editor.session import ReviewSession

__all__ = ["ExemplarAssist"]

log = logging.getLogger(__name__)


class ExemplarAssist:
    """Exemplar proposals for a review session (see the module doc)."""

    def __init__(self, source: ExemplarSource | None = None, *, min_exemplars: int = 2,
                 overlap: float = 0.3, live: bool = False) -> None:
        self.source = source or ExemplarSource(name="assistant")
        #: Show its proposals before it has measured itself (live help on the first image,
        #: at the risk of costing more than drawing there); by default they stay hidden until
        #: a finished image shows they save time (:mod:`nblabel.reviewing.image.worth`).
        self.live = live
        self.min_exemplars = min_exemplars
        #: Proposals overlapping a decided box by more than this IoU are not proposed.
        self.overlap = overlap
        self._used: set[str] = set()  # decision keys already taken as exemplars
        #: Samples proposed on when loaded, with the version of what was learned then.
        self._done: dict[str, int] = {}
        self._version = 0  # grows with every image learned from
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nblabel-assist")
        #: The image worked on last, and its pixel features once computed: every drawn box
        #: on an image would otherwise read and filter it again.
        self._last: tuple[str, Image.Image, Any] | None = None
        #: The last error (an exemplar outside the image, a failed fit), for the widget.
        self.error: str | None = None
        #: Per sample, the proposals as first made on it and the boxes decided then: what the
        #: assistant is measured on when the image is finished (later ones learned from it).
        self._first: dict[str, tuple[list[Proposal], list[Box]]] = {}

    @property
    def name(self) -> str:
        return self.source.name

    def _drawn(self, session: ReviewSession, sample_id: str) -> list[tuple[str, str, Box]]:
        return [(k, d.label, d.box) for k, d in session.decisions(sample_id).items()
                if d.action in (Action.ADDED, Action.EDITED, Action.ACCEPTED)
                and d.box is not None and d.label]

    def _image(self, state: SampleState) -> Image.Image:
        """The sample's image, read once while it is the one worked on (holds the lock)."""
        if self._last is None or self._last[0] != state.sample_id:
            self._last = (state.sample_id, load_rgb(state.filepath), None)
        return self._last[1]

    def _features(self, state: SampleState, image: Image.Image) -> Any:
        """:func:`~nblabel.sources.exemplar.pixel_features` of the image, computed once."""
        from nblabel.sources.exemplar import pixel_features, rgb_array

        if self._last is None or self._last[0] != state.sample_id:
            self._last = (state.sample_id, image, None)
        if self._last[2] is None:
            self._last = (state.sample_id, image, pixel_features(rgb_array(image)))
        return self._last[2]

    def _learn(self, session: ReviewSession, state: SampleState, image: Image.Image,
               background: bool = False) -> None:
        """Take the image's decided boxes not yet used as exemplars; with ``background``
        (the image is fully reviewed) also learn its background. Holds the lock."""
        drawn = self._drawn(session, state.sample_id)
        fresh = [(k, label, box) for k, label, box in drawn if k not in self._used]
        if not fresh and not background:
            return
        feats = self._features(state, image)
        boxes = [b for _, _, b in drawn]
        for k, label, box in fresh:
            self._used.add(k)
            try:
                self.source.add(image, label, box, f"sample {state.sample_id}", boxes, feats)
            except ExemplarError as exc:
                self.error = str(exc)
                log.warning("%s", exc)
        if background and boxes:
            self.source.add_background(image, boxes, feats)
        self._version += 1

    def _propose(self, session: ReviewSession, state: SampleState) -> int:
        """Learn from the image's decided boxes, then replace this source's proposals on it."""
        from nblabel.preannotation import replace_proposals

        decided = session.decisions(state.sample_id)
        with self._lock:
            image = self._image(state)
            self._learn(session, state, image)
            if not self.source.exemplars:
                return 0
            result = self.source.propose([image])[0]
        if isinstance(result, Exception):
            self.error = str(result)
            return 0
        taken = [d.box for d in decided.values() if d.box is not None]
        new = [p for p in result if all(p.box.iou(b) <= self.overlap for b in taken)]
        if not decided or state.sample_id not in self._first:  # made before any decision
            self._first[state.sample_id] = (new, taken)
            while len(self._first) > 512:
                self._first.pop(next(iter(self._first)))
        return replace_proposals(session.dataset, state.sample_id, session.field,
                                 ImageSize(image.width, image.height), new, source=self.source.name,
                                 decided=set(decided))

    # -- hooks the widget calls ----------------------------------------------------------------

    def after_decision(self, session: ReviewSession, state: SampleState,
                       done: Callable[[int], None]) -> Future[int] | None:
        """After a box was drawn on ``state``'s image: with enough drawn boxes, propose again
        on it in the background and call ``done(n)`` with the number proposed."""
        if state.size is None or any(p.source != self.name for p in state.proposals):
            return None  # a model's image: its proposals are what the reviewer checks
        if len(self._drawn(session, state.sample_id)) < self.min_exemplars:
            return None

        def job() -> int:
            try:
                n = self._propose(session, state)
            except Exception as exc:  # an assistant's failure must not stop the review
                self.error = f"exemplar proposals failed on sample {state.sample_id}: {exc}"
                log.warning("%s", self.error)
                n = -1
            done(n)
            return n

        return self._pool.submit(job)

    def before_load(self, session: ReviewSession, state: SampleState) -> bool:
        """Propose on an image with nothing proposed, or only this assistant's undecided
        proposals from before it last learned; True when it wrote some."""
        if (state.size is None or state.unusable or not self.source.exemplars
                or any(p.source != self.name for p in state.proposals)
                or self._done.get(state.sample_id) == self._version
                or session.decisions(state.sample_id)):
            return False
        self._done[state.sample_id] = self._version
        try:
            return self._propose(session, state) > 0
        except Exception as exc:  # an assistant's failure must not stop the review
            self.error = f"exemplar proposals failed on sample {state.sample_id}: {exc}"
            log.warning("%s", self.error)
            return False

    def first(self, sample_id: str) -> tuple[list[Proposal], list[Box]] | None:
        """The proposals first made on ``sample_id`` and the boxes decided before them."""
        return self._first.get(sample_id)

    def left(self, session: ReviewSession, state: SampleState,
             kept: Sequence[tuple[str, Box]], then: Callable[[], None] = lambda: None
             ) -> Future[None] | None:
        """The reviewer left ``state``'s image finished with the ``kept`` labels: its kept
        boxes become exemplars, the rest of it background, and its first proposals that were
        not kept hard negatives (in the background), then ``then()`` (the widget proposes
        again on the images ahead)."""
        if state.size is None or any(p.source != self.name for p in state.proposals):
            return None
        if not session.progress.counted(state.sample_id):
            return None
        first = self._first.pop(state.sample_id, None)

        def job() -> None:
            from nblabel.core.cost import replay

            try:
                with self._lock:
                    image = self._image(state)
                    self._learn(session, state, image, background=True)
                    if first is not None and first[0]:
                        missed = replay(first[0], kept).rejected
                        self.source.add_negatives(image, [p.box for p in missed],
                                                  [b for _, b in kept],
                                                  self._features(state, image))
                then()
            except Exception as exc:  # an assistant's failure must not stop the review
                self.error = f"learning from sample {state.sample_id} failed: {exc}"
                log.warning("%s", self.error)

        return self._pool.submit(job)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

