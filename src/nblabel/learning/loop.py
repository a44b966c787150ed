"""Learning from the review: training ultralytics models on the reviewed labels, round after round.

:class:`LearningLoop` fine-tunes the detector on every reviewed image (exported to YOLO format in
a temporary folder), keeps each model version with its round, training size and validation
metrics, and proposes again on the images nobody has reviewed yet, in the background while the
review goes on. :func:`select_pseudo_labels` adds confident proposals of unreviewed images
(threshold from the decision analytics, :func:`pseudo_threshold`) to the training set, with a
share set aside to spot-check in the widget.

Training needs no network.
Runs go to an absolute ``project`` folder (ultralytics otherwise writes ``./runs`` or into the
git repository it is installed in). Plots are off by default: they need a font download and cost
time; :func:`nblabel.sources.prepare_ultralytics` makes them work offline when wanted.
"""

from __future__ import annotations

import os
import random
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nblabel.learning.training import train_in_subprocess
from nblabel.store import schema, shim
from nblabel.store.schema import (
    MODEL_ROUND_FIELD,
    MODELS_INFO_KEY,
    PSEUDO_FIELD,
    REVIEWED_TAG,
    REVIEWERS_FIELD,
)

if TYPE_CHECKING:
    import fiftyone as fo

    from nblabel.curation.active import ActiveOrder
    from nblabel.curation.embeddings import Embedder
    from nblabel.learning.auto import AutoTrainer
    from nblabel.preannotation import PreannotationReport
    from nblabel.sources import ProposalSource

__all__ = ["LearningLoop", "ModelVersion", "PseudoLabels", "pseudo_threshold",
           "select_pseudo_labels", "spot_check_precision"]





@dataclass(frozen=True)
class ModelVersion:
    """One fine-tuned model: its round, weights, what it was trained on and how it scored on
    the held-out reviewed images (ultralytics' box metrics)."""

    round: int
    weights: str
    train_images: int
    pseudo_images: int
    val_images: int
    metrics: dict[str, float]
    seconds: float
    created_at: str
    #: The reviewed images held out of its training (where it is measured before it proposes).
    val_ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PseudoLabels:
    """Unreviewed images whose proposals are trusted as labels (stored in ``pseudo_labels``)."""

    threshold: float
    low: float
    sample_ids: list[str]
    spot_check_ids: list[str]
    labels: int


def pseudo_threshold(view: fo.core.collections.SampleCollection, target_precision: float = 0.95,
                     *, min_support: int = 50, field: str = "predictions",
                     gt_field: str = "ground_truth") -> float | None:
    """The confidence above which reviewers accepted proposals unchanged at least
    ``target_precision`` of the time (:func:`nblabel.curation.analytics.suggest_threshold` on the
    dataset's decisions); ``None`` while no threshold reaches it."""
    from nblabel.curation.analytics import decisions_frame, suggest_threshold

    df = decisions_frame(view, field=field, gt_field=gt_field)
    return suggest_threshold(df, target_precision, min_support).threshold


