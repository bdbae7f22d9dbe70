"""The code style the project agreed on (pyproject.toml [tool.ruff]) holds for the whole tree, and the
size limits of issue 9 hold for rnnviz/: no module over 600 lines, no function over 60 lines, no function
more complex than 12 (McCabe, ruff C901), and no import cycle between the ui modules."""

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 60

# Code that another branch of issue 9 is rewriting at the same time, kept out of the limits until that branch
# is merged: (path, function) pairs. Empty: every branch has merged (the files branch's entries went with it).
PENDING_FUNCTIONS: set[tuple[str, str | None]] = set()


def _pending(path: str, function: str | None = None) -> bool:
    return (path, function) in PENDING_FUNCTIONS


def _modules():
    for p in sorted((ROOT / "rnnviz").rglob("*.py")):
        rel = p.relative_to(ROOT).as_posix()
        if not _pending(rel):
            yield rel, p


def test_ruff_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_function_in_rnnviz_is_too_complex():
    """ruff's C901 with pyproject's max-complexity (12) over rnnviz/."""
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "C901",
                             "--output-format", "json", "rnnviz/"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    found = json.loads(result.stdout)
    too_complex = []
    for d in found:
        rel = Path(d["filename"]).resolve().relative_to(ROOT).as_posix()
        name = d["message"].split("`")[1]
        if not _pending(rel, name):
            too_complex.append(f"{rel}:{d['location']['row']} {d['message']}")
    assert not too_complex, "\n".join(too_complex)
    assert result.returncode in (0, 1), result.stderr


def test_no_module_or_function_in_rnnviz_is_too_long():
    long = []
    for rel, p in _modules():
        text = p.read_text()
        if text.count("\n") > MAX_MODULE_LINES:
            long.append(f"{rel}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not _pending(rel, node.name):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{rel}:{node.lineno} {node.name}: {n} lines")
    assert not long, "\n".join(long)


def _ui_imports(path: Path) -> set[str]:
    """The ui modules a ui module imports, at any depth of the file (function-level imports count)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "ui":
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ui."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("ui.")}
    return found


def test_the_ui_modules_import_each_other_without_a_cycle():
    graph = {p.stem: _ui_imports(p) for p in (ROOT / "ui").glob("*.py") if p.stem != "__init__"}

    def reach(start, node, seen):
        for nxt in graph.get(node, ()):
            if nxt == start:
                return True
            if nxt not in seen:
                seen.add(nxt)
                if reach(start, nxt, seen):
                    return True
        return False

    assert graph["text"] == set()
    assert [m for m in graph if reach(m, m, set())] == []


def test_no_two_test_modules_share_a_basename():
    """tests/, tests/app and tests/e2e have no __init__.py: pytest's default import mode imports a test module
    by its basename, so two files named alike make the whole suite fail to collect (it happened once)."""
    seen: dict[str, list[str]] = {}
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        seen.setdefault(path.name, []).append(str(path.relative_to(ROOT)))
    assert {name: where for name, where in seen.items() if len(where) > 1} == {}
