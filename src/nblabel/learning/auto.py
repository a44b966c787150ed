"""Training by itself as the review goes on: :class:`AutoTrainer` starts a learning round after
every few reviewed images and says where training stands and which help pays."""

from __future__ import annotations

from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nblabel.learning.loop import LearningLoop, ModelVersion

__all__ = ["AutoTrainer"]


class AutoTrainer:
    """Starts :meth:`LearningLoop.start_round` by itself as the review goes on: after the first
    ``first`` reviewed images, then every ``every`` more, one round at a time, never blocking the
    review (rounds run in the background; a round asked for while one runs waits for the next
    count). Status is in :attr:`status` and the widget's notice; :meth:`stop` ends it (a round
    already running finishes).

    ``first=4, every=4``: in ``bench/cold_start.py`` a model trained on 4 reviewed tiles
    already proposes usefully on some families. Whether a round's model proposes is decided by
    its measured cost on held-out reviewed images against the assistant's
    (:meth:`LearningLoop.start_round`), not by a fixed mAP; ``min_map50`` adds a bar (none by
    default). :attr:`status` says where training stands and which sources of help pay.
    """

    def __init__(self, loop: LearningLoop, widget: Any, *, first: int = 4, every: int = 4,
                 min_map50: float = 0.0) -> None:
        if first < 1 or every < 1:
            raise ValueError(f"first and every must be at least 1, got {first} and {every}")
        self.loop = loop
        self.widget = widget
        self.every = every
        self.min_map50 = min_map50
        self.next_at = first
        self.rounds: list[Future[tuple[ModelVersion, list[str]]]] = []
        self.stopped = False
        self._status = f"first model after {first} reviewed images"
        widget.observe(self._reviewed, names="reviewed")

    @property
    def status(self) -> str:
        """Where training stands, then each source of help's measured state (a source that
        stepped back says so and why)."""
        worth = getattr(self.widget, "help_status", None) or {}
        parts = [f"{s}: {v.get('state')}" + (f" ({v['saving']:+.0%})"
                                             if v.get("saving") is not None else "")
                 for s, v in worth.items()]
        return self._status + (f"; help: {', '.join(parts)}" if parts else "")

    @property
    def sources(self) -> dict[str, dict[str, Any]]:
        """Each source of help's measured worth (the widget's ``help_status``)."""
        return dict(getattr(self.widget, "help_status", None) or {})

    @property
    def running(self) -> bool:
        return bool(self.rounds) and not self.rounds[-1].done()

    def _reviewed(self, change: dict[str, Any]) -> None:
        count = int(change["new"])
        if self.stopped or count < self.next_at or self.running:
            return
        self.next_at = count + self.every
        self._status = f"training round {len(self.loop.versions) + 1} on {count} reviewed images"
        future = self.loop.start_round(self.widget, min_map50=self.min_map50)
        future.add_done_callback(self._done)
        self.rounds.append(future)

    def _done(self, future: Future[tuple[ModelVersion, list[str]]]) -> None:
        exc = future.exception()
        if exc is not None:
            self._status = f"training failed: {exc}"
            return
        version, proposed = future.result()
        self._status = (f"model round {version.round} ready (mAP50 "
                        f"{version.metrics.get('map50', 0.0):.2f}"
                        + ("" if proposed else ", not proposing: it did not pay")
                        + f"); next after {self.next_at} reviewed images")

    def stop(self) -> None:
        """No more rounds (one running finishes and still proposes)."""
        self.stopped = True
        self.widget.unobserve(self._reviewed, names="reviewed")
        self._status = "stopped"
        self.widget.notice = "automatic training stopped"