def select_pseudo_labels(
    view: fo.core.collections.SampleCollection,
    threshold: float,
    *,
    field: str = "predictions",
    low: float | None = None,
    spot_check: float = 0.0,
    seed: int = 0,
) -> PseudoLabels:
    """Pseudo-label the unreviewed images of ``view`` that have at least one proposal at or
    above ``threshold`` (kept as labels) and none between ``low`` and it (below ``low`` is taken
    as background; default ``min(0.1, threshold / 2)``). Images with a proposal in between are
    left out: a partly labelled image would teach the model that an unlabelled object is
    background; so are images with no confident proposal (likely where the model misses).

    The labels go to the ``pseudo_labels`` field. ``spot_check``: a seeded share of them to
    review in the widget (``nblabel.review(dataset, queue=pseudo.spot_check_ids)``); once
    reviewed they train as reviewed images.
    """
    import fiftyone as fo


    low = min(0.1, threshold / 2) if low is None else low
    if not 0 <= low <= threshold <= 1:
        raise ValueError(f"need 0 <= low <= threshold <= 1, got low={low}, threshold={threshold}")
    ds = shim.root_dataset(view)
    pool = view.match_tags(REVIEWED_TAG, bool=False)
    ids, dets = pool.values(["id", field])
    chosen: dict[str, fo.Detections] = {}
    n_labels = 0
    for sid, d in zip(ids, dets, strict=True):
        if d is None:
            continue
        confs = [p.confidence or 0.0 for p in d.detections]
        if any(low <= c < threshold for c in confs) or not any(c >= threshold for c in confs):
            continue
        keep = [fo.Detection(label=p.label, bounding_box=p.bounding_box, confidence=p.confidence)
                for p in d.detections if (p.confidence or 0.0) >= threshold]
        chosen[sid] = fo.Detections(detections=keep)
        n_labels += len(keep)
    schema.declare(ds, {PSEUDO_FIELD: "detections"})
    stale = ds.exists(PSEUDO_FIELD).values("id")
    if stale:  # one pseudo-label set at a time
        ds.select(stale).set_values(PSEUDO_FIELD, [None] * len(stale))
    if chosen:
        ds.select(list(chosen)).set_values(PSEUDO_FIELD, chosen, key_field="id")
    order = list(chosen)
    random.Random(seed).shuffle(order)
    spot = order[:round(len(order) * spot_check)] if spot_check > 0 else []
    return PseudoLabels(threshold, low, list(chosen), spot, n_labels)


def spot_check_precision(view: fo.core.collections.SampleCollection, pseudo: PseudoLabels,
                         field: str = "predictions") -> float | None:
    """Share of the spot-checked pseudo-labels (the proposals at or above the threshold on the
    spot-check images) that the reviewer accepted unchanged; ``None`` before any is decided."""
    ds = shim.root_dataset(view)
    if not pseudo.spot_check_ids:
        return None
    decided = right = 0
    for dets in ds.select(pseudo.spot_check_ids).values(field):
        for d in (dets.detections if dets is not None else []):
            review = d["review"] if d.has_field("review") else None
            if (d.confidence or 0.0) >= pseudo.threshold and review is not None:
                decided += 1
                right += review == "accepted"
    return right / decided if decided else None


