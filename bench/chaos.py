"""Chaos: the fault tests at a larger count, with figures.

- reviewers SIGKILLed at random moments (100 kills; ``--quick`` 30): decisions that returned but
  are not in the journal (``lost``), decisions or labels twice (``duplicated``), and after the
  next session's sync, proposals whose stored review differs from the journal
  (``stale_attributes``);
- 4 reviewer processes at once on 40 images in claims, free and consensus modes: images reviewed
  by more than one reviewer under claims (``double_reviewed``), stale attributes, wrong tags;
- the database frozen (SIGSTOP) then down mid-session: decision latency while it is unreachable
  (``decide_p99_ms_db_down``) against while it is up, side by side in one run.

Last line keys: ``kills``, ``lost``, ``duplicated``, ``stale_attributes``, ``double_reviewed``,
``decide_p99_ms_db_down``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from common import ROOT, emit, parse_args, percentile, print_table, private_fiftyone


def _faults(command: str, args: dict[str, object]) -> dict[str, object]:
    proc = subprocess.run([sys.executable, "-m", "tests.harness.faults", command, json.dumps(args)],
                          capture_output=True, text=True, env=dict(os.environ), timeout=1800,
                          cwd=ROOT)
    if proc.returncode:
        raise RuntimeError(proc.stderr[-3000:])
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    args = parse_args(__doc__ or "")
    kills = 30 if args.quick else 100
    images = 16 if args.quick else 40
    work, mongod = private_fiftyone("chaos")
    try:
        import fiftyone as fo
        from tests.harness.faults import check_team_state, make_dataset

        from nblabel.reviewing.editor.session import ReviewSession
        from nblabel.store.journal import DecisionJournal

        # 1. Kills.
        ds = make_dataset("chaos-kill", work / "kill", 24, seed=1)
        journal = work / "kill.sqlite"
        report = work / "reported.txt"
        t = time.perf_counter()
        _faults("kill-loop", {"dataset": ds.name, "journal": str(journal),
                              "report_file": str(report), "kills": kills, "seed": 11})
        kill_s = time.perf_counter() - t
        reported = [x for x in report.read_text().split("\n")[:-1] if len(x) == 32]
        with DecisionJournal(journal) as j:
            stored = [d.id for _, d in j.decisions(ds.name)]
        lost = len(set(reported) - set(stored))
        duplicated = len(stored) - len(set(stored)) + len(reported) - len(set(reported))
        with ReviewSession(ds, journal=journal, reviewer="next") as session:
            session.flush(120)
        kill_state = check_team_state(ds, [journal])
        duplicated += kill_state["duplicated"]

        # 2. Four reviewers in each mode.
        team_rows = []
        stale = kill_state["stale_attributes"]
        wrong_tags = kill_state["wrong_tags"]
        double = 0
        for mode in ("claims", "free", "consensus"):
            tds = make_dataset(f"chaos-{mode}", work / mode, images, seed=4)
            gt = "reviews" if mode == "consensus" else "ground_truth"
            names = ["ann", "bob", "cy", "dee"]
            t = time.perf_counter()
            procs = [subprocess.Popen(
                [sys.executable, "-m", "tests.harness.faults", "review", json.dumps({
                    "dataset": tds.name, "journal": str(work / f"{mode}-{r}.sqlite"),
                    "reviewer": r, "mode": mode, "gt_field": gt, "seed": k})],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
                cwd=ROOT)
                for k, r in enumerate(names)]
            seen: dict[str, int] = {}
            for p in procs:
                out, err = p.communicate(timeout=1800)
                if p.returncode:
                    raise RuntimeError(err[-3000:])
                for sid in json.loads(out.strip().splitlines()[-1])["reviewed"]:
                    seen[sid] = seen.get(sid, 0) + 1
            secs = time.perf_counter() - t
            state = check_team_state(tds, [work / f"{mode}-{r}.sqlite" for r in names], gt,
                                     per_journal_truth=mode == "consensus")
            twice = sum(1 for v in seen.values() if v > 1)
            if mode == "claims":
                double += twice
            stale += state["stale_attributes"]
            wrong_tags += state["wrong_tags"]
            duplicated += state["duplicated"]
            team_rows.append([mode, images, twice, state["stale_attributes"],
                              state["wrong_tags"], state["missing_labels"],
                              len(fo.load_dataset(tds.name).match_tags("reviewed")), secs])

        # 3. Database frozen, then down: decision latency side by side.
        dds = make_dataset("chaos-db", work / "db", 30, seed=2)
        session = ReviewSession(dds, journal=work / "db.sqlite", reviewer="ann")
        states = [session.load(s) for s in session.queue]
        todo = [(st, p) for st in states for p in st.proposals]

        def decide(n: int) -> list[float]:
            out = []
            for _ in range(n):
                st, p = todo.pop()
                t0 = time.perf_counter()
                session.decide(st, p.id, "accepted")
                out.append((time.perf_counter() - t0) * 1000)
                time.sleep(0.01)
            return out

        up = decide(30)
        session.flush()
        mongod.pause()
        frozen = decide(30)
        mongod.resume()
        session.flush(60)
        port = mongod.port
        mongod.shutdown()
        down = decide(30)
        mongod.start(port=port)
        session.flush(120)
        session.close()
        db_state = check_team_state(dds, [work / "db.sqlite"])
        stale += db_state["stale_attributes"]
        unreachable = frozen + down

        print(f"kills: {kills} in {kill_s:.0f} s; {len(reported)} decisions reported, "
              f"{len(stored)} journaled; lost {lost}, duplicated {duplicated}")
        print_table(["mode", "images", "reviewed twice", "stale", "wrong tags", "missing labels",
                     "tagged reviewed", "seconds"], team_rows)
        print_table(["database", "decide p50 ms", "decide p99 ms", "max ms"], [
            [name, percentile(v, 50), percentile(v, 99), max(v)]
            for name, v in (("up", up), ("frozen (SIGSTOP)", frozen), ("down", down))])
        emit({"kills": kills, "decisions_reported": len(reported), "lost": lost,
              "duplicated": duplicated, "stale_attributes": stale, "wrong_tags": wrong_tags,
              "double_reviewed": double,
              "decide_p99_ms_db_up": round(percentile(up, 99), 2),
              "decide_p99_ms_db_down": round(percentile(unreachable, 99), 2)})
    finally:
        mongod.stop()


if __name__ == "__main__":
    main()
