"""Shared helpers for the benchmarks: argument parsing, tables and the closing JSON line."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: The repository root: the test harnesses (tests/harness, not in the installed package) are
#: imported from it.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.harness.devtools import Mongod  # noqa: E402


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a smaller run, under 60 s")
    return parser.parse_args()


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), by linear interpolation."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[f"{v:.3g}" if isinstance(v, float) else str(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def emit(figures: dict[str, Any]) -> None:
    """The last line of every benchmark: its figures as one JSON object."""
    print(json.dumps(figures, sort_keys=True))


def private_fiftyone(prefix: str) -> tuple[Path, Mongod]:
    """A work folder and a private mongod, with FiftyOne (not yet imported) pointed at it and
    ultralytics kept offline. Stop the mongod when done."""
    work = Path(tempfile.mkdtemp(prefix=f"nblabel-bench-{prefix}-"))
    mongod = Mongod(work)
    os.environ.update({
        "FIFTYONE_DATABASE_URI": mongod.start(),
        "FIFTYONE_DATABASE_NAME": f"nblabel-bench-{prefix}",
        "FIFTYONE_DO_NOT_TRACK": "true",
        "FIFTYONE_DATABASE_VALIDATION": "false",
        "FIFTYONE_SHOW_PROGRESS_BARS": "false",
        "NBLABEL_HOME": str(work / "home"),
        "YOLO_OFFLINE": "1",
        "YOLO_VERBOSE": "False",
    })
    return work, mongod
