"""Notebook hygiene: what nbval compares must be complete, in order and meaningful."""

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))
# A cell of more statements would be hiding code that belongs in convlib. Statements, not lines: the
# chapters are formatted to the 76 columns a code box holds at 1280 px, which spreads one call over
# several lines without adding any code.
MAX_CELL_STATEMENTS = 25
MAX_LINE = 80  # characters of a code line (the issue: code and output lines within 80)
# An output box at 1280 px holds 76 characters (tests/test_book.py measures it in the built HTML:
# 77 overflow); a wider printed line scrolls sideways in the book.
MAX_OUTPUT_LINE = 76
WIDGET = "application/vnd.jupyter.widget-view+json"


def code_cells(path):
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def test_there_are_chapters():
    assert NOTEBOOKS, "no notebooks in chapters/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_executed_in_order_with_outputs(path):
    cells = code_cells(path)
    counts = [c["execution_count"] for c in cells]
    assert counts == list(range(1, len(cells) + 1)), f"{path.name}: re-run top to bottom, got {counts}"
    for i, c in enumerate(cells):
        assert c["outputs"], f"{path.name} cell {i}: no output; every code cell shows something"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_are_clean(path):
    for i, c in enumerate(code_cells(path)):
        for out in c["outputs"]:
            assert out["output_type"] != "error", f"{path.name} cell {i}: stored error"
            assert out.get("name") != "stderr", f"{path.name} cell {i}: stderr output {out.get('text')!r}"
            text = json.dumps(out.get("text", "")) + json.dumps(out.get("data", {}).get("text/plain", ""))
            assert not re.search(r"/(work|tmp|root|home)/", text), f"{path.name} cell {i}: absolute path"
            assert not re.search(r" at 0x[0-9a-f]{6,}", text), f"{path.name} cell {i}: memory address"


def cell_tree(cell):
    """A code cell's syntax tree, without its IPython magics and shell lines."""
    text = "".join(cell["source"])
    return ast.parse("\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith(("%", "!"))))


def convlib_names(tree):
    """The names an ``import convlib...`` or ``from convlib... import ...`` binds."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {
                (a.asname or a.name).split(".")[0] for a in node.names if a.name.split(".")[0] == "convlib"
            }
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "convlib":
            names |= {a.asname or a.name for a in node.names}
    return names


def called_names(tree):
    """The root name of every call: ``f`` in ``f(...)``, ``convlib`` in ``convlib.viz.draw(...)``."""
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            while isinstance(f, ast.Attribute | ast.Call | ast.Subscript):
                f = f.func if isinstance(f, ast.Call) else f.value
            if isinstance(f, ast.Name):
                roots.add(f.id)
    return roots


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_cells_are_short(path):
    for i, c in enumerate(code_cells(path)):
        statements = sum(isinstance(node, ast.stmt) for node in ast.walk(cell_tree(c)))
        assert statements <= MAX_CELL_STATEMENTS, f"{path.name} cell {i}: {statements} statements"
        long = [ln for ln in "".join(c["source"]).splitlines() if len(ln) > MAX_LINE]
        assert not long, f"{path.name} cell {i}: lines over {MAX_LINE} characters: {long}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_output_lines_fit_the_box(path):
    for i, c in enumerate(code_cells(path)):
        for out in c["outputs"]:
            data = out.get("data", {})
            # A widget's text/plain repr is not what the book shows: the HTML renders the widget.
            plain = "" if WIDGET in data else "".join(data.get("text/plain", ""))
            lines = (plain + "\n" + "".join(out.get("text", ""))).splitlines()
            long = [ln for ln in lines if len(ln) > MAX_OUTPUT_LINE]
            assert not long, f"{path.name} cell {i}: output lines over {MAX_OUTPUT_LINE}: {long}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_calls_convlib(path):
    # The book teaches and proves with convlib: each chapter imports it and calls what it imported
    # (a mention in a comment, a string or an unused import does not count).
    trees = [cell_tree(c) for c in code_cells(path)]
    imported = set().union(*map(convlib_names, trees))
    assert imported, f"{path.name} imports nothing from convlib"
    called = set().union(*map(called_names, trees)) & imported
    assert called, f"{path.name} imports {sorted(imported)} from convlib but calls none of them"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_listed_in_toc(path):
    toc = (ROOT / "_toc.yml").read_text()
    assert f"chapters/{path.stem}" in toc, f"{path.name} is not in _toc.yml"


def test_notebook_kernels_pin_the_cpu_kernels():
    # nbval's kernel (conftest) and the JupyterLab kernel (Makefile) fix the same OpenBLAS and oneDNN
    # kernels, and a kernel started from conftest's kernelspec really has them in its environment.
    import importlib.util
    import shutil

    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    # The project's conftest.py, by its path: the name "conftest" is tests/conftest.py's in here.
    spec = importlib.util.spec_from_file_location("project_conftest", ROOT / "conftest.py")
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)
    make_env = dict(re.findall(r"--env (\w+) (\S+)", (ROOT / "Makefile").read_text()))
    assert make_env == conftest.NOTEBOOK_ENV
    root = conftest._kernelspec_dir()
    try:
        ksm = KernelSpecManager(kernel_dirs=[str(root / "kernels")])
        km = KernelManager(kernel_name=conftest.KERNEL_NAME, kernel_spec_manager=ksm)
        km.start_kernel()
        kc = km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=60)
            names = sorted(conftest.NOTEBOOK_ENV)
            seen = []
            code = f"import os; print([os.environ.get(n) for n in {names!r}])"
            reply = kc.execute_interactive(
                code, timeout=60, output_hook=lambda m: seen.append(m["content"].get("text", ""))
            )
            assert reply["content"]["status"] == "ok"
            assert "".join(seen).strip() == str([conftest.NOTEBOOK_ENV[n] for n in names])
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


# The book answers one question; its prose (markdown cells and the cheat sheet, not code or output)
# stays within a budget a reader can finish, and no chapter carries more than one sitting's worth.
MAX_BOOK_WORDS = 28_000
MAX_CHAPTER_WORDS = 3_000


def prose_words(path) -> int:
    if path.suffix == ".md":
        return len(re.findall(r"\S+", path.read_text()))
    cells = json.loads(path.read_text())["cells"]
    return sum(len(re.findall(r"\S+", "".join(c["source"]))) for c in cells if c["cell_type"] == "markdown")


def test_prose_fits_its_budget():
    words = {p.name: prose_words(p) for p in [*NOTEBOOKS, ROOT / "chapters" / "cheatsheet.md"]}
    long = {name: n for name, n in words.items() if n > MAX_CHAPTER_WORDS}
    assert not long, f"chapters over {MAX_CHAPTER_WORDS} words of prose: {long}"
    assert sum(words.values()) <= MAX_BOOK_WORDS, f"{sum(words.values())} words of prose: {words}"
