"""Pre-annotation throughput: nblabel's local path (with its FiftyOne writes) vs a plain loop.

The same images go, in one run, through
- ``raw``: a plain ultralytics ``model.predict`` loop over the files in batches, storing nothing;
- ``nblabel``: ``preannotate(dataset, UltralyticsSource(...))``, which also reads the images
  with EXIF handling and validation and writes every proposal to FiftyOne (bulk writes in a
  background thread, overlapping inference).
Both use the demo detector (yolov8n trained on generated shapes; built on first use) at 160 px.
Then ``backend="ray"`` on a local Ray with 1 and with 2 workers (actors, one CPU each), timed
end to end including the actors' start (loading torch and the model), as a user would see it;
``ray_2w_over_1w`` is the ratio of their throughputs.

Run: ``python bench/preannotate.py [--quick]``; the last line is the JSON with the figures.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

# The benchmarks' helpers (bench/) and the test harnesses (tests/harness, from the repository root).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import emit, parse_args, print_table, private_fiftyone


def main() -> None:
    args = parse_args(__doc__ or "")
    n = 150 if args.quick else 500
    batch = 16
    work, mongod = private_fiftyone("preannotate")
    try:
        import fiftyone as fo

        from nblabel.demo import prepare_model
        from nblabel.demo.synthetic import make_shapes
        from nblabel.preannotation import preannotate
        from nblabel.sources import UltralyticsSource

        weights = prepare_model()
        images = make_shapes(work / "img", n, seed=7)
        paths = [str(i.path) for i in images]
        ds = fo.Dataset("bench-pre")
        ds.add_samples([fo.Sample(filepath=p) for p in paths], progress=False)
        source = UltralyticsSource(weights, imgsz=160, conf=0.05)
        source.model.predict(paths[:batch], imgsz=160, conf=0.05, verbose=False)  # warm-up

        rows, timings = [], {}
        for rep in range(3):  # alternate, so drift in machine speed hits both
            t = time.perf_counter()
            count = 0
            for i in range(0, n, batch):
                results = source.model.predict(paths[i : i + batch], imgsz=160, conf=0.05, iou=0.6,
                                               verbose=False)
                count += sum(len(r.boxes) for r in results)
            timings.setdefault("raw", []).append(time.perf_counter() - t)
            if ds.has_sample_field("predictions"):
                ds.delete_sample_field("predictions")
            t = time.perf_counter()
            report = preannotate(ds, source, "predictions", batch_size=batch, progress=False)
            timings.setdefault("nblabel", []).append(time.perf_counter() - t)
            assert report.images == n and not report.errors
            rows.append(("raw", rep, n / timings["raw"][-1], count))
            rows.append(("nblabel", rep, n / timings["nblabel"][-1], report.proposals))
        ray_rate = {}
        try:
            import ray

            # Four times the images (the files repeat), so the actors' start-up of a few
            # seconds does not swamp the comparison.
            big = fo.Dataset("bench-pre-ray")
            big.add_samples([fo.Sample(filepath=p) for p in paths * 4], progress=False)
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            for workers in (1, 2):
                name = f"ray{workers}"
                t = time.perf_counter()
                report = preannotate(big, source, name, batch_size=batch, backend="ray",
                                     num_workers=workers, progress=False)
                ray_rate[workers] = len(big) / (time.perf_counter() - t)
                assert report.images == len(big) and not report.errors
                rows.append((f"ray, {workers} worker(s)", 0, ray_rate[workers], report.proposals))
            ray.shutdown()
        except ImportError:
            print("Ray is not installed: pip install 'nblabel[ray]'")
    finally:
        mongod.stop()
    print_table(["path", "repeat", "images/s", "proposals"], rows)
    raw = n / min(timings["raw"])
    ours = n / min(timings["nblabel"])
    print(f"\nbest of 3: nblabel {ours:.1f} img/s, raw predict loop {raw:.1f} img/s, "
          f"ratio {ours / raw:.2f} (target >= 0.95)")
    emit({"nblabel_img_s": round(ours, 1), "raw_img_s": round(raw, 1),
          "ratio": round(ours / raw, 3),
          "ray_2w_over_1w": round(ray_rate[2] / ray_rate[1], 2) if ray_rate else None,
          "ray_1w_img_s": round(ray_rate.get(1, 0), 1),
          "ray_2w_img_s": round(ray_rate.get(2, 0), 1),
          "images": n,
          "quick": args.quick})


if __name__ == "__main__":
    main()
