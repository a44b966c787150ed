"""Undo and redo, one history for every kind.

A step is what one key press decided: image decisions (pairs of the key's previous decision and
the new one), the tracks an action changed, the shapes on one image. Undo writes the step back
through the session (journaled, so the journal and FiftyOne always end in the final state); redo
applies it again. A step moves between the stacks only once its write succeeded: an undo the
journal refuses leaves the step where it was, so it can be undone later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from nblabel.core.labels import Decision

__all__ = ["History", "ItemStep", "Step", "redo_items", "undo_items"]

Step = list[tuple[Decision | None, Decision]]
S = TypeVar("S")
T = TypeVar("T")
#: A step of a kind reviewed item by item on one image (shapes, image labels): the image, and
#: each item's state before and after (None: no item).
ItemStep = tuple[str, list[tuple[T | None, T | None]]]
R = TypeVar("R")


@dataclass
class History(Generic[S]):
    """The undo and redo stacks of one review session."""

    undo: list[S] = field(default_factory=list)
    redo: list[S] = field(default_factory=list)

    def done(self, step: S) -> None:
        """A new step was decided: it can be undone, and nothing can be redone."""
        if step:
            self.undo.append(step)
            self.redo.clear()

    def step_back(self, write: Callable[[S], R]) -> R | None:
        """Undo the last step with ``write`` (None when there is none); the step moves to the
        redo stack only after ``write`` returned."""
        if not self.undo:
            return None
        result = write(self.undo[-1])
        self.redo.append(self.undo.pop())
        return result

    def step_forward(self, write: Callable[[S], tuple[R, S]]) -> R | None:
        """Redo the last undone step with ``write``, which returns its result and the step as
        it now stands (to undo again); the step moves only after ``write`` returned."""
        if not self.redo:
            return None
        result, again = write(self.redo[-1])
        self.redo.pop()
        self.undo.append(again)
        return result


def undo_items(history: History[ItemStep[T]],
               commit: Callable[[str, list[tuple[T | None, T | None]]], None]) -> str | None:
    """Undo an item step: ``commit`` writes each item back; returns its image (None: none)."""
    def write(step: ItemStep[T]) -> str:
        sample_id, pairs = step
        commit(sample_id, [(new, old) for old, new in pairs])
        return sample_id

    return history.step_back(write)


def redo_items(history: History[ItemStep[T]],
               commit: Callable[[str, list[tuple[T | None, T | None]]], None]) -> str | None:
    """Redo an item step; returns its image (None: none)."""
    def write(step: ItemStep[T]) -> tuple[str, ItemStep[T]]:
        commit(*step)
        return step[0], step

    return history.step_forward(write)
