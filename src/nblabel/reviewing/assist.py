"""Live help while labeling from scratch: boxes the reviewer draws become exemplars, and similar
objects are proposed on the image on screen and on the next ones.

:class:`ExemplarAssist` keeps an :class:`~nblabel.sources.ExemplarSource`. Once an image has
``min_exemplars`` drawn boxes, every further drawn box refits it and its proposals on that
image are replaced (the reviewer's decisions are never touched): in a background thread, so
drawing never waits. An image reached later that has no proposals gets the exemplars'
proposals when it is loaded (usually ahead, by the prefetch). Images with proposals of another
source (a model, an import) are left alone. When the reviewer leaves an image with everything on
it decided, its boxes become exemplars and the rest of it background (a reviewed image has every
object boxed), and the images ahead not yet shown are proposed on again: the proposals get
better image after image (``bench/cold_start.py``). Proposals are stored in the proposals field
like any source's (``source`` is ``"exemplars"``), so they are reviewed and measured like a
model's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from nblabel.core.images import load_rgb
from nblabel.core.labels import Action, Box, ImageSize
from nblabel.sources.exemplar import ExemplarError, ExemplarSource

if TYPE_CHECKING:
    from PIL import Image

    from nblabel.reviewing.loading import SampleState
    from nblabel.reviewing.session import ReviewSession

__all__ = ["ExemplarAssist"]

log = logging.getLogger(__name__)


class ExemplarAssist:
    """Exemplar proposals for a review session (see the module doc)."""

    def __init__(self, source: ExemplarSource | None = None, *, min_exemplars: int = 2,
                 overlap: float = 0.3) -> None:
        self.source = source or ExemplarSource()
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
        return replace_proposals(session.dataset, state.sample_id, session.predictions_field,
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

    def left(self, session: ReviewSession, state: SampleState,
             then: Callable[[], None] = lambda: None) -> Future[None] | None:
        """The reviewer left ``state``'s image: when every proposal on it is decided, its
        decided boxes become exemplars and the rest of it background (in the background),
        then ``then()`` (the widget proposes again on the images ahead)."""
        if state.size is None or any(p.source != self.name for p in state.proposals):
            return None
        decided = session.decisions(state.sample_id)
        if not decided or not state.proposal_ids <= set(decided):
            return None

        def job() -> None:
            try:
                with self._lock:
                    self._learn(session, state, self._image(state), background=True)
                then()
            except Exception as exc:  # an assistant's failure must not stop the review
                self.error = f"learning from sample {state.sample_id} failed: {exc}"
                log.warning("%s", self.error)

        return self._pool.submit(job)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

