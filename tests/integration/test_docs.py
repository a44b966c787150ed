"""The documentation: the site builds with warnings as errors (a renamed function or a broken
link fails it), a reference to a name that does not exist does fail it, and every example
marked ``<!-- test: run -->`` in the README and docs/ runs as written."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MKDOCS = str(Path(sys.executable).with_name("mkdocs"))
MARKED = re.compile(r"<!-- test: run -->\n```python\n(.*?)```", re.S)


def _build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    return subprocess.run([MKDOCS, "build", "--strict", "-f", str(config), "-d", str(site)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)


def test_site_builds_strict_with_the_api_reference(tmp_path):
    out = _build(ROOT / "mkdocs.yml", tmp_path / "site")
    assert out.returncode == 0, out.stdout + out.stderr
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    for name in ("FastSAMSegmenter", "export_reviewed", "DecisionJournal", "preannotate"):
        assert name in api, f"{name} missing from the API reference"


def test_a_renamed_function_breaks_the_build(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# API\n\n::: nblabel.no_such_function\n")
    config = tmp_path / "mkdocs.yml"
    text = (ROOT / "mkdocs.yml").read_text()
    text = re.sub(r"(?ms)^nav:.*?(?=^markdown_extensions:)", "", text)
    config.write_text(f"docs_dir: {docs}\n" + text.replace("paths: [src]",
                                                             f"paths: [{ROOT / 'src'}]"))
    out = _build(config, tmp_path / "site")
    assert out.returncode != 0 and "no_such_function" in out.stdout + out.stderr


def _examples() -> list[tuple[str, int, str]]:
    found = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for i, code in enumerate(MARKED.findall(page.read_text())):
            found.append((str(page.relative_to(ROOT)), i, code))
    return found


@pytest.mark.parametrize(("page", "index", "code"), _examples(),
                         ids=[f"{p}-{i}" for p, i, _ in _examples()])
def test_marked_examples_run(page, index, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NBLABEL_HOME", str(tmp_path / "home"))
    namespace: dict[str, object] = {"__name__": "__example__"}
    exec(compile(code, f"{page} (example {index})", "exec"), namespace)
    dataset = namespace.get("dataset")
    widget = namespace.get("widget")
    try:
        if dataset is not None:
            assert len(dataset.match_tags("reviewed")) >= 1, "the example reviews an image"
    finally:
        if widget is not None:
            widget.close()  # type: ignore[attr-defined]
        if dataset is not None:
            dataset.delete()  # type: ignore[attr-defined]


def test_examples_are_marked():
    pages = {p for p, _, _ in _examples()}
    assert {"README.md", "docs/getting-started.md"} <= pages
