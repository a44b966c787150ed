"""The notebooks run headless from top to bottom (nbclient, a real kernel, the test mongod)."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]


def _run(name: str, timeout: int, after: dict[str, str] | None = None) -> list:
    """Execute ``notebooks/<name>`` in a fresh kernel; the outputs of its code cells.
    ``after``: code cells to insert after the first cell containing each key (what a reviewer
    would have done there)."""
    nb = nbformat.read(REPO / "notebooks" / name, as_version=4)
    for key, code in (after or {}).items():
        at = next(i for i, c in enumerate(nb.cells) if key in c.source)
        nb.cells.insert(at + 1, nbformat.v4.new_code_cell(code))
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(REPO / "notebooks")}}).execute()
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


@pytest.mark.slow
def test_quickstart_runs():
    outputs = _run("quickstart.ipynb", 600)
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, errors[0].get("traceback") if errors else ""
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "nblabel-demo 10 samples" in text
    assert "images that failed to load: 1" in text
    assert "accepted: 0 rejected: 0 reviewed images: 0" in text
    assert "review two or more" in text, "the learning round waits for reviewed images"
    assert "nuclei-" in text and "difficulty" in text, "the queue by uncertainty is shown"
    views = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert views, "the review widget was displayed"


@pytest.mark.slow
def test_quickstart_learning_round_after_two_reviewed_images():
    """The quickstart's learning round for real: two images reviewed (as the keys would), a
    detector trained in the background on them, its round announced in the widget."""
    outputs = _run("quickstart.ipynb", 900, after={
        "widget = nblabel.review": "for _ in range(2):\n    widget.accept_all()\n"
                                   "    widget.go(1)\nwidget.session.flush()",
        "start_round": "version, proposed = round_.result(timeout=800)\n"
                       "print('round', version.round, 'on', version.train_images, 'images;',\n"
                       "      'notice:', widget.notice)",
    })
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, errors[0].get("traceback") if errors else ""
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "reviewed images: 2" in text
    assert "training on 2 reviewed images in the background" in text
    assert "round 1 on" in text and "notice: model round 1" in text


@pytest.mark.slow
def test_online_learning_runs(demo_model):
    outputs = _run("online_learning.ipynb", 900)
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, errors[0].get("traceback") if errors else ""
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "160 images" in text
    assert "model round 1 ready" in text and "pseudo-labelled images" in text
    views = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 2, "the review widget and the spot-check widget"
    plots = [o for o in outputs if "image/png" in o.get("data", {})]
    assert plots, "the calibration plot"
