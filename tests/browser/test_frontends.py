"""The widget in Notebook 7, Voila and marimo (JupyterLab 4 is covered by the other browser
tests)."""

from collections.abc import Iterator

import pytest
from fiftyone import ViewField as F

from tests.browser.helpers import (
    eventually,
    focus,
    review_cells,
    row_key,
    wait_status,
    wait_widget,
)
from tests.conftest import ARTIFACTS
from tests.harness.devtools import (
    JupyterLab,
    Marimo,
    Voila,
    open_and_run,
    write_marimo_app,
    write_notebook,
)


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    server = JupyterLab(tmp_path_factory.mktemp("nb7"))
    server.start(app="notebook")
    yield server
    server.stop()


def _reviews(ds, status):
    return ds.filter_labels("predictions", F("review") == status).values(
        "predictions.detections.id", unwind=True)


def test_review_in_notebook7(shapes_dataset, notebook7, page):
    ds = shapes_dataset
    write_notebook(notebook7.root / "nb7.ipynb", review_cells(ds.name))
    open_and_run(page, notebook7.url, "nb7.ipynb", app="notebook")
    wait_widget(page)
    first = row_key(page, 0)
    focus(page)
    page.keyboard.press("a")
    wait_status(page, 0, "accepted")
    eventually(lambda: _reviews(ds, "accepted") == [first], what="the accept from Notebook 7")
    page.screenshot(path=str(ARTIFACTS / "notebook7.png"))


def test_review_in_voila(shapes_dataset, page, tmp_path):
    ds = shapes_dataset
    nb = write_notebook(tmp_path / "app.ipynb", review_cells(ds.name))
    voila = Voila(nb)
    voila.start()
    try:
        page.goto(voila.url, timeout=120_000)
        wait_widget(page)
        first = row_key(page, 0)
        focus(page)
        page.keyboard.press("r")
        wait_status(page, 0, "rejected")
        eventually(lambda: _reviews(ds, "rejected") == [first], what="the reject from Voila")
        page.screenshot(path=str(ARTIFACTS / "voila.png"))
    finally:
        voila.stop()


def test_review_in_marimo(shapes_dataset, page, tmp_path):
    ds = shapes_dataset
    app = write_marimo_app(tmp_path / "review_app.py", f"""
import marimo as mo
import fiftyone as fo
import nblabel
w = mo.ui.anywidget(nblabel.review(fo.load_dataset({ds.name!r}), reviewer="browser-tester",
                                  threshold=0.0))
w
""")
    server = Marimo(app)
    server.start()
    try:
        page.goto(server.url, timeout=120_000)
        wait_widget(page)
        first = row_key(page, 0)
        focus(page)
        page.keyboard.press("a")
        wait_status(page, 0, "accepted")
        eventually(lambda: _reviews(ds, "accepted") == [first], what="the accept from marimo")
        page.keyboard.press("ArrowRight")  # navigation: prefetched images and rows as buffers
        page.locator(f".nblabel-root[data-painted-sample='{ds.values('id')[1]}']").wait_for()
        page.screenshot(path=str(ARTIFACTS / "marimo.png"))
    finally:
        server.stop()
