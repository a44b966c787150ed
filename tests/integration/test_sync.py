"""Journal -> FiftyOne sync against a real mongod."""

import subprocess
import sys
import textwrap

import fiftyone as fo
from fiftyone import ViewField as F

from nblabel.core.labels import Box
from nblabel.reviewing.editor.session import ReviewSession
from nblabel.store.sync import REVIEWED_TAG, FiftyOneSync


def _snapshot(ds):
    """Everything a sync may write, in a comparable form."""
    docs = []
    for s in ds.select_fields(["predictions", "ground_truth", "tags"]).iter_samples():
        d = s.to_dict()
        d.pop("_id", None)
        d.pop("last_modified_at", None)  # bookkeeping: rewriting equal values touches it
        docs.append(d)
    return docs


def test_decisions_land_with_review_attributes(shapes_dataset, journal):
    ds = shapes_dataset
    session = ReviewSession(ds, journal=journal, reviewer="ann")
    first = session.load(session.queue[0])
    keep, drop = first.proposals[0], first.proposals[-1]
    session.decide(first, keep.id, "accepted", seconds_on_image=2.5)
    session.decide(first, drop.id, "rejected", seconds_on_image=3.0)
    session.flush()

    rejected = ds.filter_labels("predictions", F("review") == "rejected")
    assert rejected.values("predictions.detections.id", unwind=True) == [drop.id]
    accepted = ds.filter_labels("predictions", F("review") == "accepted")
    assert accepted.values("predictions.detections.id", unwind=True) == [keep.id]
    assert accepted.values("predictions.detections.reviewer", unwind=True) == ["ann"]
    assert accepted.values("predictions.detections.reviewed_at", unwind=True)[0] is not None
    # Filters by confidence compose with the review attribute as a user expects.
    low = ds.filter_labels("predictions", (F("confidence") < 0.5) & (F("review") == "rejected"))
    assert low.count("predictions.detections") == 1

    sample = ds[first.sample_id]
    (gt,) = sample.ground_truth.detections
    assert gt.label == keep.label and gt.review == "accepted" and gt.reviewer == "ann"
    assert gt.proposal_id == keep.id and gt.seconds_on_image == 2.5
    assert Box.from_relative(gt.bounding_box, first.size) == keep.box
    undecided = first.proposals[1:-1]
    assert (REVIEWED_TAG in sample.tags) == (not undecided)


def test_edit_add_and_reviewed_tag(shapes_dataset, journal):
    ds = shapes_dataset
    session = ReviewSession(ds, journal=journal, reviewer="bob")
    state = session.load(session.queue[1])
    p = state.proposals[0]
    session.decide(state, p.id, "edited", label="square", box=Box(1, 2, 30, 40))
    session.add(state, "triangle", Box(100, 100, 50, 50))
    for other in state.proposals[1:]:
        session.decide(state, other.id, "rejected")
    session.flush()
    sample = ds[state.sample_id]
    got = sorted((d.label, d.review) for d in sample.ground_truth.detections)
    assert got == [("square", "edited"), ("triangle", "added")]
    edited = next(d for d in sample.ground_truth.detections if d.review == "edited")
    assert Box.from_relative(edited.bounding_box, state.size) == Box(1, 2, 30, 40)
    assert REVIEWED_TAG in sample.tags
    assert ds.match_tags(REVIEWED_TAG).count() == 1
    assert session.progress.count() == 1
    assert session.progress.is_reviewed(state.sample_id)
    assert not session.progress.is_reviewed(session.queue[0])


def test_changed_mind_replaces_ground_truth(shapes_dataset, journal):
    ds = shapes_dataset
    session = ReviewSession(ds, journal=journal)
    state = session.load(session.queue[0])
    p = state.proposals[0]
    session.decide(state, p.id, "accepted")
    session.flush()
    session.decide(state, p.id, "rejected")
    session.flush()
    sample = ds[state.sample_id]
    assert sample.ground_truth.detections == []
    assert ds.filter_labels("predictions", F("review") == "rejected").count(
        "predictions.detections") == 1


def test_sync_is_idempotent(shapes_dataset, journal):
    ds = shapes_dataset
    session = ReviewSession(ds, journal=journal)
    for sid in session.queue[:3]:
        state = session.load(sid)
        for i, p in enumerate(state.proposals):
            session.decide(state, p.id, "accepted" if i % 2 == 0 else "rejected")
    session.flush()
    before = _snapshot(ds)
    sync = FiftyOneSync(ds, journal)
    report = sync.sync()
    assert report.samples == 0, "nothing new to sync"
    sync.sync(full=True)
    sync.sync(full=True)
    assert _snapshot(ds) == before


def test_existing_ground_truth_is_kept(shapes_dataset, journal):
    ds = shapes_dataset
    sid = ds.first().id
    ds.set_values("ground_truth", {sid: fo.Detections(detections=[
        fo.Detection(label="imported", bounding_box=[0.1, 0.1, 0.2, 0.2])])}, key_field="id")
    session = ReviewSession(ds, journal=journal)
    state = session.load(sid)
    session.decide(state, state.proposals[0].id, "accepted")
    session.flush()
    labels = sorted(d.label for d in ds[sid].ground_truth.detections)
    assert "imported" in labels and len(labels) == 2
    FiftyOneSync(ds, journal).sync(full=True)
    assert len(ds[sid].ground_truth.detections) == 2


def test_kernel_killed_before_sync_loses_nothing(shapes_dataset, tmp_path):
    """A process journals a decision and is SIGKILLed before its sync thread runs; the next
    session finds the decision and syncs it on start."""
    ds = shapes_dataset
    journal_path = tmp_path / "crash.sqlite"
    code = textwrap.dedent(f"""
        import os, signal
        import fiftyone as fo
        from nblabel.reviewing.editor.session import ReviewSession
        ds = fo.load_dataset({ds.name!r})
        s = ReviewSession(ds, journal={str(journal_path)!r}, reviewer="crash", autosync=False)
        st = s.load(s.queue[2])
        s.decide(st, st.proposals[0].id, "rejected")
        print(st.proposals[0].id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == -9, proc.stderr
    label_id = proc.stdout.split()[-1]
    assert ds.filter_labels("predictions", F("review") == "rejected").count(
        "predictions.detections") == 0, "not synced before the crash"
    session = ReviewSession(ds, journal=journal_path)
    session.flush()
    rejected = ds.filter_labels("predictions", F("review") == "rejected")
    assert rejected.values("predictions.detections.id", unwind=True) == [label_id]
    assert rejected.values("predictions.detections.reviewer", unwind=True) == ["crash"]
