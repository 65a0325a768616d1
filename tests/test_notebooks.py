"""Every notebook is committed without outputs, stays thin, executes top to bottom and shows every chart.

The .ipynb files in ``notebooks/`` are the source (edit them in JupyterLab, commit them stripped).
"""

from __future__ import annotations

import os
import re
import shutil

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import REPO
from ppp_survey.compare.wave import ENVIRONMENT

pytestmark = pytest.mark.report  # runs whole reports: left out of make quick (conftest.py)

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
# Analysis verbs that belong in the library, not in a notebook.
LOGIC = re.compile(r"\.groupby\(|\.value_counts\(|\.mean\(|\.sum\(|np\.|pd\.crosstab|\.pivot|def ")
# Question and attribute ids come from the codebook (codebook.question("2-(1)").id, codebook.stratum.id).
ID_LITERAL = re.compile(r"""["']q\d+["']|["']domain["']""")
# A call that draws a chart: each must show one image in the executed notebook.
PLOT_CALL = re.compile(r"\bplot_\w+\(")
# A loop over the questions (05 draws every question by 職域): one chart per question of the codebook.
QUESTION_LOOP = re.compile(r"^for \w+ in analysis\.questions:", re.MULTILINE)
SETTINGS = tuple(ENVIRONMENT.values())  # every variable a notebook reads (ppp_survey.from_environment)
BANNER = "【架空データ】"


def test_there_is_a_notebook_per_part_of_section_2():
    names = [p.name for p in NOTEBOOKS]
    for prefix in ("01-", "02-", "03-", "04-", "05-", "06-", "07-"):
        assert any(n.startswith(prefix) for n in names), prefix


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stripped_and_thin(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert set(nb.metadata) <= {"kernelspec", "language_info"}, "commit notebooks stripped (nbstripout)"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, "commit notebooks without outputs"
            assert not {"execution", "ExecuteTime"} & set(cell.metadata), "commit notebooks without timings"
            assert not LOGIC.search(cell.source), f"analysis logic in a notebook: {cell.source!r}"
            assert not ID_LITERAL.search(cell.source), f"an id literal; ask the codebook: {cell.source!r}"


def _execute(path) -> nbformat.NotebookNode:
    """The notebook executed in a kernel started in its folder (the kernel inherits os.environ)."""
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    return nb


def _text(cell) -> str:
    """What a code cell printed or returned, as text."""
    return "".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in cell.outputs)


def _missing_charts(nb, questions: int = 0) -> list[str]:
    """Cells whose number of images differs from the number of charts they draw (``questions``: the
    number of questions, for a cell that loops over them)."""
    wrong = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        charts = len(PLOT_CALL.findall(cell.source))
        if QUESTION_LOOP.search(cell.source):
            charts *= questions
        images = sum("image/png" in o.get("data", {}) for o in cell.outputs)
        if images != charts:
            wrong.append(f"cell {i} draws {charts} chart(s) and shows {images} image(s): {cell.source!r}")
    return wrong


def _bundled_questions() -> list:
    """The questions of the bundled R7 codebook (what a notebook draws with no setting)."""
    from ppp_survey import load_codebook

    return load_codebook().tabulated


