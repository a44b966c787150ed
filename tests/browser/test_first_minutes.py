"""What a newcomer meets first, in real JupyterLab + Chromium: the demo notebook opens on real
images with proposals and all its cells run; moving on is a skip while Shift+N marks an image
done (a late answer to a move does not bring the image left back, and a bare Shift keeps the
focus in a widget outside JupyterLab's active cell); a decision is painted at once as on its
way, then as journaled; a refused one is put back.
"""

import json
from pathlib import Path

import fiftyone as fo
from fiftyone import ViewField as F

from tests.browser.helpers import focus, review_cells, row_key, wait_widget
from tests.conftest import ARTIFACTS

REPO = Path(__file__).resolve().parents[2]


def _progress(page) -> str:
    return page.locator(".nblabel-progress").inner_text()


def test_demo_notebook_opens_on_a_proposal_and_its_cells_run(open_notebook, page):
    nb = json.loads((REPO / "notebooks" / "quickstart.ipynb").read_text())
    cells = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    open_notebook("quickstart.ipynb", cells)
    wait_widget(page)
    # The first image of the queue is a real micrograph with proposals to review.
    page.wait_for_function("() => document.querySelectorAll('.nblabel-box').length > 0",
                           timeout=60_000)
    assert page.locator(".nblabel-filename").inner_text().startswith("nuclei-")
    assert int(page.locator(".nblabel-root").get_attribute("data-boxes-drawn")) > 0
    # Every cell ran: the last one lists the queue by difficulty.
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-OutputArea-output')]"
        ".some((o) => o.textContent.includes('difficulty'))", timeout=120_000)
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert not any("Traceback" in errors.nth(i).inner_text() for i in range(errors.count()))
    # "Run All" ends scrolled to the last cell (a scroll of the page's own, no wheel or key of
    # the reviewer's): the widget brings itself back into view once it settles.
    page.evaluate("() => { const r = document.querySelector('.nblabel-root');"
                  " let p = r.parentElement;"
                  " while (p && p.scrollHeight <= p.clientHeight + 1) p = p.parentElement;"
                  " const pad = document.createElement('div'); pad.style.height = '3000px';"
                  " r.closest('.jp-Cell').after(pad); p.scrollTop = p.scrollHeight; }")
    page.wait_for_function("() => { const r = document.querySelector('.nblabel-root');"
                           " const b = r.getBoundingClientRect();"
                           " return r.dataset.broughtBack === 'true' && b.bottom > 0"
                           " && b.top < window.innerHeight; }", timeout=15_000)
    # The help: two aligned columns that fit in the widget (scrolling, never cut).
    focus(page)
    page.keyboard.press("?")
    help_box = page.locator(".nblabel-help").bounding_box()
    root_box = page.locator(".nblabel-root").bounding_box()
    assert help_box["y"] + help_box["height"] <= root_box["y"] + root_box["height"] + 1
    assert help_box["x"] >= root_box["x"] - 1
    assert page.evaluate("() => getComputedStyle(document.querySelector('.nblabel-help'))"
                         ".overflowY") == "auto"
    kbd = page.locator(".nblabel-help-row kbd")
    lefts = {round(kbd.nth(i).bounding_box()["x"]) for i in range(5)}
    assert len(lefts) == 1, "the keys column is aligned"
    page.screenshot(path=str(ARTIFACTS / "demo-first-image.png"))


# The kernel takes 1 s over each move: its answer to a move arrives after the next key. Being
# the last cell, this one is JupyterLab's active cell, not the widget's.
_SLOW_MOVES = (
    "import time\n"
    "_go = w.go\n"
    "def _slow_go(*a, **kw):\n"
    "    time.sleep(1.0)\n"
    "    return _go(*a, **kw)\n"
    "w.go = _slow_go\n"
    "print('slow moves on')"
)


