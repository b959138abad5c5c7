"""``make lab`` for real: JupyterLab on the chapters, a chapter run in headless Chromium, a slider moved.

The test starts ``jupyter lab`` on 127.0.0.1 with a random token, on a copy of a chapter (so
that JupyterLab's autosave cannot touch the committed notebooks), with the project's kernel
(``conv2d-book``, registered by ``make venv``). The copy is chapter 1, the one a newcomer opens
first, with chapter 6's size-explorer cell appended (chapter 6 itself runs under nbval; run here
too, it cost 13 s of kernel time for its 6,912-call sweep). The test opens it in Chromium, runs
every cell through JupyterLab's own ``notebook:run-all-cells`` command, asserts that no cell
produced an error, then moves a slider of the explorer with the keyboard and asserts that the
drawn figure changed. Bounded in time; skipped only where Chromium is absent (CI installs it).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from chromium import needs_chromium, start_chromium

ROOT = Path(__file__).resolve().parents[1]
JUPYTER = Path(sys.executable).with_name("jupyter")
CHAPTER = "01_seed_examples.ipynb"
EXPLORER_FROM = "06_general_formula.ipynb"
KERNEL = "conv2d-book"

pytestmark = [needs_chromium, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kernel_installed() -> bool:
    done = subprocess.run([str(JUPYTER), "kernelspec", "list"], capture_output=True, text=True, timeout=60)
    return KERNEL in done.stdout


def _chapter_with_explorer(path: Path) -> None:
    """Chapter 1 with chapter 6's explorer cell appended, as written there (plus its import)."""
    chapter = json.loads((ROOT / "chapters" / CHAPTER).read_text(encoding="utf-8"))
    source = json.loads((ROOT / "chapters" / EXPLORER_FROM).read_text(encoding="utf-8"))
    code_cells = ("".join(c["source"]) for c in source["cells"] if c["cell_type"] == "code")
    explorer = next(text for text in code_cells if "viz.explore(" in text)
    code = "from convlib import viz\n\n" + explorer
    chapter["cells"].append(
        {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": code}
    )
    path.write_text(json.dumps(chapter), encoding="utf-8")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not _kernel_installed():
        pytest.fail(f"the {KERNEL!r} kernel is not registered: run `make venv` (it installs it)")
    work = tmp_path_factory.mktemp("lab")
    _chapter_with_explorer(work / CHAPTER)
    port, token = _free_port(), secrets.token_hex(16)
    cmd = [
        str(JUPYTER),
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={work}",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: run commands as the menus do
    ]
    if os.geteuid() == 0:  # CI containers run as root; JupyterLab refuses root without this
        cmd.append("--allow-root")
    log = (work / "lab.log").open("w")
    # A session of its own, so that the server and the kernels it started end together (below).
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=work, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited:\n{(work / 'lab.log').read_text()[-3000:]}")
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("jupyter lab did not start listening within 90 s")
    yield url, token
    os.killpg(proc.pid, signal.SIGKILL)  # a clean shutdown waits seconds for each kernel; nothing is saved
    proc.wait()
    log.close()


@pytest.fixture(scope="module")
def page(lab, tmp_path_factory):
    url, token = lab
    driver = start_chromium(tmp_path_factory.mktemp("lab-profile"), logs=False)
    driver.get(f"{url}/lab/tree/{CHAPTER}?token={token}")
    yield driver
    driver.quit()


def _wait(driver, script: str, timeout: float, what: str, *args):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script, *args)
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


NOTEBOOK = "const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"


def test_a_chapter_runs_top_to_bottom_in_jupyterlab(page):
    _wait(
        page,
        NOTEBOOK + "return w && w.context && w.context.isReady && w.sessionContext.session"
        " && w.sessionContext.session.kernel && w.sessionContext.kernelDisplayName;",
        120,
        "the notebook and its kernel",
    )
    kernel = page.execute_script(NOTEBOOK + "return w.sessionContext.session.kernel.name;")
    assert kernel == KERNEL, f"the chapter opened with kernel {kernel!r}, not the project's {KERNEL!r}"
    page.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells');")
    count = page.execute_script(NOTEBOOK + "return w.content.model.cells.length;")
    # Done when every code cell has an execution count and the kernel is idle again.
    _wait(
        page,
        NOTEBOOK + "const cells = Array.from(w.content.model.cells).filter(c => c.type === 'code');"
        " return w.sessionContext.session.kernel.status === 'idle'"
        " && cells.every(c => c.executionCount !== null) && cells.length;",
        300,
        "every cell to run",
    )
    errors = page.execute_script(
        NOTEBOOK + "const bad = [];"
        " Array.from(w.content.model.cells).forEach((c, i) => { if (c.type !== 'code') return;"
        "   c.toJSON().outputs.forEach(o => {"
        "     if (o.output_type === 'error') bad.push([i, o.ename, o.evalue]); }); });"
        " return bad;"
    )
    assert count > 10
    assert errors == [], f"cells with an error output: {errors}"


def test_a_slider_of_the_explorer_redraws(page):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    # JupyterLab 4 renders only the cells in view: bring the explorer's cell (viz.explore) into it.
    index = page.execute_script(
        NOTEBOOK + "const cells = Array.from(w.content.model.cells);"
        " return cells.findIndex(c => c.sharedModel.getSource().includes('viz.explore('));"
    )
    assert index >= 0, "the notebook has no explorer cell"
    page.execute_script(
        NOTEBOOK + "w.content.activeCellIndex = arguments[0]; w.content.scrollToItem(arguments[0]);", index
    )
    cell = NOTEBOOK + "const node = w.content.widgets[arguments[0]].node;"
    before = _wait(
        page,
        cell + " const img = node.querySelector('.widget-output img');"
        " return img ? img.getAttribute('src') : '';",
        60,
        "the explorer's figure",
        index,
    )
    handle = _wait(
        page,
        cell + " return node.querySelector('.widget-slider .noUi-handle');",
        30,
        "a slider handle (the widget front end renders ipywidgets)",
        index,
    )
    page.execute_script("arguments[0].focus();", handle)
    ActionChains(page).send_keys(Keys.ARROW_RIGHT).perform()
    after = _wait(
        page,
        cell + " const img = node.querySelector('.widget-output img');"
        " const src = img ? img.getAttribute('src') : ''; return src && src !== arguments[1] ? src : '';",
        60,
        "the figure to change after moving the slider",
        index,
        before,
    )
    assert after != before
