"""Decision journal: a durable, append-only local record of every review decision.

Every decision is committed here (SQLite in WAL mode, ``synchronous=FULL``: the commit is on disk
when :meth:`DecisionJournal.append` returns) *before* the widget shows it as done. FiftyOne is
written from the journal (see :mod:`nblabel.store.sync`), so a kernel that dies after a
decision loses nothing: the next session replays what was not yet synced.

Semantics: decisions are grouped by dataset name and sample id; within a sample the latest
decision for a key (a proposal id, or the id of an added box) supersedes earlier ones. Besides
decisions the journal keeps *completion marks* (an image the reviewer moved past with nothing left
to decide, e.g. one with no proposals) and, per sync target, the sequence number synced so far.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from nblabel.core.labels import Action, Decision

__all__ = ["CompletionMark", "DecisionJournal", "JournalError", "Journaled",
           "default_journal_path"]


class Journaled(Protocol):
    """What the journal stores: a :class:`~nblabel.core.labels.Decision`, or another record
    with an id, a sample, a key (the latest per key wins) and a JSON form."""

    @property
    def id(self) -> str: ...

    @property
    def sample_id(self) -> str: ...

    @property
    def key(self) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...

_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    dataset TEXT NOT NULL,
    sample_id TEXT NOT NULL,
    key TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_sample ON decisions (dataset, sample_id, seq);
CREATE TABLE IF NOT EXISTS completions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset TEXT NOT NULL,
    sample_id TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    completed_at TEXT NOT NULL,
    seconds_on_image REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS completions_sample ON completions (dataset, sample_id);
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sync_marks (
    dataset TEXT NOT NULL,
    target TEXT NOT NULL,
    decisions_seq INTEGER NOT NULL,
    completions_seq INTEGER NOT NULL,
    PRIMARY KEY (dataset, target)
);
"""


def default_journal_path() -> Path:
    """``$NBLABEL_HOME/journal.sqlite``, by default ``~/.nblabel/journal.sqlite``."""
    home = os.environ.get("NBLABEL_HOME") or os.path.join(os.path.expanduser("~"), ".nblabel")
    return Path(home) / "journal.sqlite"


class JournalError(RuntimeError):
    """The journal file cannot be used: the message names the file, the problem and what to do.

    Decisions already in a damaged journal are not touched: move the file aside (the message
    says where) and start a new one, or recover it with ``sqlite3 FILE .recover``."""


def _advice(path: Path, exc: BaseException) -> str:
    text = str(exc)
    if "readonly" in text or "read-only" in text:
        what = "the file or its folder is read-only: make it writable or pass journal= another path"
    elif "unable to open" in text:
        what = "the file cannot be opened: check that its folder exists and can be written"
    elif "not a database" in text or "malformed" in text or "corrupt" in text:
        what = (f"the file is damaged: move it aside (e.g. to {path}.damaged) and recover its "
                f"decisions with `sqlite3 {path}.damaged .recover`, then open a new journal")
    elif "disk" in text and "full" in text:
        what = "the disk is full: free space; decisions not yet journaled were not saved"
    elif "locked" in text:
        what = "another process holds a write lock on it for too long"
    else:
        what = "see the SQLite error above"
    return f"decision journal {path}: {text} ({what})"


@contextlib.contextmanager
def _named(path: Path) -> Iterator[None]:
    """SQLite errors as :class:`JournalError` naming the file and what to do."""
    try:
        yield
    except sqlite3.Error as exc:
        raise JournalError(_advice(path, exc)) from exc


@dataclass(frozen=True, slots=True)
class CompletionMark:
    """The reviewer finished an image with nothing left to decide on it."""

    sample_id: str
    reviewer: str
    completed_at: datetime
    seconds_on_image: float


