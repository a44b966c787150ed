import subprocess
import sys
import textwrap

from nblabel.core.labels import Box, Decision, ImageSize, Proposal
from nblabel.store.journal import DecisionJournal

SIZE = ImageSize(100, 100)


def _proposal(i=0):
    return Proposal("cat", Box(10 + i, 10, 20, 20), 0.9, id=f"p{i}")


def test_append_is_visible_to_a_new_connection(tmp_path):
    path = tmp_path / "j.sqlite"
    j = DecisionJournal(path)
    d = Decision.accept("s1", _proposal(), SIZE, reviewer="ann")
    seq = j.append("ds", d)
    other = DecisionJournal(path)
    assert other.decisions("ds") == [(seq, d)]
    assert other._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_appending_the_same_decision_twice_keeps_one(journal):
    d = Decision.accept("s1", _proposal(), SIZE)
    assert journal.append("ds", d) == journal.append("ds", d)
    assert len(journal.decisions("ds")) == 1


def test_latest_decision_per_key_wins(journal):
    p0, p1 = _proposal(0), _proposal(1)
    journal.append("ds", Decision.accept("s1", p0, SIZE))
    journal.append("ds", Decision.accept("s1", p1, SIZE))
    journal.append("ds", Decision.reject("s1", p0, SIZE))
    journal.append("other", Decision.reject("s1", p1, SIZE))
    final = journal.final_decisions("ds")
    assert {k: d.action.value for k, d in final["s1"].items()} == {
        "p0": "rejected", "p1": "accepted"}


def test_sync_marks_track_what_changed(journal):
    journal.append("ds", Decision.accept("s1", _proposal(0), SIZE))
    journal.mark_complete("ds", "s2", "ann", 1.0)
    assert journal.samples_changed_since("ds", (0, 0)) == ["s1", "s2"]
    upto = journal.last_seq("ds")
    journal.mark_synced("ds", "fo", upto)
    assert journal.samples_changed_since("ds", journal.synced_seq("ds", "fo")) == []
    journal.append("ds", Decision.reject("s3", _proposal(1), SIZE))
    assert journal.samples_changed_since("ds", journal.synced_seq("ds", "fo")) == ["s3"]
    journal.mark_synced("ds", "fo", (0, 0))
    assert journal.synced_seq("ds", "fo") == upto, "marks never move backwards"


def test_decision_survives_a_killed_process(tmp_path):
    """A process killed (SIGKILL) right after append() returns loses nothing."""
    path = tmp_path / "j.sqlite"
    code = textwrap.dedent(f"""
        import os, signal
        from nblabel.store.journal import DecisionJournal
        from nblabel.core.labels import Box, Decision, ImageSize, Proposal
        j = DecisionJournal({str(path)!r})
        p = Proposal("cat", Box(1, 1, 5, 5), 0.5, id="pk")
        j.append("ds", Decision.accept("s1", p, ImageSize(10, 10), reviewer="ann"))
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert proc.returncode == -9
    (_seq, d), = DecisionJournal(path).decisions("ds")
    assert d.key == "pk" and d.reviewer == "ann"


def test_a_file_that_is_not_a_journal_is_named_with_what_to_do(tmp_path):
    import pytest

    from nblabel.store.journal import JournalError

    path = tmp_path / "j.sqlite"
    path.write_bytes(b"this is not a database" * 200)
    with pytest.raises(JournalError, match=r"j\.sqlite.*(not a database|damaged)"):
        DecisionJournal(path)


def test_a_journal_that_cannot_be_created_names_its_path(tmp_path):
    import pytest

    from nblabel.store.journal import JournalError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(JournalError, match=r"file/j\.sqlite.*writable folder"):
        DecisionJournal(blocker / "j.sqlite")


def test_damaged_pages_are_detected_before_anything_more_is_written(tmp_path):
    import pytest

    from nblabel.store.journal import JournalError

    path = tmp_path / "j.sqlite"
    with DecisionJournal(path) as j:
        j.append_many("ds", [Decision.accept(f"s{i}", _proposal(i % 50), SIZE)
                             for i in range(3000)])
        j._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 20 * page
    data[10 * page:12 * page] = b"\xff" * (2 * page)  # two pages in the middle
    path.write_bytes(bytes(data))
    with pytest.raises(JournalError, match=r"damaged.*\.recover"):
        DecisionJournal(path)


def test_append_many_is_one_transaction(journal):
    ds = [Decision.accept(f"s{i}", _proposal(i % 50), SIZE) for i in range(500)]
    seqs = journal.append_many("ds", ds)
    assert len(set(seqs)) == 500 and len(journal.decisions("ds")) == 500
    assert journal.waiting("ds", "t") == 500
    journal.mark_synced("ds", "t", journal.last_seq("ds"))
    assert journal.waiting("ds", "t") == 0
