"""Team review against a real mongod: two writer processes, claims, consensus merge."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import fiftyone as fo
import pytest

from nblabel.core.labels import Box
from nblabel.curation.consensus import merge_consensus, merge_image
from nblabel.reviewing.editor.session import ReviewSession
from nblabel.reviewing.image.widget import ReviewWidget
from nblabel.store.journal import DecisionJournal
from nblabel.store.sync import REVIEWERS_FIELD, label_id_for_key


@pytest.fixture
def team_dataset(tmp_path: Path):
    from tests.harness.faults import make_dataset

    ds = make_dataset(f"team-{uuid.uuid4().hex[:8]}", tmp_path / "images", 24, seed=5)
    yield ds
    if fo.dataset_exists(ds.name):
        ds.delete()


_WRITER = textwrap.dedent("""
    import json, sys
    import fiftyone as fo
    from nblabel.reviewing.editor.session import ReviewSession
    from nblabel.core.labels import Box

    name, reviewer, journal, ids = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    session = ReviewSession(fo.load_dataset(name), reviewer=reviewer, journal=journal,
                            queue=ids)
    for i, sid in enumerate(ids):
        state = session.load(sid)
        for j, p in enumerate(state.proposals):
            if p.confidence < 0.2:
                session.decide(state, p.id, "rejected", seconds_on_image=1.0)
            elif j % 2 and reviewer == "bob":
                session.decide(state, p.id, "edited", label="square",
                               box=Box(p.box.x + 1, p.box.y, p.box.w, p.box.h),
                               seconds_on_image=2.0)
            else:
                session.decide(state, p.id, "accepted", seconds_on_image=1.5)
        session.add(state, "triangle", Box(10 + i, 10, 20, 20), seconds_on_image=3.0)
    session.close()
    print("done", reviewer)
