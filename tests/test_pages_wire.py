"""Pages only wire: each page reads the session, calls rnnviz and ui helpers and renders.

A page stays under 60 lines and does no arithmetic on the data (no arithmetic operator, no NumPy):
anything computed lives in rnnviz/ (unit-tested there) or in a ui/ helper.
"""

import ast
from pathlib import Path

import pytest

PAGES = sorted((Path(__file__).resolve().parents[1] / "pages").glob("*.py"))


def test_there_are_pages():
    assert {p.name for p in PAGES} >= {"playground.py", "gradient_flow.py", "gates.py", "compare.py"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_is_short_and_does_no_arithmetic(page):
    source = page.read_text(encoding="utf-8")
    assert len(source.splitlines()) < 60, f"{page.name}: {len(source.splitlines())} lines"
    tree = ast.parse(source)
    arithmetic = [ast.unparse(n) for n in ast.walk(tree) if isinstance(n, (ast.BinOp, ast.AugAssign))]
    assert not arithmetic, f"{page.name} computes {arithmetic}: move it into rnnviz/ or ui/"
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not imported & {"numpy", "torch", "math"}, f"{page.name} imports {sorted(imported)}"
