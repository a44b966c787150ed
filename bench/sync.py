"""Decision sync throughput: nblabel's bulk sync vs a plain ``sample.save()`` loop.

2,000 samples with 5 proposals each; 10,000 decisions (about 60 % accepted, 20 % edited, 20 %
rejected), side by side in one run on two clones of the same dataset:

- ``nblabel``: the decisions are in a journal (appending them is timed apart: in a review it
  happens one at a time as the reviewer decides), then ``FiftyOneSync.sync()`` writes review
  attributes on the decided proposals, the ground truth and the ``reviewed`` tag: one atomic
  update (an aggregation pipeline) per sample, sent in bulk;
- ``save_loop``: the same final state applied the way a script would: for each sample, set the
  attributes on its proposals, build its ground-truth detections, tag it, ``sample.save()``.

Both results are checked to be the same (counts of review values, ground-truth boxes, tags).
Run: ``python bench/sync.py [--quick]``; the last line is the JSON with the figures.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

# The benchmarks' helpers (bench/) and the test harnesses (tests/harness, from the repository root).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import emit, parse_args, print_table, private_fiftyone


def main() -> None:
    args = parse_args(__doc__ or "")
    n_samples = 400 if args.quick else 2000
    per_sample = 5
    work, mongod = private_fiftyone("sync")
    try:
        import fiftyone as fo

        from nblabel.core.labels import Action, Box, Decision, ImageSize, Proposal
        from nblabel.store.journal import DecisionJournal
        from nblabel.store.sync import REVIEWED_TAG, FiftyOneSync

        size = ImageSize(640, 480)
        rng = random.Random(0)
        base = fo.Dataset("bench-sync-a")
        samples = []
        for i in range(n_samples):
            dets = [fo.Detection(label=rng.choice(["cat", "dog"]),
                                 bounding_box=[0.1 * k, 0.1, 0.08, 0.1],
                                 confidence=round(rng.uniform(0.05, 1.0), 3))
                    for k in range(per_sample)]
            samples.append(fo.Sample(filepath=f"/images/{i:05d}.jpg",
                                     predictions=fo.Detections(detections=dets)))
        base.add_samples(samples, progress=False)
        # FiftyOne reloads every Sample object still alive in this process after each bulk
        # write (to keep them consistent); a labeling session holds none, so neither do we.
        del samples
        other = base.clone("bench-sync-b")

        # The decisions, built once from the proposals, identical for both paths.
        decisions: list[Decision] = []
        for sid, dets in zip(*base.values(["id", "predictions"]), strict=True):
            for det in dets.detections:
                p = Proposal(det.label, Box.from_relative(det.bounding_box, size),
                             det.confidence, id=det.id)
                r = rng.random()
                if r < 0.6:
                    decisions.append(Decision.accept(sid, p, size, reviewer="ana"))
                elif r < 0.8:
                    box = Box(p.box.x + 2, p.box.y, p.box.w, p.box.h + 3)
                    decisions.append(Decision.edit(sid, p, size, "dog", box, reviewer="ana"))
                else:
                    decisions.append(Decision.reject(sid, p, size, reviewer="ana"))

        journal = DecisionJournal(work / "journal.sqlite")
        t = time.perf_counter()
        for d in decisions:
            journal.append(base.name, d)
        journal_s = time.perf_counter() - t

        t = time.perf_counter()
        FiftyOneSync(base, journal).sync()
        nblabel_s = time.perf_counter() - t

        by_sample: dict[str, dict[str, Decision]] = {}
        for d in decisions:
            assert d.proposal is not None
            by_sample.setdefault(d.sample_id, {})[d.proposal.id] = d
        # The clone has new sample and label ids, in the same order.
        id_map = dict(zip(base.values("id"), other.values("id"), strict=True))
        label_map = dict(zip(base.values("predictions.detections.id", unwind=True),
                             other.values("predictions.detections.id", unwind=True),
                             strict=True))
        per_other = {id_map[s]: {label_map[k]: d for k, d in ds_.items()}
                     for s, ds_ in by_sample.items()}
        t = time.perf_counter()
        for sample in other.iter_samples():
            mine = per_other.get(sample.id, {})
            gt = []
            for det in sample.predictions.detections:
                d = mine.get(det.id)
                if d is None:
                    continue
                det["review"] = d.action.value
                det["reviewer"] = d.reviewer
                det["reviewed_at"] = d.decided_at.replace(tzinfo=None)
                if d.action is not Action.REJECTED:
                    assert d.box is not None
                    gt.append(fo.Detection(label=d.label, bounding_box=d.box.to_relative(size),
                                           review=d.action.value, reviewer=d.reviewer))
            sample["ground_truth"] = fo.Detections(detections=gt)
            sample.tags.append(REVIEWED_TAG)
            sample.save()
        loop_s = time.perf_counter() - t

        checks = {}
        for name, ds in (("nblabel", base), ("save_loop", other)):
            checks[name] = (ds.count_values("predictions.detections.review"),
                            ds.count("ground_truth.detections"), ds.count_sample_tags())
        assert checks["nblabel"] == checks["save_loop"], checks
        journal.close()
    finally:
        mongod.stop()

    n = len(decisions)
    ours, theirs = n / nblabel_s, n / loop_s
    print_table(["path", "seconds", "decisions/s"], [
        ("journal appends (apart)", journal_s, n / journal_s),
        ("nblabel sync", nblabel_s, ours),
        ("sample.save() loop", loop_s, theirs),
    ])
    print(f"\n{n} decisions over {n_samples} samples: nblabel {ours:.0f}/s vs save loop "
          f"{theirs:.0f}/s, ratio {ours / theirs:.1f} (target >= 10); same final state: "
          f"{checks['nblabel']}")
    emit({"nblabel_decisions_s": round(ours, 1), "save_loop_decisions_s": round(theirs, 1),
          "ratio": round(ours / theirs, 2), "decisions": n, "samples": n_samples,
          "journal_appends_s": round(n / journal_s, 1), "quick": args.quick})


if __name__ == "__main__":
    main()