def test_notebook_05_draws_every_question_by_stratum():
    """05 promises every question by 職域: its chart cell loops over all of them."""
    nb = nbformat.read(REPO / "notebooks" / "05-crosstabs-by-domain.ipynb", as_version=4)
    loops = [c.source for c in nb.cells if c.cell_type == "code" and QUESTION_LOOP.search(c.source)]
    assert any("plot_heatmap(" in source for source in loops), "05 draws a heatmap per question"
    assert len(_bundled_questions()) == 7


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_reads_as_an_analyst_walkthrough(path):
    """Markdown in Japanese with no developer notes; code without query strings."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            assert not re.search(r"issue\s*\d+|no analysis logic", cell.source, re.IGNORECASE), cell.source
            assert not re.search(r" / [A-Z][a-z]", cell.source), f"an English subtitle: {cell.source!r}"
        else:
            assert ".query(" not in cell.source, f"a query string; use the Analysis accessors: {cell.source!r}"
            assert "resolve_codebook" not in cell.source and "analysis.likert." not in cell.source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes_and_shows_every_chart(path, monkeypatch):
    for name in SETTINGS:  # the bundled synthetic data, whatever the developer's shell has set
        monkeypatch.delenv(name, raising=False)
    nb = _execute(path)
    missing = _missing_charts(nb, questions=len(_bundled_questions()))
    assert not missing, "\n".join(missing)
    text = "".join(_text(c) for c in nb.cells if c.cell_type == "code")
    assert "Glyph" not in text  # a missing Japanese glyph would be warned on stderr
    assert BANNER in text  # the bundled data are synthetic, and the notebook says so


def test_notebook_reads_its_data_from_the_environment(tmp_path, monkeypatch):
    """PPP_SURVEY_DATA/FRAME/CODEBOOK point a notebook at other data with no file edited; the
    架空データ banner follows the data (a file not named synthetic is taken as real)."""
    export = shutil.copy(REPO / "data" / "raw" / "synthetic_r8_responses.xlsx", tmp_path / "r8_export.xlsx")
    monkeypatch.setenv("PPP_SURVEY_DATA", str(export))
    monkeypatch.setenv("PPP_SURVEY_FRAME", str(REPO / "data" / "raw" / "staff_frame_r8.csv"))
    monkeypatch.setenv("PPP_SURVEY_CODEBOOK", "codebook_r8")
    nb = _execute(REPO / "notebooks" / "01-response-rates.ipynb")
    setup = _text(next(c for c in nb.cells if c.cell_type == "code"))
    assert "R8." in setup and "1,465人回答" in setup, setup  # the R8 wave's note, not R7's 1,340 respondents
    assert BANNER not in setup and "架空" not in setup, setup
    missing = _missing_charts(nb)
    assert not missing, "\n".join(missing)


def test_from_environment_reads_each_input_or_the_notebooks_own(monkeypatch):
    """Each input a notebook takes: the environment's value where it is set (not blank), else the
    notebook's bundled file; a trend's several baselines and mappings split at os.pathsep."""
    from ppp_survey import from_environment

    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    assert from_environment("baseline", "../data/processed/baseline_r7") == "../data/processed/baseline_r7"
    assert from_environment("mappings", ("a.yaml", "b.yaml")) == ["a.yaml", "b.yaml"]
    monkeypatch.setenv("PPP_SURVEY_BASELINE", "  ")
    assert from_environment("baseline", "bundled") == "bundled"
    monkeypatch.setenv("PPP_SURVEY_BASELINE", "/data/基準値_R7")
    monkeypatch.setenv("PPP_SURVEY_HISTORY", os.pathsep.join(["/data/R7", "/data/R8"]))
    assert from_environment("baseline", "bundled") == "/data/基準値_R7"
    assert from_environment("history", ["bundled"]) == ["/data/R7", "/data/R8"]
    with pytest.raises(KeyError):
        from_environment("nothing", "x")


def test_theme_restores_only_its_own_settings():
    """What else changes inside the block stays: Jupyter's inline backend turns interactive mode on
    when the first figure loads it, and turning it off again hid every later chart of a notebook."""
    import matplotlib

    from ppp_survey.outputs import plots

    interactive = matplotlib.is_interactive()
    before = {key: matplotlib.rcParams[key] for key in plots.THEME_RC}
    try:
        with plots.theme():
            assert matplotlib.rcParams["font.size"] == plots.THEME_RC["font.size"]
            matplotlib.interactive(not interactive)
        assert matplotlib.is_interactive() is not interactive
        assert {key: matplotlib.rcParams[key] for key in plots.THEME_RC} == before
    finally:
        matplotlib.interactive(interactive)
