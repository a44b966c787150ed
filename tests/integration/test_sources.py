"""Callable and HTTP proposal sources, the HTTP one against a real server on 127.0.0.1."""

import io
import json
import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import fiftyone as fo
import numpy as np
import pytest
from PIL import Image

from nblabel.demo.synthetic import make_shapes
from nblabel.preannotation import preannotate
from nblabel.sources import CallableSource, HTTPSource, ProposalError

LABELS = ["circle", "square", "triangle"]


class _Endpoint(BaseHTTPRequestHandler):
    """Behaviour by path: /ok, /slow, /flaky (500 once, then ok), /bad-json, /huge, /404,
    /odd (NaN score and a box outside the image next to a good one), /dict; classification:
    /cls, /cls-short (too few probabilities); segmentation: /seg (PNG of class indices),
    /seg-small (a mask of the wrong size), /seg-json (JSON instead of a PNG)."""

    calls: ClassVar[dict[str, int]] = {}

    def log_message(self, *args):  # keep test output clean
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        assert body[:2] == b"\xff\xd8", "the image is POSTed as JPEG"
        path = self.path
        n = _Endpoint.calls[path] = _Endpoint.calls.get(path, 0) + 1
        good = {"box": [10, 20, 60, 80], "scores": [0.1, 0.8, 0.1]}
        if path == "/slow":
            time.sleep(1.0)
        if (path == "/flaky" and n == 1) or path == "/500":
            return self._send(500, b"boom")
        if path == "/404":
            return self._send(404, b"no")
        if path == "/bad-json":
            return self._send(200, b"{not json")
        if path == "/huge":
            return self._send(200, b"[" + b" " * 5000 + b"]")
        if path == "/odd":
            answer = [good, {"box": [0, 0, 5, 5], "scores": [math.nan, 0.5, 0.2]},
                      {"box": [900, 900, 950, 950], "scores": [0.9, 0.05, 0.05]}]
            return self._send(200, json.dumps(answer).encode())
        if path == "/cls":
            return self._send(200, b"[0.2, 0.7, 0.1]")
        if path == "/cls-short":
            return self._send(200, b"[0.2, 0.7]")
        if path.startswith("/seg"):
            w, h = Image.open(io.BytesIO(body)).size
            if path == "/seg-json":
                return self._send(200, b"[]")
            if path == "/seg-small":
                w, h = w // 2, h // 2
            mask = np.zeros((h, w), np.uint8)
            mask[10:30, 10:50] = 1   # two separate circles ...
            mask[100:120, 200:260] = 1
            mask[50:90, 60:100] = 2  # ... and one square
            mask[0:3, 0:3] = 7       # an index with no label
            buf = io.BytesIO()
            Image.fromarray(mask, "L").save(buf, format="PNG")
            return self._send(200, buf.getvalue(), "image/png")
        if path == "/dict":
            return self._send(200, json.dumps([{"box": [1, 2, 30, 40],
                                                "scores": {"cat": 0.3, "dog": 0.7}}]).encode())
        return self._send(200, json.dumps([good]).encode())

    def _send(self, code, data, content_type="application/json"):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # /slow writes after the client gave up: a broken pipe, expected


