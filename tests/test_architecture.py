"""The house rules, read from the source: no import cycles, and the core never imports the proof room."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "convlib"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in ROOT.rglob("*.py")}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every convlib module ``name`` imports, at module level or inside a function."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [(base, [a.name for a in node.names])]
        else:
            continue
        for base, names in targets:
            if not base.startswith("convlib"):
                continue
            subs = [f"{base}.{n}" for n in names if f"{base}.{n}" in known]
            found.update(subs)
            if len(subs) < len(names) or not names:
                found.add(base)
    return found - {name}


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {name: _imports(name, path, set(mods)) for name, path in mods.items()}


def test_the_reader_finds_every_module():
    graph = _graph()
    assert {"convlib", "convlib.conv", "convlib.proof", "convlib.proof.crosscheck.report"} <= set(graph)
    # The reader resolves relative imports: conv.py's "from .engines import ..." is an edge.
    assert "convlib.engines" in graph["convlib.conv"]


def test_core_never_imports_the_proof_room():
    graph = _graph()
    offenders = {
        mod: sorted(t for t in targets if t == "convlib.proof" or t.startswith("convlib.proof."))
        for mod, targets in graph.items()
        if not (mod == "convlib.proof" or mod.startswith("convlib.proof."))
    }
    assert {m: t for m, t in offenders.items() if t} == {}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle_among_convlib_modules():
    assert _cycle(_graph()) is None


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_import_convlib_loads_no_framework():
    import subprocess
    import sys

    code = (
        "import sys, convlib, convlib.viz; print(sorted({'torch', 'tensorflow', 'keras'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
