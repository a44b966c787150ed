"""In every kind (images, video tracks, keypoints, volume slices, image-level labels), a journal
that cannot be written refuses the decision with the named error (the answer reaches the
browser, which puts back what it painted), nothing decided before is lost, and deciding works
again once the journal takes writes. The same base widget answers every kind
(``reviewing/editor/base.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nblabel.store.journal import DecisionJournal
from tests.harness.faults import readonly_journal
from tests.harness.kinds import KINDS, accept_message, answer_to, build, decided, reject_message


@pytest.mark.parametrize("kind", KINDS)
def test_an_unwritable_journal_is_named_and_loses_nothing(kind: str, tmp_path: Path) -> None:
    made = build(kind, tmp_path)
    journal = DecisionJournal(tmp_path / "journal.sqlite")
    w = made.open(journal)
    sent: list[dict[str, Any]] = []
    w.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]

    w.dispatch(accept_message(w, 1))
    assert answer_to(sent, 1).get("error") is None
    before = decided(w)
    assert list(before.values()) == ["accepted"], before
    in_journal = len(journal.decisions(journal_key(w)) if kind in ("image", "volume") else
                     list(journal.payloads(journal_key(w))))

    with readonly_journal(journal):
        w.dispatch(reject_message(w, 2))
    error = answer_to(sent, 2).get("error")
    assert error and "journal.sqlite" in error and "read" in error, error
    assert "journal.sqlite" in w.message
    assert decided(w) == before, "the refused decision is not applied"

    w.dispatch(reject_message(w, 3))  # the journal takes writes again
    assert answer_to(sent, 3).get("error") is None
    assert "rejected" in decided(w).values()

    reopened = DecisionJournal(tmp_path / "journal.sqlite")
    try:
        again = (len(reopened.decisions(journal_key(w))) if kind in ("image", "volume") else
                 len(list(reopened.payloads(journal_key(w)))))
        assert again > in_journal, "what was decided before and after is on disk"
    finally:
        reopened.close()
        w.close()
        journal.close()


def journal_key(w: Any) -> str:
    from nblabel.store.schema import labels_journal_key, shapes_journal_key, tracks_journal_key

    name = w.session.dataset.name
    if type(w).__name__ == "VideoReviewWidget":
        return tracks_journal_key(name)
    if type(w).__name__ == "LabelReviewWidget":
        return labels_journal_key(name, w.session.field)
    if type(w).__name__ == "ShapeReviewWidget":
        return shapes_journal_key(name, w.session.field)
    return name


def test_image_labels_reopened_after_a_death_between_journal_and_fiftyone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The process dies after the journal write, before FiftyOne's: reopening repairs it."""
    import fiftyone as fo

    from nblabel.reviewing.labels import review as label_review

    made = build("labels", tmp_path)
    journal = DecisionJournal(tmp_path / "journal.sqlite")
    w = made.open(journal)
    first = w.selected

    def died(*args: Any, **kwargs: Any) -> None:
        raise SystemExit("killed between the journal and FiftyOne")

    monkeypatch.setattr(label_review, "write_labels", died)
    with pytest.raises(SystemExit):
        w.session.accept(w.sample_id, first)
    monkeypatch.undo()
    ds = fo.load_dataset(made.dataset)
    assert not any(ds.values("gt_image_labels")), "FiftyOne missed the journaled accept"
    again = made.open(DecisionJournal(tmp_path / "journal.sqlite"))  # reopen
    ds.reload()
    kept = [c.label for s in ds.values("gt_image_labels") if s for c in s.classifications]
    assert len(kept) == 1, kept
    w.close()
    again.close()