class DecisionJournal:
    """Append-only SQLite journal of decisions, safe to share between threads and processes."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_journal_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise JournalError(f"decision journal {self.path}: cannot create its folder "
                               f"({exc}); pass journal= a path in a writable folder") from exc
        self._lock = threading.RLock()
        self.closed = False
        with _named(self.path):
            self._conn = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA busy_timeout=30000")
            self.check()
            with self._lock:
                self._conn.executescript(_SCHEMA)
                self._conn.execute(
                    "INSERT OR IGNORE INTO meta (name, value) VALUES ('journal_id', ?)",
                    (uuid.uuid4().hex,))
                row = self._conn.execute(
                    "SELECT value FROM meta WHERE name = 'journal_id'").fetchone()
        #: Stable identity of this journal (its file), written on the labels its syncs own.
        self.journal_id: str = str(row[0])

    def check(self) -> None:
        """SQLite's integrity check (``PRAGMA quick_check``): raises :class:`JournalError` on a
        damaged file, before anything more is written to it. Run on open and by ``flush()``."""
        with self._lock, _named(self.path):
            rows = self._conn.execute("PRAGMA quick_check").fetchall()
        problems = [str(r[0]) for r in rows if r[0] != "ok"]
        if problems:
            raise JournalError(_advice(self.path, sqlite3.DatabaseError(
                f"database disk image is malformed: {'; '.join(problems[:3])}")))

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            self.closed = True

    def __enter__(self) -> DecisionJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -----------------------------------------------------------------------------

    def append(self, dataset: str, decision: Decision) -> int:
        """Commit ``decision`` durably and return its sequence number.

        Appending a decision whose id is already present is a no-op returning the existing
        sequence number (so a retried write cannot duplicate a decision).
        """
        return self.append_many(dataset, [decision])[0]

    def append_many(self, dataset: str, decisions: Iterable[Journaled]) -> list[int]:
        """Commit several decisions in one transaction (one disk sync): all or none."""
        rows = [(d.id, dataset, d.sample_id, d.key,
                 json.dumps(d.to_dict(), separators=(",", ":"))) for d in decisions]
        seqs: list[int] = []
        with self._lock, _named(self.path):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for row in rows:
                    cur = self._conn.execute(
                        "INSERT OR IGNORE INTO decisions (id, dataset, sample_id, key, payload) "
                        "VALUES (?, ?, ?, ?, ?)", row)
                    if cur.rowcount == 0:
                        seq = self._conn.execute(
                            "SELECT seq FROM decisions WHERE id = ?", (row[0],)).fetchone()[0]
                    else:
                        seq = cur.lastrowid or 0
                    seqs.append(int(seq))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return seqs

    def mark_complete(
        self, dataset: str, sample_id: str, reviewer: str, seconds_on_image: float
    ) -> int:
        """Record that ``sample_id`` was finished with nothing left to decide."""
        now = datetime.now(timezone.utc).isoformat()
        with self._lock, _named(self.path):
            cur = self._conn.execute(
                "INSERT INTO completions (dataset, sample_id, reviewer, completed_at, "
                "seconds_on_image) VALUES (?, ?, ?, ?, ?)",
                (dataset, sample_id, reviewer, now, float(seconds_on_image)),
            )
            return int(cur.lastrowid or 0)

    # -- reading -----------------------------------------------------------------------------

    def decisions(
        self, dataset: str, sample_ids: Iterable[str] | None = None
    ) -> list[tuple[int, Decision]]:
        """All decisions for ``dataset`` (optionally only these samples), in commit order."""
        return [(seq, Decision.from_dict(p)) for seq, p in self.payloads(dataset, sample_ids)]

    def payloads(
        self, dataset: str, sample_ids: Iterable[str] | None = None
    ) -> list[tuple[int, dict[str, Any]]]:
        """The stored form of :meth:`decisions` (other record kinds, e.g. the track decisions
        of :mod:`nblabel.reviewing.video.tracks`, are journaled under their own dataset key)."""
        with self._lock, _named(self.path):
            if sample_ids is None:
                rows = self._conn.execute(
                    "SELECT seq, payload FROM decisions WHERE dataset = ? ORDER BY seq",
                    (dataset,),
                ).fetchall()
            else:
                rows = []
                ids = list(dict.fromkeys(sample_ids))
                for chunk in _chunks(ids, 500):
                    marks = ",".join("?" * len(chunk))
                    rows += self._conn.execute(
                        f"SELECT seq, payload FROM decisions WHERE dataset = ? "
                        f"AND sample_id IN ({marks})",
                        (dataset, *chunk),
                    ).fetchall()
                rows.sort()
        return [(int(seq), json.loads(p)) for seq, p in rows]

    def latest_decisions(
        self, dataset: str, sample_ids: Iterable[str] | None = None
    ) -> dict[str, dict[str, Decision]]:
        """Per sample, the latest decision for each key, ``cleared`` ones included."""
        state: dict[str, dict[str, Decision]] = {}
        for _, d in self.decisions(dataset, sample_ids):
            state.setdefault(d.sample_id, {})[d.key] = d
        return state

    def final_decisions(
        self, dataset: str, sample_ids: Iterable[str] | None = None
    ) -> dict[str, dict[str, Decision]]:
        """Per sample, the latest decision for each key (the state the review ended in).

        Keys whose latest decision is ``cleared`` are left out; a sample whose decisions were all
        withdrawn maps to an empty dict (it still needs syncing).
        """
        return {
            sid: {k: d for k, d in per_key.items() if d.action is not Action.CLEARED}
            for sid, per_key in self.latest_decisions(dataset, sample_ids).items()
        }

    def completions(
        self, dataset: str, sample_ids: Iterable[str] | None = None
    ) -> dict[str, CompletionMark]:
        """Per sample, the latest completion mark."""
        with self._lock, _named(self.path):
            rows = self._conn.execute(
                "SELECT sample_id, reviewer, completed_at, seconds_on_image FROM completions "
                "WHERE dataset = ? ORDER BY seq",
                (dataset,),
            ).fetchall()
        wanted = set(sample_ids) if sample_ids is not None else None
        return {
            sid: CompletionMark(sid, rev, datetime.fromisoformat(at), float(sec))
            for sid, rev, at, sec in rows
            if wanted is None or sid in wanted
        }

    def datasets(self) -> list[str]:
        """Names of the datasets with decisions in this journal."""
        with self._lock, _named(self.path):
            rows = self._conn.execute("SELECT DISTINCT dataset FROM decisions").fetchall()
        return sorted(r[0] for r in rows)

    def last_seq(self, dataset: str) -> tuple[int, int]:
        """The newest (decision, completion) sequence numbers for ``dataset`` (0 if none)."""
        with self._lock, _named(self.path):
            d = self._conn.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM decisions WHERE dataset = ?", (dataset,)
            ).fetchone()[0]
            c = self._conn.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM completions WHERE dataset = ?", (dataset,)
            ).fetchone()[0]
        return int(d), int(c)

    # -- sync bookkeeping --------------------------------------------------------------------

    def synced_seq(self, dataset: str, target: str) -> tuple[int, int]:
        """Sequence numbers (decisions, completions) already synced to ``target``."""
        with self._lock, _named(self.path):
            row = self._conn.execute(
                "SELECT decisions_seq, completions_seq FROM sync_marks "
                "WHERE dataset = ? AND target = ?",
                (dataset, target),
            ).fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def mark_synced(self, dataset: str, target: str, seqs: tuple[int, int]) -> None:
        with self._lock, _named(self.path):
            self._conn.execute(
                "INSERT INTO sync_marks (dataset, target, decisions_seq, completions_seq) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (dataset, target) DO UPDATE SET "
                "decisions_seq = MAX(decisions_seq, excluded.decisions_seq), "
                "completions_seq = MAX(completions_seq, excluded.completions_seq)",
                (dataset, target, seqs[0], seqs[1]),
            )

    def waiting(self, dataset: str, target: str) -> int:
        """How many decisions and completion marks are journaled but not yet synced."""
        d, c = self.synced_seq(dataset, target)
        with self._lock, _named(self.path):
            n = self._conn.execute(
                "SELECT (SELECT COUNT(*) FROM decisions WHERE dataset = ? AND seq > ?) + "
                "(SELECT COUNT(*) FROM completions WHERE dataset = ? AND seq > ?)",
                (dataset, d, dataset, c)).fetchone()[0]
        return int(n)

    def samples_changed_since(self, dataset: str, seqs: tuple[int, int]) -> list[str]:
        """Sample ids with a decision or completion newer than ``seqs``."""
        with self._lock, _named(self.path):
            rows = self._conn.execute(
                "SELECT DISTINCT sample_id FROM decisions WHERE dataset = ? AND seq > ? "
                "UNION SELECT DISTINCT sample_id FROM completions WHERE dataset = ? AND seq > ?",
                (dataset, seqs[0], dataset, seqs[1]),
            ).fetchall()
        return sorted(r[0] for r in rows)


def _chunks(items: list[str], n: int) -> Iterable[list[str]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]
