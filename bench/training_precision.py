"""Fine-tuning on a CPU: float32 (ultralytics' CPU default) vs nblabel's bfloat16 forward.

The same fine-tuning (the demo detector on generated shapes, imgsz 320, batch 16, seeded) runs
with ``train_ultralytics(..., precision="fp32")`` and ``precision="bf16"``, alternating, and
prints seconds, images per second and the validation mAP of each, and the speed ratio. On a CPU
without native bfloat16 (no AMX, no AVX512-BF16) ``precision="auto"`` keeps float32, and the
ratio printed here says what forcing bf16 would cost.

Run: ``python bench/training_precision.py [--quick]``; the last line is the JSON with the figures.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

# The benchmarks' helpers (bench/) and the test harnesses (tests/harness, from the repository root).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import emit, parse_args, print_table


def main() -> None:
    args = parse_args(__doc__ or "")
    os.environ.setdefault("YOLO_OFFLINE", "1")
    from nblabel.demo import prepare_model
    from nblabel.learning import cpu_has_native_bf16, train_ultralytics

    n_train, n_val, epochs, repeats = (48, 16, 2, 1) if args.quick else (160, 40, 4, 2)
    base = prepare_model()
    work = Path(tempfile.mkdtemp(prefix="nblabel-bench-precision-"))
    data = _yolo_data(work, n_train, n_val)
    rows: list[tuple[object, ...]] = []
    seconds: dict[str, list[float]] = {"fp32": [], "bf16": []}
    maps: dict[str, list[float]] = {"fp32": [], "bf16": []}
    for rep in range(repeats):
        for precision in ("fp32", "bf16"):
            metrics: dict[str, float] = {}
            t = time.monotonic()
            train_ultralytics(data, work / f"{precision}-{rep}.pt", model=base, epochs=epochs,
                              imgsz=320, batch=16, metrics_out=metrics, precision=precision,
                              val=False, cache="ram", warmup_epochs=1, device="cpu")
            dt = time.monotonic() - t
            seconds[precision].append(dt)
            maps[precision].append(metrics.get("map50_95", float("nan")))
            rows.append((rep + 1, precision, round(dt, 1), round(n_train * epochs / dt, 1),
                         metrics.get("map50"), metrics.get("map50_95")))
            print(f"{precision} run {rep + 1}: {dt:.1f} s, {metrics}", flush=True)
    print_table(["run", "precision", "seconds", "train img/s", "mAP50", "mAP50-95"], rows)
    fp32, bf16 = statistics.median(seconds["fp32"]), statistics.median(seconds["bf16"])
    print(f"\nbf16 is {fp32 / bf16:.2f}x as fast as fp32 ({epochs} epochs of {n_train} images, "
          f"medians of {repeats}); native bf16 on this CPU: {cpu_has_native_bf16()}")
    emit({
        "fp32_seconds": round(fp32, 1), "bf16_seconds": round(bf16, 1),
        "speedup_bf16_over_fp32": round(fp32 / bf16, 2),
        "map50_95_fp32": round(statistics.median(maps["fp32"]), 4),
        "map50_95_bf16": round(statistics.median(maps["bf16"]), 4),
        "native_bf16": cpu_has_native_bf16(), "quick": args.quick,
    })


def _yolo_data(work: Path, n_train: int, n_val: int) -> Path:
    """A YOLO data set of generated shapes (the learning loop's kind: up to 10 objects, 16 to
    120 px)."""
    from nblabel.demo.synthetic import make_shapes, write_yolo_dataset

    train, val = (make_shapes(work / "src" / split, n, seed=seed, max_objects=10, min_side=16,
                              max_side=120, prefix=split)
                  for split, n, seed in (("train", n_train, 11), ("val", n_val, 12)))
    return write_yolo_dataset(work / "data", train, val)


if __name__ == "__main__":
    main()
