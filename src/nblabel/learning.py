"""Training ultralytics models on labels (from scratch or fine-tuning), with no network.

Runs go to an absolute ``project`` folder (ultralytics otherwise writes ``./runs`` or into the
git repository it is installed in). Plots are off by default: they need a font download and cost
time; :func:`nblabel.sources.prepare_ultralytics` makes them work offline when wanted.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from nblabel.sources import prepare_ultralytics

__all__ = ["train_ultralytics"]


def train_ultralytics(
    data_yaml: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    model: str | os.PathLike[str] = "yolov8n.yaml",
    epochs: int = 10,
    imgsz: int = 320,
    batch: int = 16,
    seed: int = 0,
    device: str | int | None = None,
    **train_args: Any,
) -> Path:
    """Train ``model`` on the YOLO data set ``data_yaml`` and copy the best weights to ``out_path``.

    ``model`` is a yaml (a new model, no download), or a ``.pt`` to fine-tune.
    """
    prepare_ultralytics()
    from ultralytics import YOLO

    out_path = Path(out_path).resolve()
    project = out_path.parent / f".{out_path.stem}-runs"
    yolo = YOLO(os.fspath(model))
    args: dict[str, Any] = {
        "data": os.fspath(Path(data_yaml).resolve()),
        "epochs": epochs,
        "imgsz": imgsz,
        "batch": batch,
        "seed": seed,
        "deterministic": True,
        "project": os.fspath(project),
        "name": "train",
        "exist_ok": True,
        "plots": False,
        "verbose": False,
        "workers": 0,
        "amp": False,
    }
    if device is not None:
        args["device"] = device
    args.update(train_args)
    yolo.train(**args)
    best = project / "train" / "weights" / "best.pt"
    if not best.exists():
        best = project / "train" / "weights" / "last.pt"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(best, out_path)
    shutil.rmtree(project, ignore_errors=True)
    return out_path
