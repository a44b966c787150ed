"""Video files, read with PyAV: what a video holds, and its frames one window at a time.

Frame numbers are FiftyOne's: 1, 2, ... in decoding (presentation) order, whatever the frame
rate. :func:`probe` reads a video's size, rate and exact frame count from its packets (a demux,
no decoding), notes a variable frame rate, and keeps each frame's timestamp and the keyframes,
so :meth:`VideoReader.frames` can start anywhere by seeking to the keyframe before it. Memory is
bounded by the frames the caller holds, never by the video's length.

Why PyAV and not OpenCV: OpenCV's frame count is the container's estimate (wrong on variable
frame rates and some files), its seeking is approximate, and it hides decode errors; PyAV names
the packet that fails. Its wheels bundle FFmpeg's libraries, so no ffmpeg binary is needed.

Bad input raises :class:`VideoError` naming the file and, where known, the frame: a file that is
not a video, one with no video stream, a truncated one (the frames before the damage are read).
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["VideoError", "VideoInfo", "VideoReader", "probe"]


class VideoError(ValueError):
    """A video, or one of its frames, cannot be read (the message names file and frame)."""

    def __init__(self, path: str | os.PathLike[str], reason: str, frame: int | None = None):
        self.path = str(path)
        self.frame = frame
        where = f", frame {frame}" if frame is not None else ""
        super().__init__(f"cannot read video {self.path}{where}: {reason}")


@dataclass
class VideoInfo:
    """What :func:`probe` found: ``frame_count`` frames of ``width`` x ``height``."""

    path: str
    width: int
    height: int
    frame_count: int
    fps: float
    duration: float
    codec: str
    #: Frame durations differ by more than 10 %: frames are numbered in order, timestamps kept.
    variable_rate: bool
    #: Presentation time of each frame, in the stream's time base (``pts[n - 1]``: frame n).
    pts: list[int] = field(repr=False, default_factory=list)
    #: The frame numbers that are keyframes (where decoding can start).
    keyframes: list[int] = field(repr=False, default_factory=list)
    size_bytes: int = 0
    #: Why the file ends before it says it does (a packet that fails, or fewer frames than
    #: its declared duration holds): the frames before are read, then :class:`VideoError`.
    damage: str = ""

    def metadata(self) -> dict[str, object]:
        """The fields of FiftyOne's ``VideoMetadata`` (no ffprobe needed)."""
        return {"size_bytes": self.size_bytes, "mime_type": "video/mp4",
                "frame_width": self.width, "frame_height": self.height,
                "frame_rate": self.fps, "total_frame_count": self.frame_count,
                "duration": self.duration, "encoding_str": self.codec}


def _open(path: str | os.PathLike[str]):  # type: ignore[no-untyped-def]
    import av

    if not Path(path).is_file():
        raise VideoError(path, "no such file")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise VideoError(path, f"not a video FFmpeg can open ({exc})") from exc
    if not container.streams.video:
        container.close()
        raise VideoError(path, "it holds no video stream")
    return container


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Size, rate, exact frame count, timestamps and keyframes of ``path`` (see module doc)."""
    import av

    container = _open(path)
    try:
        stream = container.streams.video[0]
        pts: list[tuple[int, bool]] = []
        damage = ""
        try:
            for packet in container.demux(stream):
                if packet.size and packet.pts is not None:
                    pts.append((int(packet.pts), bool(packet.is_keyframe)))
        except av.error.FFmpegError as exc:
            if not pts:
                raise VideoError(path, f"no frame can be read ({exc})") from exc
            damage = f"a packet after frame {len(pts)} cannot be read ({exc})"
        if not pts:
            raise VideoError(path, "it holds no frames")
        pts.sort()
        times = [p for p, _ in pts]
        keyframes = [i + 1 for i, (_, key) in enumerate(pts) if key] or [1]
        base = float(stream.time_base) if stream.time_base else 0.0
        steps = np.diff(times) if len(times) > 1 else np.array([1])
        typical = float(np.median(steps)) or 1.0
        variable = bool(len(times) > 2 and np.max(np.abs(steps - typical)) > 0.1 * typical)
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate else (1.0 / (typical * base) if base else 0.0)
        duration = (times[-1] - times[0] + typical) * base if base else len(times) / (fps or 1)
        declared = container.duration / 1e6 if container.duration else 0.0  # microseconds
        if not damage and fps and declared - duration > 2.5 / fps:
            damage = (f"it ends after frame {len(times)} ({duration:.2f} s) but says it lasts "
                      f"{declared:.2f} s (truncated?)")
        return VideoInfo(str(path), stream.codec_context.width, stream.codec_context.height,
                         len(times), fps, float(duration), stream.codec_context.name, variable,
                         times, keyframes, Path(path).stat().st_size, damage)
    finally:
        container.close()


class VideoReader:
    """Frames of one video as RGB arrays, from any frame on (see the module doc).

    ``reader.frames(start, stop)`` yields ``(frame_number, array)`` for ``start <= n <= stop``;
    ``reader.frame(n)`` returns one. The file is opened per call and closed after, so a reader
    holds no decoder between calls (the widget asks for windows of frames around the shown one).
    """

    def __init__(self, path: str | os.PathLike[str], info: VideoInfo | None = None) -> None:
        self.path = str(path)
        self.info = info or probe(path)

    def __len__(self) -> int:
        return self.info.frame_count

    def frame(self, n: int) -> np.ndarray:
        """Frame ``n`` (1-based) as an RGB ``uint8`` array."""
        for _, image in self.frames(n, n):
            return image
        raise VideoError(self.path, "beyond the last frame", n)  # pragma: no cover

    def frames(self, start: int = 1, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """Frames ``start`` to ``stop`` (inclusive; default: the last), decoded in order."""
        import av

        info = self.info
        stop = info.frame_count if stop is None else min(stop, info.frame_count)
        if not 1 <= start <= info.frame_count:
            raise VideoError(self.path, f"there are frames 1 to {info.frame_count}", start)
        if stop < start:
            return
        key = info.keyframes[max(0, bisect.bisect_right(info.keyframes, start) - 1)]
        number = {p: i + 1 for i, p in enumerate(info.pts[key - 1:stop], start=key - 1)}
        container = _open(self.path)
        try:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            if key > 1:
                container.seek(info.pts[key - 1], stream=stream, backward=True)
            last = start - 1
            try:
                for frame in container.decode(stream):
                    n = number.get(int(frame.pts)) if frame.pts is not None else None
                    if n is None or n < start:
                        continue
                    yield n, frame.to_ndarray(format="rgb24")
                    last = n
                    if n >= stop:
                        break
            except av.error.FFmpegError as exc:
                raise VideoError(self.path, f"the file is damaged ({exc})", last + 1) from exc
            if last < stop:
                raise VideoError(self.path, "the file ends early (truncated?)", last + 1)
            if info.damage and stop == info.frame_count:
                raise VideoError(self.path, info.damage, last + 1)
        finally:
            container.close()
