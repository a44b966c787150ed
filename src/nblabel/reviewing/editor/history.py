"""Undo and redo of decision steps.

A step is what one key press decided (one decision, or a batch such as "accept all"): pairs of
(the key's previous decision, the new one). Undo journals new decisions restoring the previous
state (so the journal and FiftyOne always end in the final state); redo applies the step again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nblabel.core.labels import Decision

__all__ = ["History", "Step"]

Step = list[tuple[Decision | None, Decision]]


@dataclass
class History:
    """The undo and redo stacks of one review session."""

    undo: list[Step] = field(default_factory=list)
    redo: list[Step] = field(default_factory=list)

    def done(self, step: Step) -> None:
        """A new step was decided: it can be undone, and nothing can be redone."""
        if step:
            self.undo.append(step)
            self.redo.clear()
