"""A real JupyterLab server and headless Chromium (Debian's, driven by Playwright).

``lab`` starts JupyterLab (token-less, on loopback, isolated config/data/workspace folders) with
the test run's environment, so its kernels use the test mongod. ``page`` is a fresh Chromium page.
``open_notebook`` writes a notebook, opens it in JupyterLab and runs all its cells.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator

import pytest

from tests.conftest import ARTIFACTS
from tests.harness.devtools import (
    CHROMIUM_ARGS,
    JupyterLab,
    chromium_path,
    open_and_run,
    write_notebook,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    chromium_path()  # fail early, with the fix, when Chromium is missing
    server = JupyterLab(tmp_path_factory.mktemp("lab"))
    server.start()
    yield server
    server.stop()
    shutil.copyfile(server.log_path, ARTIFACTS / "jupyterlab.log")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: object, request: pytest.FixtureRequest) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    pg = context.new_page()
    console: list[str] = []
    pg.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    pg.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    yield pg
    name = request.node.name
    with contextlib.suppress(Exception):  # a crashed page has no screenshot to give
        pg.screenshot(path=str(ARTIFACTS / f"{name}-final.png"))
    (ARTIFACTS / f"{name}-console.log").write_text("\n".join(console))
    context.close()


@pytest.fixture
def open_notebook(lab: JupyterLab, page: object) -> Callable[[str, list[str]], object]:
    """Write ``cells`` as notebook ``name``, open it in JupyterLab and run all cells."""

    def _open(name: str, cells: list[str]) -> object:
        write_notebook(lab.root / name, cells)
        open_and_run(page, lab.url, name)
        return page

    return _open
