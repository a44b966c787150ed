"""The ``nblabel`` command: the batch work users run outside notebooks.

``nblabel preannotate DATASET --model yolo11n.pt`` proposes labels for a FiftyOne dataset;
``nblabel export DATASET DIR --format coco`` writes its reviewed labels; ``nblabel sync [DATASET]``
writes a decision journal (a kernel that died, a laptop that was offline) into its datasets.
The database is FiftyOne's own (``FIFTYONE_DATABASE_URI`` for a shared MongoDB). Progress goes
to stderr, the result to stdout.

Exit codes: 0 done; 1 done, but some images failed (each named on stderr); 2 bad usage (a
wrong option, an unknown dataset, weights that cannot be loaded, nothing to export).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from nblabel.curation.export import FORMATS

__all__ = ["main"]

EXIT_OK, EXIT_IMAGE_ERRORS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A problem with what was asked for; its message is printed, exit code 2."""


def _dataset(name: str) -> Any:
    import fiftyone as fo

    if not fo.dataset_exists(name):
        known = ", ".join(sorted(fo.list_datasets())[:10]) or "none"
        raise UsageError(f"no FiftyOne dataset named {name!r} (datasets: {known})")
    return fo.load_dataset(name)


def _preannotate(args: argparse.Namespace) -> int:
    import nblabel
    from nblabel.sources import UltralyticsSource

    dataset = _dataset(args.dataset)
    try:
        source = UltralyticsSource(args.model, imgsz=args.imgsz, conf=args.conf)
    except Exception as exc:  # missing weights offline, a file that is not a model
        raise UsageError(f"cannot load the model {args.model!r}: {exc}") from exc
    report = nblabel.preannotate(dataset, source, args.field, batch_size=args.batch,
                                 overwrite=args.overwrite, progress=not args.quiet,
                                 backend=args.backend, num_workers=args.workers)
    print(report)
    for error in report.errors.values():
        print(f"error: {error}", file=sys.stderr)
    return EXIT_IMAGE_ERRORS if report.errors else EXIT_OK


def _export(args: argparse.Namespace) -> int:
    import nblabel

    dataset = _dataset(args.dataset)
    try:
        out = nblabel.export_reviewed(dataset, args.dir, args.format, field=args.field,
                                      only_reviewed=not args.all, overwrite=args.overwrite)
    except ValueError as exc:  # an unknown format, nothing reviewed, a missing field
        raise UsageError(str(exc)) from exc
    except FileExistsError as exc:
        raise UsageError(f"{args.dir} is not empty: pass --overwrite to replace it") from exc
    except OSError as exc:  # an unreadable image (FiftyOne reads each one's size)
        raise UsageError(f"an image could not be read: {exc}") from exc
    print(out)
    return EXIT_OK


def _sync(args: argparse.Namespace) -> int:
    import fiftyone as fo

    from nblabel.store.journal import DecisionJournal
    from nblabel.store.sync import FiftyOneSync

    with DecisionJournal(args.journal) as journal:
        names = [args.dataset] if args.dataset else journal.datasets()
        if not names:
            print(f"{journal.path}: no decisions")
            return EXIT_OK
        missing = [n for n in names if not fo.dataset_exists(n)]
        if missing and args.dataset:
            raise UsageError(f"no FiftyOne dataset named {args.dataset!r}")
        for name in names:
            if name in missing:
                print(f"error: {name}: the dataset no longer exists; its decisions stay in "
                      f"{journal.path}", file=sys.stderr)
                continue
            report = FiftyOneSync(fo.load_dataset(name), journal,
                                  field=args.field,
                                  gt_field=args.gt_field).sync(full=args.full)
            print(f"{name}: {report.samples} samples, {report.ground_truth_labels} ground-truth "
                  f"labels, {report.reviewed_samples} reviewed")
    return EXIT_IMAGE_ERRORS if missing else EXIT_OK


def parser() -> argparse.ArgumentParser:
    """The command line (``nblabel --help``)."""
    from nblabel import __version__

    p = argparse.ArgumentParser(prog="nblabel", description="nblabel batch work outside "
                                "notebooks: propose, export, sync decisions.",
                                epilog="Exit codes: 0 done, 1 some images failed, 2 bad usage.")
    p.add_argument("--version", action="version", version=f"nblabel {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    pre = sub.add_parser("preannotate", help="propose labels with an ultralytics model",
                         description="Propose labels for every sample of a FiftyOne dataset "
                                     "with an ultralytics model (detect, segment, classify).")
    pre.add_argument("dataset", help="FiftyOne dataset name")
    pre.add_argument("--model", required=True,
                     help="weights: a local .pt, or a name such as yolo11n.pt (downloaded "
                          "by ultralytics when online)")
    pre.add_argument("--field", default="predictions", help="label field (default: predictions)")
    pre.add_argument("--conf", type=float, default=0.05, help="lowest confidence kept (0.05)")
    pre.add_argument("--imgsz", type=int, default=640, help="inference size (640)")
    pre.add_argument("--batch", type=int, default=16, help="images per batch (16)")
    pre.add_argument("--overwrite", action="store_true",
                     help="propose again on samples that already have proposals (by default "
                          "they are left: a rerun resumes)")
    pre.add_argument("--backend", choices=["local", "ray"], default="local")
    pre.add_argument("--workers", type=int, default=1, help="Ray workers (with --backend ray)")
    pre.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    pre.set_defaults(run=_preannotate)

    exp = sub.add_parser("export", help="export reviewed labels (COCO, YOLO, VOC)",
                         description="Export a dataset's reviewed labels.")
    exp.add_argument("dataset", help="FiftyOne dataset name")
    exp.add_argument("dir", help="output folder")
    exp.add_argument("--format", default="coco", choices=list(FORMATS))
    exp.add_argument("--field", default="ground_truth", help="label field (ground_truth)")
    exp.add_argument("--all", action="store_true", help="every sample, not only reviewed ones")
    exp.add_argument("--overwrite", action="store_true", help="replace what is in DIR")
    exp.set_defaults(run=_export)

    syn = sub.add_parser("sync", help="write a decision journal into FiftyOne",
                         description="Write the decisions of a journal (by default "
                                     "$NBLABEL_HOME/journal.sqlite) into their datasets.")
    syn.add_argument("dataset", nargs="?", help="only this dataset (default: all in the journal)")
    syn.add_argument("--journal", help="journal file (default: $NBLABEL_HOME/journal.sqlite)")
    syn.add_argument("--full", action="store_true", help="replay the whole journal")
    syn.add_argument("--field", default="predictions")
    syn.add_argument("--gt-field", default="ground_truth")
    syn.set_defaults(run=_sync)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns its exit code (see the module doc)."""
    from nblabel.store.journal import JournalError

    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (UsageError, JournalError) as exc:
        print(f"nblabel {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
