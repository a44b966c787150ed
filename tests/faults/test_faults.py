"""Fault tests: reviewers killed at random moments, the database stopped or frozen mid-session,
four reviewer processes at once, three sessions in one process declaring fields at once.

Each is bounded in time (a few to a few tens of seconds) and checks outcomes, never timings,
except that a decision returns while the database is frozen at all (a hang would time out).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import uuid
from pathlib import Path

import fiftyone as fo
import pytest

from nblabel.reviewing.editor.session import ReviewSession
from nblabel.store.journal import DecisionJournal
from tests.harness.faults import check_team_state, make_dataset

pytestmark = pytest.mark.fiftyone
ROOT = Path(__file__).resolve().parents[2]  # python -m tests.harness.faults runs from here


def _run(command: str, args: dict[str, object], env: dict[str, str] | None = None,
         timeout: float = 240) -> dict[str, object]:
    proc = subprocess.run([sys.executable, "-m", "tests.harness.faults", command, json.dumps(args)],
                          capture_output=True, text=True, timeout=timeout,
                          env=env or dict(os.environ), cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


@pytest.fixture
def small_dataset(tmp_path: Path):
    ds = make_dataset(f"faults-{uuid.uuid4().hex[:8]}", tmp_path / "images", 12, seed=3)
    yield ds
    if fo.dataset_exists(ds.name):
        ds.delete()


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(small_dataset, tmp_path):
    ds = small_dataset
    journal = tmp_path / "journal.sqlite"
    report = tmp_path / "reported.txt"
    out = _run("kill-loop", {"dataset": ds.name, "journal": str(journal),
                             "report_file": str(report), "kills": 20, "seed": 7})
    assert out["kills"] == 20
    reported = [line for line in report.read_text().split("\n")[:-1] if len(line) == 32]
    assert len(reported) > 20  # the reviewers got going between kills
    with DecisionJournal(journal) as j:
        stored = [d.id for _, d in j.decisions(ds.name)]
    assert len(stored) == len(set(stored))  # no decision twice
    assert set(reported) <= set(stored)  # every decision that returned is on disk
    # The next session syncs what the killed ones left, and FiftyOne ends in the journal's state.
    with ReviewSession(ds, journal=journal, reviewer="next") as session:
        session.flush()
    state = check_team_state(ds, [journal])
    assert state == {"stale_attributes": 0, "missing_labels": 0, "duplicated": 0,
                     "wrong_tags": 0}


_DB_FAULTS = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from tests.harness.devtools import Mongod
    work = Path(sys.argv[1])
    mongod = Mongod(work)
    import os
    os.environ["FIFTYONE_DATABASE_URI"] = mongod.start()
    import fiftyone as fo
    from tests.harness.faults import check_team_state, make_dataset
    from nblabel.reviewing.editor.session import ReviewSession
    from nblabel.reviewing.image.widget import ReviewWidget

    ds = make_dataset("db-faults", work / "images", 8, seed=2)
    session = ReviewSession(ds, journal=work / "j.sqlite", reviewer="ann")
    widget = ReviewWidget(session)
    states = [session.load(s) for s in session.queue]
    todo = [(st, p) for st in states for p in st.proposals]
    out = {"ms": {}, "status": {}}

    def decide_some(tag, n):
        times = []
        for _ in range(n):
            st, p = todo.pop()
            t = time.perf_counter()
            session.decide(st, p.id, "accepted")
            times.append((time.perf_counter() - t) * 1000)
        out["ms"][tag] = max(times)

    def wait_state(want, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if widget.sync_status.get("state") == want:
                return dict(widget.sync_status)
            time.sleep(0.1)
        return dict(widget.sync_status)

    decide_some("up", 3)
    session.flush()
    mongod.pause()                      # hung: nothing answers
    decide_some("paused", 5)
    out["status"]["paused"] = wait_state("unreachable")
    mongod.resume()
    session.flush(60)
    port = mongod.port
    mongod.shutdown()                   # down: connections refused
    decide_some("down", 5)
    out["status"]["down"] = wait_state("unreachable")
    mongod.start(port=port)
    session.flush(90)
    out["status"]["after"] = wait_state("synced")
    widget.close()
    out["check"] = check_team_state(ds, [work / "j.sqlite"])
    out["decided"] = 13
    out["landed"] = len(ds.filter_labels("predictions", fo.ViewField("review") == "accepted")
                        .values("predictions.detections.id", unwind=True))
    print(json.dumps(out, default=str), flush=True)
    ds.delete()
    mongod.stop()
""")


