"""Decision analytics: what reviewers did with the proposals, as pandas tables.

:func:`decisions_frame` gives one row per decision, from a journal (every decision, superseded
ones included, for this kernel's reviewer) or from the dataset (the final decision of every
reviewer whose labels are in it: the team's view). Columns:

``sample_id, key, kind, action, label, proposal_label, proposal_confidence, box_iou, reviewer,
decided_at, seconds_on_image, final`` — ``box_iou`` is the IoU between the final box and the
proposal's (NaN for rejections and added boxes), ``final`` whether the row is the latest decision
for its key.

On top of it: :func:`confidence_table` (acceptance and correction rate per confidence bin),
:func:`plot_calibration` (matplotlib), :func:`suggest_threshold` (auto-accept threshold for a
target precision, where a proposal counts as right only if it was accepted unchanged) and
:func:`effort_per_image` (time and actions per image).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timezone
from typing import TYPE_CHECKING, Any

import numpy as np

from nblabel.core.labels import Action, Box
from nblabel.store import shim
from nblabel.store.journal import DecisionJournal
from nblabel.store.schema import OWNER_ATTR

if TYPE_CHECKING:
    import fiftyone as fo
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["ThresholdSuggestion", "confidence_table", "decisions_frame", "effort_per_image",
           "plot_calibration", "suggest_threshold"]

COLUMNS = ["sample_id", "key", "kind", "action", "label", "proposal_label",
           "proposal_confidence", "box_iou", "reviewer", "decided_at", "seconds_on_image",
           "final"]


def decisions_frame(
    source: DecisionJournal | Iterable[DecisionJournal] | fo.core.collections.SampleCollection,
    dataset: str | None = None,
    *,
    field: str = "predictions",
    gt_field: str = "ground_truth",
) -> pd.DataFrame:
    """All decisions as a DataFrame (see module doc). ``dataset`` names the dataset when
    ``source`` is a journal (else every dataset in it)."""
    import pandas as pd

    if isinstance(source, DecisionJournal) or (
        isinstance(source, Iterable) and not hasattr(source, "_dataset")
    ):
        journals = [source] if isinstance(source, DecisionJournal) else list(source)
        rows = [r for j in journals for r in _journal_rows(j, dataset)]
    else:
        rows = _dataset_rows(source, field, gt_field)
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["decided_at"] = pd.to_datetime(df["decided_at"], utc=True)
    return df.sort_values("decided_at", kind="stable").reset_index(drop=True)


def _journal_rows(journal: DecisionJournal, dataset: str | None) -> list[dict[str, Any]]:
    rows = []
    for name in [dataset] if dataset is not None else journal.datasets():
        decisions = [d for _, d in journal.decisions(name)]
        latest = {(d.sample_id, d.key): d.id for d in decisions}
        for d in decisions:
            p = d.proposal
            rows.append({
                "sample_id": d.sample_id, "key": d.key, "kind": d.kind,
                "action": d.action.value, "label": d.label,
                "proposal_label": p.label if p else None,
                "proposal_confidence": p.confidence if p else None,
                "box_iou": (d.box.iou(p.box) if p is not None and d.box is not None
                            and d.kind == "box" else np.nan),
                "reviewer": d.reviewer, "decided_at": d.decided_at,
                "seconds_on_image": d.seconds_on_image,
                "final": latest[(d.sample_id, d.key)] == d.id,
            })
    return rows


def _number(value: Any) -> float:
    """A stored number, NaN for anything else (a value another tool stored with a wrong type)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return np.nan


def _dataset_rows(view: fo.core.collections.SampleCollection, pf: str, gf: str
                  ) -> list[dict[str, Any]]:
    """Rows from the stored documents (no label objects: a wrongly typed stored value becomes
    NaN instead of stopping the analysis)."""
    ds = shim.base_dataset(view)
    rows: list[dict[str, Any]] = []
    if not ds.has_sample_field(pf):
        return rows
    fields = ["id", pf] + ([gf] if ds.has_sample_field(gf) else [])
    ids, preds, *gts = shim.raw_values(view, fields)
    for k, sid in enumerate(ids):
        proposals = (preds[k] or {}).get("detections") or []
        by_id = {str(p.get("_id")): p for p in proposals}
        for det in ((gts[0][k] or {}).get("detections") or []) if gts else []:
            if det.get("review") is None:
                continue  # truth nblabel did not write
            p = by_id.get(str(det.get("proposal_id"))) if det.get("proposal_id") else None
            try:
                iou = (Box(*det["bounding_box"]).iou(Box(*p["bounding_box"]))
                       if p is not None else np.nan)
            except (TypeError, ValueError, KeyError):
                iou = np.nan
            rows.append({
                "sample_id": sid, "key": det.get(OWNER_ATTR) or str(det.get("_id")),
                "kind": "box", "action": det["review"], "label": det.get("label"),
                "proposal_label": p.get("label") if p is not None else None,
                "proposal_confidence": _number(det.get("proposal_confidence")),
                "box_iou": iou, "reviewer": det.get("reviewer"),
                "decided_at": det.get("reviewed_at"),
                "seconds_on_image": _number(det.get("seconds_on_image")), "final": True,
            })
        for p in proposals:
            if p.get("review") != Action.REJECTED.value:
                continue
            rows.append({
                "sample_id": sid, "key": str(p.get("_id")), "kind": "box",
                "action": "rejected", "label": None, "proposal_label": p.get("label"),
                "proposal_confidence": _number(p.get("confidence")), "box_iou": np.nan,
                "reviewer": p.get("reviewer"), "decided_at": p.get("reviewed_at"),
                "seconds_on_image": np.nan, "final": True,
            })
    for r in rows:  # FiftyOne hands back naive UTC datetimes
        if r["decided_at"] is not None and r["decided_at"].tzinfo is None:
            r["decided_at"] = r["decided_at"].replace(tzinfo=timezone.utc)
    return rows