""")


def test_two_writer_processes_lose_no_decision(team_dataset, tmp_path):
    ds = team_dataset
    ids = ds.values("id")
    # ann takes the first two thirds, bob the last two thirds: a third reviewed by both.
    plan = {"ann": ids[:16], "bob": ids[8:]}
    procs = {
        r: subprocess.Popen(
            [sys.executable, "-c", _WRITER, ds.name, r, str(tmp_path / f"{r}.sqlite"),
             json.dumps(mine)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
        for r, mine in plan.items()
    }
    for r, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0 and f"done {r}" in out, err[-3000:]

    ds.reload()
    gt = {sid: (dets.detections if dets else [])
          for sid, dets in zip(*ds.values(["id", "ground_truth"]), strict=True)}
    reviewers = dict(zip(*ds.values(["id", REVIEWERS_FIELD]), strict=True))
    latest: dict[tuple[str, str], object] = {}
    for r in plan:
        with DecisionJournal(tmp_path / f"{r}.sqlite") as journal:
            for sid, decisions in journal.final_decisions(ds.name).items():
                for k, d in decisions.items():
                    if (sid, k) not in latest or latest[(sid, k)].decided_at < d.decided_at:
                        latest[(sid, k)] = d
    for r, mine in plan.items():
        with DecisionJournal(tmp_path / f"{r}.sqlite") as journal:
            final = journal.final_decisions(ds.name)
            jid = journal.journal_id
        assert set(final) == set(mine)
        for sid, decisions in final.items():
            # Where both decided a proposal, the later decision stands (for both journals).
            kept = {label_id_for_key(ds.name, sid, k, jid): d
                    for k, d in decisions.items() if d.keeps_label
                    and latest.get((sid, k), d).decided_at <= d.decided_at}
            landed = {d.id: d for d in gt[sid] if d.reviewer == r}
            assert set(landed) == set(kept), (r, sid)  # every kept decision, attributed to r
            for lid, det in landed.items():
                assert det.label == kept[lid].label and det.review == kept[lid].action.value
            assert r in reviewers[sid]
    # Shared images: each proposal's label comes from the reviewer who decided it last, the
    # boxes both drew by hand are both kept, all with distinct ids.
    for sid in ids[8:16]:
        assert {d.reviewer for d in gt[sid]} == {"ann", "bob"}
        assert sorted(reviewers[sid]) == ["ann", "bob"]
        assert len({d.id for d in gt[sid]}) == len(gt[sid])
        per_proposal = [d.proposal_id for d in gt[sid] if d.proposal_id]
        assert len(per_proposal) == len(set(per_proposal))
    edited = ds.filter_labels("ground_truth", fo.ViewField("review") == "edited")
    assert set(edited.values("ground_truth.detections.reviewer", unwind=True)) == {"bob"}


def test_claims_keep_two_reviewers_apart(team_dataset, tmp_path):
    ds = team_dataset
    ann = ReviewSession(ds, reviewer="ann", journal=tmp_path / "ann.sqlite")
    bob = ReviewSession(ds, reviewer="bob", journal=tmp_path / "bob.sqlite")
    first, second, third = ann.queue[:3]
    assert ann.team.claim(first) is None
    assert bob.team.claim(first) == "ann"  # held: one atomic update decides
    assert ann.team.claim(first) is None  # renewing one's own claim
    assert bob.team.taken_by_others([first, second]) == {first: "ann is reviewing it"}

    # bob's widget opens on the first image nobody else holds, and says what it skipped.
    widget = ReviewWidget(bob)
    assert widget.sample_id == second and "skipped 1 image(s) (ann is reviewing it)" in \
        widget.message
    assert ann.team.claim(second) == "bob"
    state = ann.load(third)
    assert ann.team.claim(third) is None
    for p in state.proposals:
        ann.decide(state, p.id, "accepted")
    ann.team.release(third)
    # A claim is given up only once the image's decisions are synced: until then it is held.
    assert bob.team.taken_by_others([third]) == {third: "ann is reviewing it"}
    ann.flush()  # syncs, then releases
    assert bob.team.taken_by_others([third]) == {third: "reviewed by ann"}
    widget.go(1)  # third: reviewed by ann -> skipped
    assert widget.sample_id == ann.queue[3] and widget.message.startswith("skipped 1 image")
    assert "reviewed by ann" in widget.message
    ann.team.release(first)
    ann.flush()
    widget.go(-1)  # back past the third to the second (bob's own)
    assert widget.sample_id == second
    widget.go(-1)  # and to the first, no longer claimed
    assert widget.sample_id == first
    widget.close()
    ann.close()


def test_widget_says_when_nothing_is_left_for_this_reviewer(team_dataset, tmp_path):
    ds = team_dataset
    ann = ReviewSession(ds, reviewer="ann", journal=tmp_path / "ann.sqlite",
                        queue=ds.values("id")[:3])
    bob = ReviewSession(ds, reviewer="bob", journal=tmp_path / "bob.sqlite",
                        queue=ann.queue)
    for sid in ann.queue:
        assert ann.team.claim(sid) is None
    widget = ReviewWidget(bob)  # every image is held by ann
    assert widget.taken == "ann is reviewing it", "shown, but not bob's to review"
    assert "no image left for you" in widget.message
    widget.close()
    for sid in ann.queue:
        ann.team.release(sid)
    ann.flush()  # syncs, then releases
    bob2 = ReviewSession(ds, reviewer="bob", journal=tmp_path / "bob.sqlite", queue=ann.queue)
    widget = ReviewWidget(bob2)
    assert widget.taken is None and widget.sample_id == ann.queue[0]
    widget.close()
    ann.close()


def _three_reviewers(ds, tmp_path, k=3):
    sessions = {r: ReviewSession(ds, reviewer=r, journal=tmp_path / f"{r}.sqlite",
                                 gt_field="reviews", consensus=k)
                for r in ("ann", "bob", "cy")}
    return sessions


def test_consensus_merge_by_weighted_majority(team_dataset, tmp_path):
    ds = team_dataset
    sessions = _three_reviewers(ds, tmp_path)
    sid = next(s.id for s in ds if len(s.predictions.detections) >= 3)
    objects = {}
    for r, s in sessions.items():
        state = s.load(sid)
        real = [p for p in state.proposals if p.confidence >= 0.2]
        spurious = next(p for p in state.proposals if p.confidence < 0.2)
        objects = {"real": real[0], "spurious": spurious}
        # Everyone accepts the first real object except cy, who relabels it; only cy keeps
        # the spurious box; ann and bob agree on the rest.
        for p in real:
            if p is real[0] and r == "cy":
                s.decide(state, p.id, "edited", label="star", box=p.box)
            else:
                s.decide(state, p.id, "accepted")
        s.decide(state, spurious.id, "accepted" if r == "cy" else "rejected")
    for s in sessions.values():
        s.close()
    assert sorted(ds[sid][REVIEWERS_FIELD]) == ["ann", "bob", "cy"]
    # In consensus mode other reviewers' work does not take an image away.
    again = ReviewSession(ds, reviewer="dan", journal=tmp_path / "dan.sqlite",
                          gt_field="reviews", consensus=4)
    assert sid in again.queue and again.team.taken_by_others([sid]) == {}
    again.close()
    full = ReviewSession(ds, reviewer="dan", journal=tmp_path / "dan.sqlite",
                         gt_field="reviews", consensus=3)
    assert sid not in full.queue  # three reviewers already
    full.close()

    report = merge_consensus(ds, "reviews", "ground_truth", min_reviewers=3)
    assert report.merged_samples == 1 and report.skipped_samples == len(ds) - 1
    ds.reload()
    sample = ds[sid]
    merged = sample.ground_truth.detections
    n_real = len([d for d in sample.predictions.detections if d.confidence >= 0.2])
    assert len(merged) == n_real  # the spurious box is out (1 of 3 votes)
    real0 = next(d for d in sample.predictions.detections if d.id == objects["real"].id)
    first = max(merged, key=lambda d: _iou(d.bounding_box, real0.bounding_box))
    assert first.label == real0.label and first.votes == 3 and first.support == 1.0
    assert "star" not in {d.label for d in merged}
    assert report.objects_dropped == 1
    # Agreement: cy disagrees on two objects, ann and bob on none.
    agreement = sample["nblabel_reviewer_agreement"]
    assert agreement["ann"] == agreement["bob"] == 1.0
    assert agreement["cy"] == pytest.approx((n_real + 1 - 2) / (n_real + 1))
    assert sample["nblabel_agreement"] == pytest.approx(
        (3 * (n_real + 1) - 2) / (3 * (n_real + 1)))
    assert ds.info["nblabel_reviewer_agreement"]["cy"] < 1.0
    assert "consensus" in sample.tags

    # Weighted: cy counting more than the two others together wins the spurious box and the
    # label; weights from agreement count cy less.
    heavy = merge_consensus(ds, "reviews", "ground_truth", min_reviewers=3,
                            weights={"cy": 3.0})
    ds.reload()
    assert heavy.objects_kept == n_real + 1
    assert "star" in {d.label for d in ds[sid].ground_truth.detections}
    auto = merge_consensus(ds, "reviews", "ground_truth", min_reviewers=3, weights="agreement")
    assert auto.weights["cy"] < auto.weights["ann"]


def _iou(a, b):
    return Box(*a).iou(Box(*b))


def test_merge_image_matches_boxes_by_iou():
    a = (0.1, 0.1, 0.2, 0.2)
    shifted = (0.11, 0.1, 0.2, 0.2)
    far = (0.6, 0.6, 0.2, 0.2)
    objects, counts = merge_image(
        {"ann": [("cat", a)], "bob": [("cat", shifted), ("dog", far)]}, ["ann", "bob", "cy"])
    (kept,) = [o for o in objects if o.kept]
    assert len(objects) == 2
    assert kept.label == "cat" and kept.box == pytest.approx((0.105, 0.1, 0.2, 0.2))
    assert kept.support == pytest.approx(2 / 3)
    # ann agrees on both; bob drew the dropped box; cy missed the kept one.
    assert counts == {"ann": (2, 2), "bob": (1, 2), "cy": (1, 2)}
    # A box below the IoU threshold is another object.
    objects, _ = merge_image({"ann": [("cat", a)], "bob": [("cat", far)]}, ["ann", "bob"])
    assert len(objects) == 2 and not any(o.kept for o in objects)
