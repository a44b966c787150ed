"""Review actions on whole tracks (pure): each returns the tracks it changes, in their final
state; a fix spreads between keyframes; split, merge, swap and end keep every box once."""

import pytest

from nblabel.core import track_edits as te
from nblabel.core.track_edits import Track, TrackDecision
from nblabel.core.tracks import TrackBox


def _track(tid="1", frames=range(1, 41), drift_from=None):
    boxes = []
    for f in frames:
        x = 10.0 + 2 * f
        if drift_from is not None and f >= drift_from:
            x += 3.0 * (f - drift_from + 1)  # the tracker slides off its object
        boxes.append(TrackBox(f, (x, 50.0, 20.0, 20.0), 0.9))
    return Track.proposed(tid, "car", boxes)


def test_two_keyframes_put_a_drifting_track_back_and_leave_the_good_part():
    t = _track(drift_from=21)
    true_x = {f: 10.0 + 2 * f for f in range(1, 41)}
    (fixed,) = te.fix_box(t, 40, (true_x[40], 50.0, 20.0, 20.0))
    (fixed,) = te.fix_box(fixed, 20, (true_x[20], 50.0, 20.0, 20.0))
    assert fixed.status == "edited" and fixed.keyframes == {20, 40}
    err = [abs(fixed.boxes[f][0] - true_x[f]) for f in range(1, 41)]
    assert max(err[:19]) < 1e-9, "frames before the good keyframe are untouched"
    assert max(err) < 3.5, err  # the drift (up to 60 px) is gone but for the first step
    assert sum(err) / len(err) < 0.5


def test_split_merge_swap_end_and_a_new_track():
    t = _track()
    head, tail = te.split(t, 21, "9")
    assert head.frames == list(range(1, 21)) and tail.frames == list(range(21, 41))
    assert (head.status, tail.status, tail.id) == ("edited", "added", "9")
    merged, gone = te.merge(head, tail)
    assert merged.frames == t.frames and gone.status == "rejected"
    with pytest.raises(ValueError, match="cannot be split at frame 41"):
        te.split(t, 41, "x")
    a, b = _track("1"), _track("2", frames=range(10, 51))
    sa, sb = te.swap(a, b, 30)
    assert sa.boxes[35] == b.boxes[35] and sb.boxes[35] == a.boxes[35]
    assert sa.boxes[29] == a.boxes[29] and sa.last == 50 and sb.last == 40
    (bridged,) = te.bridge(t, 5, 9)
    assert bridged.boxes[7] == (24.0, 50.0, 20.0, 20.0) and bridged.keyframes == {5, 9}
    (later,) = te.fix_box(bridged, 30, (80.0, 50.0, 20.0, 20.0))
    assert later.boxes[7] == bridged.boxes[7], "a later fix keeps what a bridge set"
    with pytest.raises(ValueError, match="frames 5 and 6"):
        te.bridge(t, 5, 6)
    (ended,) = te.end(t, 12)
    assert ended.last == 12
    (new,) = te.new_track("7", "bus", {1: (0, 0, 10, 10), 11: (100, 0, 10, 10)})
    assert new.status == "added" and new.boxes[6] == (50.0, 0.0, 10.0, 10.0)
    assert te.accept(t)[0].status == "accepted" and te.reject(t)[0].status == "rejected"
    with pytest.raises(ValueError, match="no area"):
        te.fix_box(t, 3, (0, 0, 0, 5))


def test_a_gap_is_filled_and_a_decision_round_trips_through_json():
    t = _track(frames=[1, 2, 3, 8, 9])
    (kept,) = te.fix_box(t, 9, (40.0, 50.0, 20.0, 20.0))
    assert kept.frames == list(range(1, 10)), "the lost frames 4-7 are filled"
    d = TrackDecision("s1", kept.id, kept, "ann", 3.5)
    back = TrackDecision.from_dict(d.to_dict())
    assert back == d and back.key == "track:1"
    assert TrackDecision.from_dict(TrackDecision("s1", "1", None).to_dict()).track is None