def _proposal_decisions(df: pd.DataFrame) -> pd.DataFrame:
    """Final decisions on proposals with a confidence (what auto-accept would have decided)."""
    sel = df[(df["final"]) & df["proposal_confidence"].notna()
             & df["action"].isin(["accepted", "edited", "rejected"])]
    return sel


def confidence_table(df: pd.DataFrame, bins: int | Iterable[float] = 10) -> pd.DataFrame:
    """Per confidence bin: proposals decided, share accepted unchanged, edited (corrected),
    rejected, and the mean confidence (a calibrated model has ``accepted`` close to it)."""
    import pandas as pd

    sel = _proposal_decisions(df)
    edges = np.linspace(0.0, 1.0, bins + 1) if isinstance(bins, int) else np.asarray(list(bins))
    cut = pd.cut(sel["proposal_confidence"], edges, include_lowest=True)
    grouped = sel.groupby(cut, observed=False)
    table = pd.DataFrame({
        "n": grouped.size(),
        "mean_confidence": grouped["proposal_confidence"].mean(),
        "accepted": grouped["action"].apply(lambda a: (a == "accepted").mean()),
        "edited": grouped["action"].apply(lambda a: (a == "edited").mean()),
        "rejected": grouped["action"].apply(lambda a: (a == "rejected").mean()),
    })
    table.index.name = "confidence"
    return table


def plot_calibration(df: pd.DataFrame, bins: int = 10, ax: Any = None) -> Figure:
    """Reliability diagram: share accepted unchanged (and kept after an edit) per confidence
    bin against the bin's mean confidence, with the diagonal of a calibrated model."""
    if ax is None:  # a Figure outside pyplot: no global state, works headless
        from matplotlib.figure import Figure

        fig = Figure(figsize=(5, 4))
        ax = fig.subplots()
    else:
        fig = ax.figure
    table = confidence_table(df, bins).dropna(subset=["mean_confidence"])
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="calibrated")
    ax.plot(table["mean_confidence"], table["accepted"], "o-", label="accepted unchanged")
    ax.plot(table["mean_confidence"], table["accepted"] + table["edited"], "s--",
            label="accepted or corrected")
    for x, y, n in zip(table["mean_confidence"], table["accepted"], table["n"], strict=True):
        ax.annotate(str(int(n)), (x, y), textcoords="offset points", xytext=(0, 5),
                    ha="center", fontsize=7)
    ax.set(xlim=(0, 1), ylim=(0, 1.05), xlabel="proposal confidence",
           ylabel="share of proposals", title="Reviewer decisions by confidence")
    ax.legend(loc="upper left", fontsize=8)
    return fig


@dataclass(frozen=True)
class ThresholdSuggestion:
    """An auto-accept threshold and what it would have done on the decisions so far."""

    threshold: float | None  # None: no threshold reaches the target precision
    target_precision: float
    precision: float  # share accepted unchanged among proposals at or above the threshold
    coverage: float  # share of all decided proposals it would auto-accept
    n: int  # proposals at or above the threshold


def suggest_threshold(df: pd.DataFrame, target_precision: float = 0.95,
                      min_support: int = 20) -> ThresholdSuggestion:
    """The lowest confidence at which the proposals above it were accepted unchanged at least
    ``target_precision`` of the time (with at least ``min_support`` of them)."""
    if not 0 < target_precision <= 1:
        raise ValueError(f"target_precision must be in (0, 1], got {target_precision}")
    sel = _proposal_decisions(df)
    conf = sel["proposal_confidence"].to_numpy(dtype=float)
    right = (sel["action"] == "accepted").to_numpy()
    order = np.argsort(-conf, kind="stable")
    conf, right = conf[order], right[order]
    precision = np.cumsum(right) / np.arange(1, len(conf) + 1)
    best: int | None = None
    for i in range(len(conf)):
        # Cut only between distinct confidences: all proposals at a value go together.
        if i + 1 < len(conf) and conf[i + 1] == conf[i]:
            continue
        if i + 1 >= min_support and precision[i] >= target_precision:
            best = i
    if best is None:
        return ThresholdSuggestion(None, target_precision, float("nan"), 0.0, 0)
    return ThresholdSuggestion(float(conf[best]), target_precision, float(precision[best]),
                               (best + 1) / len(conf), best + 1)


def effort_per_image(df: pd.DataFrame) -> pd.DataFrame:
    """Per image and reviewer: seconds spent (the longest time-on-image of its decisions),
    actions (every decision, including ones later undone, when the frame is a journal's), and
    the count of each final action."""
    import pandas as pd

    if df.empty:
        return pd.DataFrame(columns=["sample_id", "reviewer", "seconds", "actions",
                                     "accepted", "edited", "rejected", "added"])
    g = df.groupby(["sample_id", "reviewer"])
    final = df[df["final"]]
    counts = pd.crosstab([final["sample_id"], final["reviewer"]], final["action"])
    out = pd.DataFrame({"seconds": g["seconds_on_image"].max(), "actions": g.size()})
    out = out.join(counts, how="left").fillna(0)
    for a in ("accepted", "edited", "rejected", "added"):
        if a not in out:
            out[a] = 0
        out[a] = out[a].astype(int)
    return out.reset_index()[["sample_id", "reviewer", "seconds", "actions", "accepted",
                              "edited", "rejected", "added"]]
