"""Scale: uncertainty, review orders and opening a review on 100,000 samples (1,000,000 with
``--full``), and the cost of a decision on an image holding 20,000 proposals.

The dataset: 500 generated images added through FiftyOne, then copied (raw documents, fresh
ids) up to the sample count; each sample holds 5 proposals. Measured side by side:

- ``compute_uncertainty`` (MongoDB computes the measures and the difficulty) against the same
  computation through Python (``values`` + ``set_label_values``: the path used for ensembles
  and probes) on a 10,000-sample slice, as samples per second;
- ``build_queue(..., "difficulty")`` with exploration, opening ``nblabel.review`` in that order
  (session and widget, no browser), and moving to the next image;
- one decision (journal only) on an image with 100 and with 20,000 proposals, and
  ``accept_all`` on the 20,000.

Targets (issue 12): at least 20,000 samples/s, opening under 5 s at 100,000. Last line keys
``samples_per_s``, ``open_s``.
"""

from __future__ import annotations

import argparse
import time

from common import emit, median, print_table, private_fiftyone


def _copy_up_to(ds, n: int) -> None:
    from bson import ObjectId

    from nblabel.store import shim

    coll = shim.sample_collection(ds)
    template = list(coll.find({}))
    batch = []
    count = len(template)
    k = 0
    while count < n:
        doc = dict(template[k % len(template)])
        k += 1
        doc["_id"] = ObjectId()
        preds = doc.get("predictions")
        if preds:
            doc["predictions"] = {**preds, "detections": [
                {**d, "_id": ObjectId()} for d in preds["detections"]]}
        batch.append(doc)
        count += 1
        if len(batch) == 20_000:
            coll.insert_many(batch, ordered=False)
            batch = []
    if batch:
        coll.insert_many(batch, ordered=False)


def _dense_sample(ds, folder, n_props: int):
    import fiftyone as fo

    from nblabel.demo.synthetic import make_shapes

    img = make_shapes(folder, 1, seed=99, size=(1920, 1080))[0]
    rng = __import__("random").Random(n_props)
    dets = [fo.Detection(label="square", confidence=round(rng.uniform(0.05, 0.99), 3),
                         bounding_box=[rng.uniform(0, 0.95), rng.uniform(0, 0.95), 0.01, 0.01])
            for _ in range(n_props)]
    sample = fo.Sample(filepath=str(img.path), predictions=fo.Detections(detections=dets))
    ds.add_sample(sample)
    return sample.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="1,000,000 samples")
    parser.add_argument("--quick", action="store_true", help="20,000 samples")
    args = parser.parse_args()
    n = 1_000_000 if args.full else 20_000 if args.quick else 100_000
    work, mongod = private_fiftyone("scale")
    try:
        import fiftyone as fo
        from tests.harness.faults import make_dataset

        import nblabel
        from nblabel.curation.queue import build_queue
        from nblabel.curation.uncertainty import compute_uncertainty
        from nblabel.reviewing.editor.session import ReviewSession

        t = time.perf_counter()
        ds = make_dataset("scale", work / "images", 500, seed=1, max_objects=4)
        _copy_up_to(ds, n)
        build_s = time.perf_counter() - t
        print(f"{len(ds):,} samples, {ds.count('predictions.detections'):,} proposals "
              f"(built in {build_s:.0f} s)")

        t = time.perf_counter()
        compute_uncertainty(ds)
        db_s = time.perf_counter() - t
        # The Python path on a 10,000-sample slice (agreement attributes force it).
        ds.add_sample_field("predictions.detections.agreement", fo.FloatField)
        piece = ds.limit(10_000)
        t = time.perf_counter()
        compute_uncertainty(piece)
        py_s = time.perf_counter() - t
        ds.delete_sample_field("predictions.detections.agreement")
        db_rate = n / db_s
        py_rate = 10_000 / py_s

        t = time.perf_counter()
        queue = build_queue(ds, "difficulty")
        queue_s = time.perf_counter() - t
        t = time.perf_counter()
        widget = nblabel.review(ds, queue="difficulty", journal=work / "j.sqlite")
        open_s = time.perf_counter() - t
        nexts = []
        for _ in range(20):
            t = time.perf_counter()
            widget.go(1)
            nexts.append((time.perf_counter() - t) * 1000)
        widget.close()
        assert len(queue) == n

        # Decisions on a dense image.
        dense = fo.Dataset("dense")
        small = _dense_sample(dense, work / "d100", 100)
        big = _dense_sample(dense, work / "d20k", 20_000)
        session = ReviewSession(dense, journal=work / "dense.sqlite", autosync=False,
                                queue=[small, big])
        per: dict[int, float] = {}
        for sid, k in ((small, 100), (big, 20_000)):
            state = session.load(sid)
            times = []
            for p in state.proposals[:50]:
                t = time.perf_counter()
                session.decide(state, p.id, "accepted")
                times.append((time.perf_counter() - t) * 1000)
            per[k] = median(times)
        state = session.load(big)
        t = time.perf_counter()
        accepted = session.accept_all(state)
        accept_all_s = time.perf_counter() - t
        t = time.perf_counter()
        session.flush(600)
        sync_s = time.perf_counter() - t
        session.close()

        print_table(["measure", "value"], [
            ["compute_uncertainty in MongoDB (samples/s)", round(db_rate)],
            ["compute_uncertainty through Python (samples/s)", round(py_rate)],
            ["ratio", round(db_rate / py_rate, 1)],
            ["build_queue difficulty (s)", round(queue_s, 2)],
            ["open review in difficulty order (s)", round(open_s, 2)],
            ["next image, median (ms)", round(median(nexts), 1)],
            ["one decision, 100 proposals, median (ms)", round(per[100], 2)],
            ["one decision, 20,000 proposals, median (ms)", round(per[20_000], 2)],
            [f"accept_all of {len(accepted):,} proposals (s)", round(accept_all_s, 2)],
            ["sync of those to FiftyOne (s)", round(sync_s, 2)],
        ])
        emit({"samples": n, "samples_per_s": round(db_rate), "python_samples_per_s":
              round(py_rate), "ratio": round(db_rate / py_rate, 1), "queue_s": round(queue_s, 2),
              "open_s": round(open_s, 2), "next_ms_p50": round(median(nexts), 1),
              "decide_ms_100": round(per[100], 2), "decide_ms_20000": round(per[20_000], 2),
              "accept_all_20000_s": round(accept_all_s, 2), "sync_20000_s": round(sync_s, 2)})
    finally:
        mongod.stop()


if __name__ == "__main__":
    main()
