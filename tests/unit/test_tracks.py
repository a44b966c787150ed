"""Tracks, pure: keyframes interpolate, and a track's suspicious frames are the ones that need
a look (low or dropping confidence, jumps, gaps, crossings, short tracks)."""

import pytest

from nblabel.core.tracks import TrackBox, crossings, interpolate, order_tracks, suspicion


def _walk(n, x0=0.0, dx=2.0, y=10.0, conf=0.9, start=0):
    return [TrackBox(start + f, (x0 + dx * f, y, 20.0, 20.0), conf) for f in range(n)]


def test_keyframes_interpolate_linearly_and_stay_as_given():
    out = interpolate([TrackBox(10, (0, 0, 10, 10), 0.9), TrackBox(0, (0, 0, 10, 10), 0.8),
                       TrackBox(4, (40, 20, 10, 30))])
    assert [b.frame for b in out] == list(range(11))
    assert out[2].box == pytest.approx((20, 10, 10, 20)) and out[2].confidence is None
    assert out[0].confidence == 0.8 and out[10].confidence == 0.9
    with pytest.raises(ValueError, match="two keyframes on one frame"):
        interpolate([TrackBox(1, (0, 0, 1, 1)), TrackBox(1, (0, 0, 2, 2))])


def test_a_steady_track_is_not_suspect():
    s = suspicion(_walk(30))
    assert s.flags == {} and s.score == 0.0


def test_each_kind_of_trouble_is_flagged_on_its_frame():
    track = _walk(30)
    track[10] = TrackBox(10, track[10].box, 0.3)  # low and dropping confidence
    track[15] = TrackBox(15, (track[15].box[0], 10.0, 40.0, 40.0), 0.9)  # size jump
    track[20] = TrackBox(20, (200.0, 10.0, 20.0, 20.0), 0.9)  # position jump
    del track[25:27]  # lost for two frames
    s = suspicion(track, crossing_frames={5})
    assert s.flags[10] == ["low confidence", "confidence drop"]
    assert "size jump" in s.flags[15] and "position jump" in s.flags[20]
    assert s.flags[27] == ["gap"] and s.flags[5] == ["crossing"]
    assert s.frames()[:3] == [5, 10, 15] and 0.9 < s.score < 1.0
    assert suspicion(_walk(3)).flags == {-1: ["short"]}


def test_crossing_tracks_are_flagged_and_ordered_first():
    a = _walk(20, x0=0, dx=4)
    b = _walk(20, x0=76, dx=-4)  # meets a around frame 9-10
    c = _walk(20, y=200)
    cross = crossings({"a": a, "b": b, "c": c})
    assert cross["a"] == cross["b"] and 9 in cross["a"] and "c" not in cross
    order = [tid for tid, _ in order_tracks({"c": c, "a": a, "b": b})]
    assert order == ["a", "b", "c"]


def test_tracks_a_tracker_got_wrong_come_first():
    """Generated tracks (crossings, entries, exits), a third given a known fault: the faulty
    ones fill the top of the order, over five seeds."""
    from nblabel.demo.tracks import faulty_tracks, sprite_tracks

    hits, total = 0, 0
    for seed in range(5):
        got = faulty_tracks(sprite_tracks(12, 120, seed=seed), seed=seed)
        order = [tid for tid, _ in order_tracks(got.tracks)]
        top = order[:len(got.faults)]
        hits += sum(t in got.faults for t in top)
        total += len(got.faults)
    assert total >= 8 and hits / total >= 0.7, (hits, total)