class LearningLoop:
    """Rounds of review and fine-tuning: each round trains on every reviewed image (and,
    optionally, pseudo-labels), keeps the model version, and proposes again on the images not
    yet reviewed.

    Versions are kept in ``dataset.info["nblabel_models"]`` and their weights in ``workdir``
    (``round-<n>.pt``), so a later session picks up where this one stopped. Training runs in a
    separate Python process (a crash or out-of-memory there cannot take the kernel down, and the
    kernel stays responsive); :meth:`start_round` runs the whole round in the background.
    """

    def __init__(
        self,
        dataset: fo.Dataset,
        model: str | os.PathLike[str],
        workdir: str | os.PathLike[str],
        *,
        field: str = "predictions",
        gt_field: str = "ground_truth",
        imgsz: int = 320,
        epochs: int = 10,
        batch: int = 16,
        conf: float = 0.05,
        val_fraction: float = 0.2,
        device: str | int | None = None,
        train_args: dict[str, Any] | None = None,
        base_imgsz: int | None = None,
        agnostic_nms: bool = False,
        propose_imgsz: int | Sequence[int] | None = None,
        small_data: bool = False,
        slice_tile: int | None = None,
    ) -> None:
        self.dataset = dataset
        #: Train as :mod:`nblabel.learning.smalldata` does (copy-paste images, epochs by images
        #: seen with early stopping on the reviewed validation images, a training size that
        #: keeps small objects visible): for a model started from scratch on few images.
        #: ``epochs`` and ``imgsz`` are then chosen per round; proposals use the round's size.
        self.small_data = small_data
        #: Propose on overlapping tiles of this size, merged per image
        #: (:class:`~nblabel.sources.SlicedSource`): for large images with small objects, the
        #: counterpart of small-data training's tiles.
        self.slice_tile = slice_tile
        self._round_imgsz: int | None = None
        #: Image size(s) the fine-tuned models propose at (default ``imgsz``, the training
        #: size). Several sizes are fused by weighted box fusion (multi-scale test-time
        #: augmentation, one prediction per size). A size other than the training size can help
        #: an undertrained model on small objects, but can also invent boxes (in one
        #: benchmark run, confident whole-image boxes at 1.2x the training size): check it on
        #: reviewed images first.
        self.propose_imgsz: list[int] | None = ([propose_imgsz] if isinstance(propose_imgsz, int)
                                                else list(propose_imgsz or []) or None)
        #: Proposals suppress overlapping boxes across classes (see ``UltralyticsSource``).
        self.agnostic_nms = agnostic_nms
        #: Image size for proposals of the starting model (the size it was trained at), when it
        #: differs from ``imgsz`` (the fine-tuned models' size).
        self.base_imgsz = base_imgsz
        self.base_model = os.fspath(model)
        self.workdir = Path(workdir).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.field = field
        self.gt_field = gt_field
        self.imgsz = imgsz
        self.epochs = epochs
        self.batch = batch
        self.conf = conf
        self.val_fraction = val_fraction
        self.device = device
        # Fine-tuning defaults: validate once at the end (not every epoch), images decoded once
        # (in RAM), one warm-up epoch (three, ultralytics' default, is a lot of a short run).
        self.train_args = {"val": False, "cache": "ram", "warmup_epochs": 1,
                           **(train_args or {})}
        self._user_train_args = dict(train_args or {})
        self._lock = threading.Lock()

    # -- versions --------------------------------------------------------------------------

    @property
    def versions(self) -> list[ModelVersion]:
        self.dataset.reload()
        return [ModelVersion(**v) for v in self.dataset.info.get(MODELS_INFO_KEY, [])]

    @property
    def current_weights(self) -> str:
        versions = self.versions
        return versions[-1].weights if versions else self.base_model

    def _keep(self, version: ModelVersion) -> None:
        self.dataset.reload()
        self.dataset.info[MODELS_INFO_KEY] = [
            *self.dataset.info.get(MODELS_INFO_KEY, []), version.to_dict()]
        self.dataset.save()

    # -- one round ---------------------------------------------------------------------------

    def fine_tune(self, pseudo: PseudoLabels | None = None, *, epochs: int | None = None
                  ) -> ModelVersion:
        """Fine-tune the latest model on every reviewed image (+ ``pseudo``) and keep it."""
        import fiftyone as fo

        from nblabel.curation.export import export_reviewed, split_ids, write_yolo_yaml

        with self._lock:
            started = time.monotonic()
            versions = self.versions
            round_no = len(versions) + 1
            start_from = versions[-1].weights if versions else self.base_model
            reviewed = self.dataset.match_tags(REVIEWED_TAG)
            reviewed_ids = set(reviewed.values("id"))
            if not reviewed_ids:
                raise ValueError("no reviewed images to train on yet")
            classes = self._classes()
            pseudo_ids = [s for s in (pseudo.sample_ids if pseudo else [])
                          if s not in reviewed_ids]
            with tempfile.TemporaryDirectory(prefix="nblabel-train-") as tmp:
                data = export_reviewed(reviewed, Path(tmp) / "data", "yolo",
                                       field=self.gt_field, classes=classes,
                                       val_fraction=self.val_fraction, media="copy",
                                       seed=round_no)
                if pseudo_ids:  # training split only: never validate on pseudo-labels
                    self.dataset.select(pseudo_ids).export(
                        export_dir=str(data.parent), dataset_type=fo.types.YOLOv5Dataset,
                        label_field=PSEUDO_FIELD, split="train", classes=classes,
                        export_media=True)
                    write_yolo_yaml(data.parent, classes)  # the export rewrote it
                n_val = len(list((data.parent / "labels" / "val").glob("*.txt")))
                _, val_ids = split_ids(reviewed.values("id"), self.val_fraction, round_no)
                weights = self.workdir / f"round-{round_no}.pt"
                extra: dict[str, Any] = {}
                imgsz = self.imgsz
                if self.small_data:
                    from nblabel.learning.smalldata import prepare_small_data

                    sized = prepare_small_data(data.parent, seed=round_no)
                    imgsz = self._round_imgsz = sized.pop("imgsz")
                    # Chosen sizes, then what the caller asked for explicitly.
                    extra = {**sized, "val": n_val > 0, **self._user_train_args}
                    if epochs is not None:
                        extra["epochs"] = epochs
                metrics = train_in_subprocess(
                    data, weights, model=start_from,
                    **{"epochs": epochs or self.epochs, "imgsz": imgsz, "batch": self.batch,
                       "device": self.device, **self.train_args, **extra})
            version = ModelVersion(
                round=round_no, weights=os.fspath(weights),
                train_images=len(reviewed_ids) - n_val, pseudo_images=len(pseudo_ids),
                val_images=n_val, metrics=metrics,
                seconds=round(time.monotonic() - started, 1),
                created_at=datetime.now(timezone.utc).isoformat(),
                val_ids=val_ids if n_val else [])
            self._keep(version)
            return version

    def _classes(self) -> list[str]:
        names: set[str] = set()
        for f in (self.gt_field, self.field):
            if self.dataset.has_sample_field(f):
                names.update(x for x in self.dataset.distinct(f"{f}.detections.label") if x)
        return sorted(names)

    def unseen(self, exclude: Iterable[str] = ()) -> list[str]:
        """Samples with no review decision yet (not tagged ``reviewed``, no reviewer), minus
        ``exclude`` (e.g. the image on screen)."""

        view = self.dataset.match_tags(REVIEWED_TAG, bool=False)
        if self.dataset.has_sample_field(REVIEWERS_FIELD):
            from fiftyone import ViewField as F

            view = view.match(~(F(REVIEWERS_FIELD).length() > 0))
        skip = set(exclude)
        return [s for s in view.values("id") if s not in skip]

    def next_round(self, k: int, *, method: str = "combined", embedder: Embedder | None = None,
                   seed: int = 0) -> ActiveOrder:
        """The ``k`` unreviewed images to review next (``.picks``): uncertain under the latest
        proposals and unlike each other and the reviewed images, rare classes first, near
        copies of reviewed images set aside (:func:`nblabel.curation.active.active_order`).
        Embeddings: ``embedder``, by default the pixel embedder (the one near-duplicates are
        calibrated on); ``ModelEmbedder(loop.current_weights)`` embeds with the model's own
        backbone. Review them with ``nblabel.review(loop.dataset.select(picks,
        ordered=True))``."""
        from nblabel.curation.active import active_order

        return active_order(self.dataset, k, method=method, field=self.field,
                            embedder=embedder, seed=seed)

    def source(self, version: ModelVersion | None = None) -> ProposalSource:
        """The proposal source of ``version`` (default: the latest): its weights at the size(s)
        it proposes at, sliced when ``slice_tile`` is set."""
        from nblabel.sources import EnsembleSource, UltralyticsSource

        weights = version.weights if version is not None else self.current_weights
        round_no = version.round if version is not None else len(self.versions)
        trained = self._round_imgsz or self.imgsz
        sizes = ((self.propose_imgsz or [trained]) if round_no or self.base_imgsz is None
                 else [self.base_imgsz])
        members: list[ProposalSource] = [
            UltralyticsSource(weights, imgsz=size, conf=self.conf, device=self.device,
                              agnostic_nms=self.agnostic_nms) for size in sizes]
        if self.slice_tile:
            from nblabel.sources import SlicedSource

            members = [SlicedSource(m, tile=self.slice_tile) for m in members]
        return (members[0] if len(members) == 1 else EnsembleSource(
            members, name=f"{Path(weights).stem}@{'+'.join(map(str, sizes))}"))

    def propose(self, sample_ids: Sequence[str], version: ModelVersion | None = None
                ) -> PreannotationReport:
        """Propose again with ``version`` (default: the latest) on these samples."""
        from nblabel.preannotation import preannotate

        round_no = version.round if version is not None else len(self.versions)
        view = self.dataset.select(list(sample_ids))
        report = preannotate(view, self.source(version), self.field,
                             overwrite=True, progress=False)
        ids = view.values("id")
        view.set_values(MODEL_ROUND_FIELD, dict.fromkeys(ids, round_no), key_field="id")
        return report

    def run_round(self, pseudo: PseudoLabels | None = None, *, exclude: Iterable[str] = (),
                  epochs: int | None = None) -> tuple[ModelVersion, list[str]]:
        """Fine-tune, then propose on the images nobody has decided on yet."""
        version = self.fine_tune(pseudo, epochs=epochs)
        ids = self.unseen(exclude)
        if ids:
            self.propose(ids, version)
        return version, ids

    def auto(self, widget: Any, *, first: int = 4, every: int = 4, min_map50: float = 0.0
             ) -> AutoTrainer:
        """Train by itself as ``widget``'s review goes on (see
        :class:`~nblabel.learning.auto.AutoTrainer`)."""
        from nblabel.learning.auto import AutoTrainer

        return AutoTrainer(self, widget, first=first, every=every, min_map50=min_map50)

    def start_round(self, widget: Any = None, pseudo: PseudoLabels | None = None, *,
                    min_map50: float = 0.0) -> Future[tuple[ModelVersion, list[str]]]:
        """:meth:`run_round` in a background thread; the review goes on meanwhile. With a
        ``widget``, the new model is first measured on the reviewed images held out of its
        training (:mod:`nblabel.learning.choice`): it proposes on the images the widget has
        not shown yet only when it saves time there, and more than the exemplar assistant
        measured in the widget; otherwise it is kept as a version and the images ahead keep
        what they have. Either way the widget says why. ``min_map50``: an extra bar on its
        validation mAP50 (none by default: measured cost decides)."""
        from nblabel.learning.choice import adopt, choose, measure_version

        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nblabel-learn")
        if widget is not None:
            widget.notice = f"training model round {len(self.versions) + 1} in the background…"

        def job() -> tuple[ModelVersion, list[str]]:
            try:
                session = getattr(widget, "session", None)
                if session is not None:  # the latest decisions reach FiftyOne before export
                    session.flush()
                version = self.fine_tune(pseudo)
                # What the widget has shown by now keeps its proposals.
                shown = set(getattr(widget, "seen", ())) | {getattr(widget, "sample_id", "")}
                map50 = version.metrics.get("map50", 0.0)
                if map50 < min_map50:
                    if widget is not None:
                        widget.notice = (f"model round {version.round}: mAP50 {map50:.2f} is "
                                         f"under {min_map50:.2f}; the proposals ahead stay")
                    return version, []
                why = f"mAP50 {map50:.2f}"
                if widget is not None:
                    measured = measure_version(self, version)
                    adopt(widget, measured)
                    assist = getattr(widget, "assist", None)
                    current = (widget.help.ledger.verdict(assist.name)
                               if assist is not None and hasattr(widget, "help") else None)
                    go, why = choose(measured.verdict, current)
                    if not go:
                        widget.notice = f"model round {version.round} not proposing: {why}"
                        return version, []
                ids = self.unseen(shown)
                if ids:
                    self.propose(ids, version)
            except Exception as exc:
                if widget is not None:
                    widget.notice = f"training failed: {exc}"
                raise
            if widget is not None:
                widget.proposals_updated(ids, f"model round {version.round} ready ({why}): "
                                         f"new proposals for {len(ids)} images not yet seen")
            return version, ids

        future = executor.submit(job)
        executor.shutdown(wait=False)
        return future