@pytest.fixture(scope="module")
def endpoint():
    server = _Server(("127.0.0.1", 0), _Endpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


IMG = Image.new("RGB", (320, 240), "gray")


def test_http_detection_contract(endpoint):
    (props,) = HTTPSource(f"{endpoint}/ok", LABELS).propose([IMG])
    (p,) = props
    assert p.label == "square" and p.confidence == pytest.approx(0.8)
    assert p.box.as_list() == [10, 20, 50, 60] and p.scores == {
        "circle": 0.1, "square": 0.8, "triangle": 0.1}
    (props,) = HTTPSource(f"{endpoint}/dict").propose([IMG])
    assert props[0].label == "dog"


def test_http_classification_contract(endpoint):
    src = HTTPSource(f"{endpoint}/cls", LABELS, task="classify",
                     label_map={"circle": "round", "square": "angular", "triangle": "angular"})
    ((p,),) = src.propose([IMG])
    assert p.label == "angular" and p.confidence == pytest.approx(0.8)
    assert p.scores == pytest.approx({"round": 0.2, "angular": 0.8})
    assert p.box.as_list() == [0, 0, 320, 240]
    (bad,) = HTTPSource(f"{endpoint}/cls-short", LABELS, task="classify").propose([IMG])
    assert isinstance(bad, ProposalError) and "malformed classification" in str(bad)
    assert "2" in str(bad) and "3 labels" in str(bad)
    with pytest.raises(ValueError, match="needs its labels"):
        HTTPSource(f"{endpoint}/cls", task="classify")


def test_http_segmentation_contract(endpoint):
    src = HTTPSource(f"{endpoint}/seg", ["background", "circle", "square"], task="segment",
                     label_map={"circle": "circle", "square": "square"})
    (props,) = src.propose([IMG])
    boxes = sorted((p.label, p.box.as_list()) for p in props)
    assert boxes == [("circle", [10, 10, 40, 20]), ("circle", [200, 100, 60, 20]),
                     ("square", [60, 50, 40, 40])]
    from nblabel.core.images import decode_mask

    assert all(decode_mask(p.mask).all() for p in props), "each region fills its box"
    assert all(p.confidence is None for p in props)
    assert src.dropped == 1, "the pixel class 7 has no label"
    (small,) = HTTPSource(f"{endpoint}/seg-small", LABELS, task="segment").propose([IMG])
    assert isinstance(small, ProposalError) and "160x120 mask for a 320x240 image" in str(small)
    (js,) = HTTPSource(f"{endpoint}/seg-json", LABELS, task="segment").propose([IMG])
    assert isinstance(js, ProposalError) and "not a PNG mask" in str(js)


def test_http_retries_then_succeeds(endpoint):
    src = HTTPSource(f"{endpoint}/flaky", LABELS, retries=2, backoff=0.01)
    (props,) = src.propose([IMG])
    assert len(props) == 1 and _Endpoint.calls["/flaky"] == 2


@pytest.mark.parametrize("path, message", [
    ("/slow", "timed out"),
    ("/500", "HTTP 500"),
    ("/404", "HTTP 404"),
    ("/bad-json", "malformed JSON"),
    ("/huge", "more than 1000 bytes"),
])
def test_http_failures_are_clear_per_image_errors(endpoint, path, message):
    src = HTTPSource(f"{endpoint}{path}", LABELS, timeout=0.3, retries=1, backoff=0.01,
                     max_bytes=1000)
    (result,) = src.propose([IMG])
    assert isinstance(result, ProposalError) and message in str(result)


def test_endpoint_down_is_an_error_not_a_crash():
    src = HTTPSource("http://127.0.0.1:9/none", LABELS, timeout=0.5, retries=1, backoff=0.01)
    (result,) = src.propose([IMG])
    assert isinstance(result, ProposalError) and "unreachable" in str(result)


def test_odd_answers_are_clipped_or_dropped(endpoint):
    src = HTTPSource(f"{endpoint}/odd", LABELS)
    (props,) = src.propose([IMG])
    assert [p.label for p in props] == ["square"] and src.dropped == 2


def test_preannotate_with_http_and_callable_sources(endpoint, tmp_path):
    images = make_shapes(tmp_path, 4, seed=41)
    ds = fo.Dataset()
    ds.add_samples([fo.Sample(filepath=str(i.path)) for i in images])
    try:
        report = preannotate(ds, HTTPSource(f"{endpoint}/ok", LABELS), "http", progress=False)
        assert report.images == 4 and report.proposals == 4 and not report.errors
        assert ds.distinct("http.detections.label") == ["square"]

        calls = []

        def model(img):
            calls.append(img.size)
            if len(calls) == 2:
                raise RuntimeError("GPU fell over")
            mask = np.ones((10, 20), dtype=bool)
            return [{"label": "circle", "box": [5, 5, 20, 10], "score": 0.7, "mask": mask},
                    {"label": "square", "xyxy": [300, 200, 400, 300], "score": 0.6},
                    {"label": "bad", "box": [0, 0, 5, 5], "score": math.nan}]

        src = CallableSource(model)
        report = preannotate(ds, src, "fn", batch_size=2, progress=False)
        assert len(report.errors) == 1 and "GPU fell over" in next(iter(report.errors.values()))
        assert report.images == 3 and report.dropped == 3, "one NaN per image that ran"
        dets = [d for s in ds.exists("fn") for d in s.fn.detections]
        assert len(dets) == 6 and all(d.source == "model" for d in dets)
        clipped = next(d for d in dets if d.label == "square").bounding_box
        assert clipped[0] + clipped[2] == pytest.approx(1.0)
    finally:
        ds.delete()