def test_database_hung_then_down_decisions_keep_being_journaled(tmp_path):
    env = dict(os.environ)
    proc = subprocess.run([sys.executable, "-c", _DB_FAULTS, str(tmp_path)], capture_output=True,
                          text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    # Decisions returned while the server was frozen and while it was down (no 30 s waits).
    assert out["ms"]["paused"] < 5000 and out["ms"]["down"] < 5000, out["ms"]
    for phase in ("paused", "down"):
        status = out["status"][phase]
        assert status["state"] == "unreachable", status
        assert "not reachable" in status["message"] and status["waiting"] >= 1, status
    assert out["status"]["after"]["state"] == "synced"
    assert out["landed"] == out["decided"]
    assert out["check"] == {"stale_attributes": 0, "missing_labels": 0, "duplicated": 0,
                            "wrong_tags": 0}


@pytest.mark.parametrize("mode", ["claims", "free", "consensus"])
def test_four_reviewer_processes_converge(mode, tmp_path):
    ds = make_dataset(f"team4-{mode}-{uuid.uuid4().hex[:6]}", tmp_path / "images", 16, seed=4)
    gt_field = "reviews" if mode == "consensus" else "ground_truth"
    reviewers = ["ann", "bob", "cy", "dee"]
    procs = [subprocess.Popen(
        [sys.executable, "-m", "tests.harness.faults", "review", json.dumps({
            "dataset": ds.name, "journal": str(tmp_path / f"{r}.sqlite"), "reviewer": r,
            "mode": mode, "gt_field": gt_field, "seed": k})],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
        cwd=ROOT)
        for k, r in enumerate(reviewers)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    state = check_team_state(ds, [tmp_path / f"{r}.sqlite" for r in reviewers], gt_field,
                             per_journal_truth=mode == "consensus")
    assert state == {"stale_attributes": 0, "missing_labels": 0, "duplicated": 0,
                     "wrong_tags": 0}
    seen: dict[str, int] = {}
    for r in results:
        for sid in r["reviewed"]:
            seen[sid] = seen.get(sid, 0) + 1
    if mode == "claims":
        order = ds.values("id")
        info = [(r["reviewer"], [order.index(x) for x in r["reviewed"]]) for r in results]
        assert max(seen.values()) == 1, info  # no image reviewed twice
        assert len(seen) == len(ds)  # and none left out
    assert len(ds.match_tags("reviewed")) == len(ds)
    ds.delete()


def test_three_sessions_in_one_process_never_lose_a_field_declaration(tmp_path):
    for round_ in range(4):
        ds = make_dataset(f"three-{round_}-{uuid.uuid4().hex[:6]}", tmp_path / f"i{round_}", 6,
                          seed=round_)
        sessions = [ReviewSession(ds, reviewer=r, journal=tmp_path / f"{round_}-{r}.sqlite",
                                  gt_field=f"reviews_{round_}", consensus=3)
                    for r in ("ann", "bob", "cy")]
        errors: list[BaseException] = []

        def review(session: ReviewSession, errors: list[BaseException] = errors) -> None:
            try:
                for sid in session.queue:
                    state = session.load(sid)
                    for p in state.proposals:
                        session.decide(state, p.id, "accepted")
                session.flush()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=review, args=(s,)) for s in sessions]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors
        assert all(s.sync_error is None for s in sessions)
        for s in sessions:
            s.close()
        fresh = fo.load_dataset(ds.name)
        fresh.reload()
        schema = fresh.get_field_schema(flat=True)
        assert "nblabel_reviewers" in schema and f"reviews_{round_}.detections.review" in schema
        # Every sample reads back (a lost declaration makes reading fail).
        assert all(len(r) == 3 for r in fresh.values("nblabel_reviewers"))
        assert all(len(g.detections) > 0 for g in fresh.values(f"reviews_{round_}"))
        ds.delete()
