"""A real JupyterLab server and headless Chromium (Debian's, driven by Playwright).

``lab`` starts JupyterLab (token-less, on loopback, isolated config/data/workspace folders) with
the test run's environment, so its kernels use the test mongod. ``page`` is a fresh Chromium page.
``open_notebook`` writes a notebook, opens it in JupyterLab and runs all its cells.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from tests.conftest import ARTIFACTS, free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

pytestmark = pytest.mark.browser


@dataclass
class Lab:
    url: str
    root: Path


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium is missing: run `make test` (installs it from apt)")
    base = tmp_path_factory.mktemp("lab")
    root = base / "notebooks"
    root.mkdir()
    config = base / "config"
    (config / "labconfig").mkdir(parents=True)
    (config / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(config),
               JUPYTER_RUNTIME_DIR=str(base / "runtime"), JUPYTER_PLATFORM_DIRS="1")
    port = free_port()
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        "--port-retries=0", f"--ServerApp.root_dir={root}", "--IdentityProvider.token=",
        "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
        "--LabApp.expose_app_in_browser=True", f"--LabServerApp.workspaces_dir={base / 'ws'}",
    ]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(base / "lab.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/status", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"JupyterLab did not start:\n{(base / 'lab.log').read_text()}")
        time.sleep(0.3)
    yield Lab(url, root)
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    shutil.copyfile(base / "lab.log", ARTIFACTS / "jupyterlab.log")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
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


def _wait(page: object, js: str, timeout: float = 60.0) -> None:
    page.wait_for_function(js, timeout=timeout * 1000)  # type: ignore[attr-defined]


@pytest.fixture
def open_notebook(lab: Lab, page: object) -> Callable[[str, list[str]], object]:
    """Write ``cells`` as notebook ``name``, open it in JupyterLab and run all cells."""

    def _open(name: str, cells: list[str]) -> object:
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nbformat.write(nb, lab.root / name)
        # A workspace of its own, reset, so no other notebook is restored next to this one.
        workspace = Path(name).stem
        page.goto(f"{lab.url}/lab/workspaces/{workspace}/tree/{name}?reset")  # type: ignore[attr-defined]
        _wait(page, "() => window.jupyterapp && document.querySelector('.jp-Notebook')")
        # Wait for this notebook's kernel, then run everything.
        _wait(page, f"""() => {{
            const w = window.jupyterapp.shell.currentWidget;
            return w && w.context && w.context.path === {json.dumps(name)} &&
                   w.sessionContext && w.sessionContext.session &&
                   w.sessionContext.session.kernel &&
                   w.sessionContext.session.kernel.connectionStatus === 'connected' &&
                   w.sessionContext.session.kernel.status === 'idle';
        }}""", timeout=120)
        page.evaluate(  # type: ignore[attr-defined]
            "window.jupyterapp.commands.execute('notebook:run-all-cells')")
        return page

    return _open
