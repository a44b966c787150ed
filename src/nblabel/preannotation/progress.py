"""One ``progress`` argument for every pre-annotation run (``preannotate``, every
``preannotate_*`` and ``track_videos``): ``True`` shows a progress bar (tqdm, which draws in a
notebook too), ``False`` nothing, and a function is called as ``progress(done, total)`` (images,
or frames for videos) after each batch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Progress", "ProgressArg"]

ProgressArg = bool | Callable[[int, int], None] | None


class Progress:
    """What a run reports as it goes (see the module doc)."""

    def __init__(self, progress: ProgressArg, total: int, desc: str) -> None:
        from tqdm.auto import tqdm

        self.total, self.done = total, 0
        self._fn = progress if callable(progress) else None
        self._bar: Any = tqdm(total=total, desc=desc,
                              disable=not progress or self._fn is not None)

    def advance(self, n: int) -> None:
        """``n`` more items are done."""
        self.done += n
        self._bar.update(n)
        if self._fn is not None:
            self._fn(self.done, self.total)

    def close(self) -> None:
        self._bar.close()
