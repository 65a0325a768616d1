"""The deck rendered (issue 30, item 5): LibreOffice prints 報告書.pptx to PDF and each page to an
image; every slide renders, and each chart's slide shows every number the paper's chart prints.

LibreOffice (Debian's ``libreoffice-impress``, installed by ``.ci/run`` as Chromium is) and
poppler's ``pdftoppm`` are needed; without them the test is skipped with the reason.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from conftest import BASELINE, FRAME
from ppp_survey.analysis import load_survey
from ppp_survey.outputs import committee_page as cp

pytestmark = pytest.mark.report  # runs whole reports: left out of make quick (conftest.py)

NO_OFFICE = (
    "LibreOffice がないため省略（Debian/Ubuntu: sudo apt-get install -y --no-install-recommends libreoffice-impress）"
)


def _office() -> str:
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if exe is None:
        pytest.skip(NO_OFFICE)
    return exe


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, shared_report):
    """(analysis, the deck's slides as python-pptx reads them, the text of each PDF page, PNG paths).

    The deck is the shared R7 report run's 報告書.pptx (conftest ``SHARED_RUNS["r7"]``: the bundled R7
    data, every option at its default; write_committee_deck of ``analysis`` and its policy result,
    synthetic: tests/test_committee.py compares its bytes with a deck built again), copied out of the
    read-only folder before LibreOffice opens it (it writes a lock file beside what it opens)."""
    office = _office()
    import pypdf
    from pptx import Presentation

    from ppp_survey.outputs.committee_deck import DECK_NAME

    run = shared_report("r7")
    assert run.status == 0, run.stderr[-2000:]
    analysis = load_survey(BASELINE, FRAME).analysis
    folder = tmp_path_factory.mktemp("render")
    deck = Path(shutil.copy(run.out / "figures" / DECK_NAME, folder / DECK_NAME))
    profile = folder / "profile"
    subprocess.run(
        [
            office,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(folder),
            str(deck),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    pdf = folder / "報告書.pdf"
    assert pdf.is_file()
    pages = [p.extract_text() for p in pypdf.PdfReader(pdf).pages]
    images = []
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf), str(folder / "slide")], check=True, timeout=300)
        images = sorted(folder.glob("slide-*.png"))
    return analysis, Presentation(str(deck)).slides, pages, images


def _numbers(text: str) -> list[str]:
    return re.findall(r"\d+\.\d", text)


def test_every_slide_renders(rendered):
    """One page per slide, each with text, and (with pdftoppm) an image that is not blank."""
    _, slides, pages, images = rendered
    assert len(pages) == len(slides)
    assert all(p.strip() for p in pages)
    if not images:
        pytest.skip("pdftoppm がないため画像の確認を省略（sudo apt-get install -y poppler-utils）")
    from PIL import Image

    assert len(images) == len(slides)
    for path in images:
        with Image.open(path) as im:
            lo, hi = im.convert("L").getextrema()
            assert hi - lo > 100, path.name  # something drawn on the white slide


def test_slides_carry_the_papers_numbers(rendered):
    """Each chart's slide, as rendered, shows every value the chart prints (no value under 4% hidden);
    each table by 職域, every cell of the heatmap."""
    from ppp_survey.outputs.deck_charts import chart_values
    from ppp_survey.outputs.heatmaps import heatmap_grid

    analysis, slides, pages, _ = rendered
    titles = [s.shapes.title.text if s.shapes.title is not None else "" for s in slides]
    stratum = analysis.codebook.stratum.id
    for chart in cp.section_charts(analysis):
        page = pages[titles.index(chart.heading)]
        _, series = chart_values(chart)
        wanted = [f"{v:.1f}" for values in series.values() for v in values if v]  # a zero has no segment
        shown = _numbers(page)
        for value in wanted:
            assert value in shown, (chart.heading, value)
        assert any(float(v) < 4 for v in wanted)  # the small values the old deck hid
        heat = pages[titles.index(cp.heatmap_heading(analysis, chart))]
        grid = heatmap_grid(analysis.crosstabs[(chart.item.id, stratum)], overall=analysis.tally(chart.item.id))
        want, have = Counter(_numbers(" ".join(grid.text.ravel()))), Counter(_numbers(heat))
        assert not want - have, (chart.heading, want - have)  # every cell's value, as often as the grid has it
