"""Fault injection for the fault tests and ``bench/chaos.py``: reviewers killed at random
moments, a database stopped or frozen mid-session, several reviewer processes at once, and the
check that the team's state in FiftyOne is the one the journals say.

Run as ``python -m tests.harness.faults <command> <json args>``; each command prints one JSON line.
The dataset used is any FiftyOne dataset with proposals in ``predictions`` on readable images.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["check_team_state", "kill_loop", "make_dataset", "review_process"]


def make_dataset(name: str, folder: Path, n_images: int, seed: int = 0,
                 max_objects: int = 4) -> Any:
    """A dataset of generated images whose proposals are their objects plus one spurious box."""
    import fiftyone as fo

    from nblabel.demo.synthetic import make_shapes

    images = make_shapes(folder, n_images, seed=seed, max_objects=max_objects)
    ds = fo.Dataset(name)
    ds.add_samples([
        fo.Sample(filepath=str(img.path), predictions=fo.Detections(detections=[
            fo.Detection(label=label, bounding_box=box.to_relative(img.size),
                         confidence=round(0.9 - 0.1 * i, 2))
            for i, (label, box) in enumerate(img.objects)
        ] + [fo.Detection(label="circle", bounding_box=[0.02, 0.02, 0.1, 0.1],
                          confidence=0.15)]))
        for img in images
    ], progress=False)
    return ds


def _random_decisions(session: Any, rng: random.Random, report: int, count: int) -> None:
    """Decide at random on random images, writing each decision id once it is journaled."""
    from nblabel.core.labels import Box

    for _ in range(count):
        sid = rng.choice(session.queue)
        state = session.load(sid)
        roll = rng.random()
        if roll < 0.08:
            session.undo()
            continue
        if roll < 0.12:
            session.complete(sid, 1.0)
            continue
        if roll < 0.2 or not state.proposals:
            d = session.add(state, "triangle", Box(rng.uniform(0, 40), rng.uniform(0, 40), 20, 20))
        else:
            p = rng.choice(state.proposals)
            action = rng.choice(["accepted", "accepted", "rejected", "edited"])
            box = Box(p.box.x + 1, p.box.y, p.box.w, p.box.h) if action == "edited" else None
            d = session.decide(state, p.id, action, label="square" if box else None, box=box)
        os.write(report, f"{d.id}\n".encode())


def kill_loop(dataset: str, journal: str, report_file: str, kills: int, seed: int = 0,
              min_s: float = 0.05, max_s: float = 1.2) -> dict[str, Any]:
    """Fork a reviewing process ``kills`` times and SIGKILL it at a random moment (while it
    opens its session, syncs, or journals a decision). Each child reports every decision
    that returned to it in ``report_file``. Forking from this already-imported process makes
    each kill cheap; children connect to the database themselves."""
    import fiftyone as fo

    from nblabel.reviewing.editor.session import ReviewSession

    rng = random.Random(seed)
    done = 0
    for k in range(kills):
        delay = rng.uniform(min_s, max_s)
        pid = os.fork()
        if pid == 0:  # the reviewer
            code = 0
            try:
                fd = os.open(report_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                session = ReviewSession(fo.load_dataset(dataset), reviewer=f"r{k % 3}",
                                        journal=journal)
                _random_decisions(session, random.Random(seed * 1000 + k), fd, 10_000)
            except BaseException as exc:
                print(f"reviewer {k} failed: {exc!r}", file=sys.stderr, flush=True)
                code = 1
            os._exit(code)
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        done += 1
    return {"kills": done}


def review_process(dataset: str, journal: str, reviewer: str, mode: str,
                   gt_field: str = "ground_truth", seed: int = 0) -> dict[str, Any]:
    """One team member reviewing with the widget's navigation (claims, skips), as a person
    would: on each image accept the confident boxes, reject the rest, move on."""
    import fiftyone as fo

    from nblabel.reviewing.editor.session import ReviewSession
    from nblabel.reviewing.image.widget import ReviewWidget

    rng = random.Random(seed)
    kwargs: dict[str, Any] = {"claims": mode == "claims"}
    if mode == "consensus":
        kwargs = {"consensus": 2}
    session = ReviewSession(fo.load_dataset(dataset), reviewer=reviewer, journal=journal,
                            gt_field=gt_field, **kwargs)
    widget = ReviewWidget(session)
    reviewed: list[str] = []
    while True:
        state = widget.state
        if state is not None and widget.taken is None and not session.decisions(state.sample_id):
            for row in list(widget.boxes):
                action = "accepted" if (row["confidence"] or 0) >= 0.5 else "rejected"
                if rng.random() < 0.2:
                    action = "rejected" if action == "accepted" else "accepted"
                widget.decide(row["key"], action)
            reviewed.append(state.sample_id)
        before = widget.position
        widget.go(1)
        if widget.position == before:
            break
    widget.close()
    return {"reviewer": reviewer, "reviewed": reviewed}


def check_team_state(dataset: Any, journals: Iterable[str | os.PathLike[str]],
                     gt_field: str = "ground_truth", per_journal_truth: bool = False
                     ) -> dict[str, Any]:
    """Compare FiftyOne with the journals: each proposal's review attributes against the latest
    decision over all journals, ground-truth labels (none missing, none duplicated) and the
    ``reviewed`` tag against :func:`nblabel.core.rules.is_complete`."""
    from datetime import timezone

    from nblabel.core.labels import IMAGE_LABEL_KEY, Action
    from nblabel.core.rules import is_complete
    from nblabel.store.journal import DecisionJournal
    from nblabel.store.schema import COMPLETED_FIELD, REVIEWED_TAG

    def at(d: Any) -> Any:
        t = d.decided_at.astimezone(timezone.utc).replace(tzinfo=None)
        return t.replace(microsecond=t.microsecond // 1000 * 1000)

    name = dataset.name
    latest: dict[tuple[str, str], tuple[Any, str, Any]] = {}
    own: dict[str, dict[str, Any]] = {}
    completed: set[str] = set()
    for path in journals:
        with DecisionJournal(path) as j:
            jid = j.journal_id
            for sid, per_key in j.latest_decisions(name).items():
                for key, d in per_key.items():
                    if d.kind != "box" or key == IMAGE_LABEL_KEY:
                        continue
                    if d.proposal is None:  # a drawn box: its journal's
                        if d.action is not Action.CLEARED:
                            own.setdefault(sid, {})[f"{jid}:{key}"] = d
                        continue
                    cand = (at(d), jid, d)
                    if d.action is Action.CLEARED:
                        continue
                    if (sid, key) not in latest or cand[:2] > latest[(sid, key)][:2]:
                        latest[(sid, key)] = cand
            completed |= set(j.completions(name))
    dataset.reload()
    ids, preds, gts, tags, done_field = dataset.values(
        ["id", "predictions", gt_field, "tags", COMPLETED_FIELD])
    stale = missing = duplicated = wrong_tags = 0
    for sid, p, g, t, comp in zip(ids, preds, gts, tags, done_field, strict=True):
        proposals = p.detections if p is not None else []
        decided = set()
        for det in proposals:
            want = latest.get((sid, det.id))
            got = det.get_field("review") if det.has_field("review") else None
            if want is None:
                stale += got is not None
                continue
            decided.add(det.id)
            stale += got != want[2].action.value
        labels = g.detections if g is not None else []
        if not per_journal_truth:
            kept = {det.id for det in proposals
                    if (sid, det.id) in latest and latest[(sid, det.id)][2].keeps_label}
            got_ids = [x.proposal_id for x in labels if x.get_field("proposal_id")]
            duplicated += len(got_ids) - len(set(got_ids))
            missing += len(kept - set(got_ids))
            stale += len(set(got_ids) - kept)
            drawn = sum(1 for x in labels if not x.get_field("proposal_id"))
            missing += max(0, len(own.get(sid, {})) - drawn)
            duplicated += max(0, drawn - len(own.get(sid, {})))
        want_tag = is_complete({d.id for d in proposals}, decided,
                               completed=bool(comp) or sid in completed)
        wrong_tags += want_tag != (REVIEWED_TAG in (t or []))
    return {"stale_attributes": stale, "missing_labels": missing, "duplicated": duplicated,
            "wrong_tags": wrong_tags}


def main(argv: list[str]) -> None:
    command, args = argv[0], json.loads(argv[1])
    functions: dict[str, Any] = {"kill-loop": kill_loop, "review": review_process}
    print(json.dumps(functions[command](**args)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])


@contextlib.contextmanager
def readonly_journal(journal: Any) -> Iterator[None]:
    """The journal refuses every write while inside (SQLite's ``query_only``: writes fail as on
    a read-only file), and takes writes again after."""
    conn = journal._conn  # fault injection: the one place tests reach into the journal
    conn.execute("PRAGMA query_only = ON")
    try:
        yield
    finally:
        conn.execute("PRAGMA query_only = OFF")