def test_moving_on_skips_and_shift_n_marks_an_image_done(shapes_dataset, open_notebook, page):
    ds = shapes_dataset
    queue = ds.values("id")
    ds.set_values("predictions", {queue[0]: fo.Detections(detections=[])}, key_field="id")
    open_notebook("skip.ipynb", [*review_cells(ds.name, queue), _SLOW_MOVES])
    wait_widget(page)
    page.wait_for_function("() => [...document.querySelectorAll('.jp-OutputArea-output')]"
                           ".some((o) => o.textContent.includes('slow moves on'))", timeout=60_000)
    focus(page)
    assert "no boxes on this image" in page.locator(".nblabel-info").inner_text()
    assert _progress(page).startswith("0 of 6 reviewed")
    page.keyboard.press("ArrowRight")  # a skip: stays unreviewed
    page.wait_for_function("() => document.querySelector('.nblabel-progress')"
                           ".textContent.includes('image 2/6')")
    assert _progress(page).startswith("0 of 6 reviewed")
    page.keyboard.press("ArrowLeft")  # at once, before the kernel has answered the first move
    page.wait_for_function("() => document.querySelector('.nblabel-progress')"
                           ".textContent.includes('image 1/6')")
    # The kernel's late answer to ArrowRight does not bring image 2 back over image 1.
    root = page.locator(".nblabel-root")
    for _ in range(12):
        page.wait_for_timeout(200)
        assert root.get_attribute("data-sample-id") == queue[0], "a late answer moved the view"
    page.keyboard.press("Shift+N")  # nothing here: done, and on to the next image
    page.wait_for_function("() => document.querySelector('.nblabel-progress')"
                           ".textContent.startsWith('1 of 6 reviewed · image 2/6')")
    # With boxes pending, Shift+N is refused with the reason, and the image stays.
    page.keyboard.press("Shift+N")
    page.wait_for_function("() => document.querySelector('.nblabel-message')"
                           ".textContent.includes('still pending')")
    assert "image 2/6" in _progress(page)
    session_done = ds.match_tags("reviewed")
    for _ in range(50):
        if len(session_done):
            break
        page.wait_for_timeout(200)
        session_done = ds.match_tags("reviewed")
    assert session_done.values("id") == [queue[0]], "only the image marked done is reviewed"


# The kernel answers accepts 1.5 s late and refuses rejects (a journal that cannot be written).
_FAULTY = (
    "import time\n"
    "from nblabel.store.journal import JournalError\n"
    "_decide = w.session.decide_many\n"
    "def _slow_or_refused(state, keys, action, **kw):\n"
    "    if str(action) == 'rejected':\n"
    "        raise JournalError('the journal cannot be written (test)')\n"
    "    time.sleep(1.5)\n"
    "    return _decide(state, keys, action, **kw)\n"
    "w.session.decide_many = _slow_or_refused\n"
    "print('faults on')"
)


def test_a_decision_is_painted_on_its_way_then_journaled_or_put_back(shapes_dataset,
                                                                     open_notebook, page):
    ds = shapes_dataset
    queue = ds.values("id")
    open_notebook("onitsway.ipynb", [*review_cells(ds.name, queue), _FAULTY])
    wait_widget(page)
    page.wait_for_function("() => [...document.querySelectorAll('.jp-OutputArea-output')]"
                           ".some((o) => o.textContent.includes('faults on'))", timeout=60_000)
    focus(page)
    first = row_key(page, 0)
    page.keyboard.press("a")
    # At once, before Python answers: accepted, with the on-its-way look.
    page.wait_for_function(
        "(k) => { const b = document.querySelector(`.nblabel-box[data-key='${k}']`);"
        " return b && b.dataset.status === 'accepted' && b.dataset.sending === 'true'"
        " && b.classList.contains('nblabel-sending'); }", arg=first, timeout=1000)
    assert page.locator(".nblabel-root").get_attribute("data-saving") == "true"
    # Then journaled: the same status, no longer on its way.
    page.wait_for_function(
        "(k) => { const b = document.querySelector(`.nblabel-box[data-key='${k}']`);"
        " return b.dataset.status === 'accepted' && b.dataset.sending === 'false'"
        " && !document.querySelector('.nblabel-root').dataset.saving; }", arg=first,
        timeout=15_000)
    # A refused decision is put back, and the widget says why.
    second = page.locator(".nblabel-box.nblabel-selected").get_attribute("data-key")
    assert second != first
    page.keyboard.press("r")
    page.wait_for_function(
        "() => document.querySelector('.nblabel-message').textContent.includes('put back')",
        timeout=15_000)
    row = page.locator(f".nblabel-box[data-key='{second}']")
    assert row.get_attribute("data-status") == "pending"
    assert row.get_attribute("data-sending") == "false"
    assert "cannot be written" in page.locator(".nblabel-message").inner_text()
    # FiftyOne has the accept, not the refused reject.
    for _ in range(75):
        rev = dict(zip(*ds.filter_labels("predictions", F("review").exists()).values(
            ["predictions.detections.id", "predictions.detections.review"], unwind=True),
            strict=True))
        if rev:
            break
        page.wait_for_timeout(200)
    assert rev == {first: "accepted"}
