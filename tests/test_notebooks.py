"""Every notebook is committed without outputs, stays thin, and executes top to bottom."""

from __future__ import annotations

import re

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
# Analysis verbs that belong in the library, not in a notebook.
LOGIC = re.compile(r"\.groupby\(|\.value_counts\(|\.mean\(|\.sum\(|np\.|pd\.crosstab|\.pivot|def ")


def test_there_is_a_notebook_per_part_of_section_2():
    names = [p.name for p in NOTEBOOKS]
    for prefix in ("01-", "02-", "03-", "04-", "05-", "06-", "07-"):
        assert any(n.startswith(prefix) for n in names), prefix


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stripped_and_thin(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, "commit notebooks without outputs"
            assert not LOGIC.search(cell.source), f"analysis logic in a notebook: {cell.source!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes(path):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    text = "".join(str(o.get("text", "")) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "Glyph" not in text  # a missing Japanese glyph would be warned on stderr


def test_notebooks_are_what_the_library_writes(tmp_path):
    """The committed notebooks equal `python -m ppp_survey.notebooks` output (no drift)."""
    from ppp_survey.notebooks import main

    assert main([str(tmp_path)]) == 0
    for path in NOTEBOOKS:
        assert (tmp_path / path.name).read_text(encoding="utf-8") == path.read_text(encoding="utf-8"), path.name
