"""The committee paper in one call (issue 18): 報告書.html, 報告書.pdf (headless Chromium) and 報告書.pptx.

Headings are checked against the committee document itself (section 2 of 「今後の官民連携の取組に
ついて」, where it lies beside the clone as in CI); the numbers against the
:class:`~ppp_survey.analysis.Analysis` they come from. python-pptx (a dependency) and pypdf (a dev
dependency) are always installed; the PDF tests need Chromium and are skipped, with the reason,
where no browser is found (CI installs Chromium: .ci/run).
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
import subprocess
import sys
import unicodedata
import zipfile

import pytest

from conftest import BASELINE, FRAME, REPO, committee_document_text
from ppp_survey.analysis import analyse, load_survey
from ppp_survey.outputs import committee_page as cp
from ppp_survey.outputs import committee_pdf as pdf
from ppp_survey.outputs.captions import source_note
from ppp_survey.outputs.paper_text import READING_TITLE, TECHNICAL_TOKENS
from ppp_survey.policy.assess import assess
from ppp_survey.spec.matrix_file import load_matrix
from ppp_survey.text import round_half_up

pytestmark = pytest.mark.report  # runs whole reports: left out of make quick (conftest.py)

A4_CONTENT_PX = round((210 - 2 * 14) / 25.4 * 96)  # the page's text width: A4 less the @page side margins
NO_CHROMIUM = "Chromium がないため省略（Debian/Ubuntu: sudo apt-get install -y chromium）"


def _pptx():
    import pptx

    return pptx


def _pypdf():
    import pypdf

    return pypdf


def _browser() -> str:
    exe = pdf.find_browser()
    if exe is None:
        pytest.skip(NO_CHROMIUM)
    return exe


def _squash(text: str) -> str:
    """Text compared across layouts: NFKC (（４）→(4)), no spaces or line ends."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _document_headings() -> list[str]:
    """The headings (1)…(7) of the document's section 2, as printed."""
    text = committee_document_text()
    body = text.split("\n2 職員意識調査の結果\n", 1)[1].split("（８）", 1)[0]
    return [ln.strip() for ln in body.splitlines() if re.match(r"^[（(]\s*[0-9０-９]+\s*[）)]", ln.strip())]


@pytest.fixture(scope="module")
def survey():
    return load_survey(BASELINE, FRAME)


@pytest.fixture(scope="module")
def analysis(survey):
    return survey.analysis


@pytest.fixture(scope="module")
def policy(analysis):
    return assess(load_matrix(codebook=analysis.codebook), analysis)


@pytest.fixture(scope="module")
def r7_paper(shared_report):
    """The figures folder of the session's shared R7 report run (conftest ``SHARED_RUNS["r7"]``: the
    bundled R7 data, every option at its default, the committee paper included), READ ONLY: its
    報告書.html is committee_html of the same results as ``analysis`` and ``policy`` (synthetic, no
    comparison) and its 報告書.pptx write_committee_deck's (test_same_results_same_bytes and
    test_deck_same_bytes_and_pinned build each again here and compare the bytes)."""
    run = shared_report("r7")
    assert run.status == 0, run.stderr[-2000:]
    return run.out / "figures"


@pytest.fixture(scope="module")
def page(r7_paper):
    """The page (committee_html, synthetic, no comparison): the shared R7 run's 報告書.html, read once
    and shared read-only by the page's tests, the font test, the byte comparisons and the paper's tests."""
    return (r7_paper / cp.HTML_NAME).read_bytes().decode("utf-8")


@pytest.fixture(scope="module")
def paper(tmp_path_factory, analysis, policy):
    """The paper in one call, built once: write_committee_paper (synthetic, forked where it can be)
    with the caller's work ``meanwhile`` recording that it ran; (the CommitteePaper, what the work
    recorded). Its 報告書.html (written by write_committee_html) is ``html_file`` and its 報告書.pdf
    (printed by the browser find_browser names, dated the survey's last day) is ``pdf_file``;
    test_the_paper_in_one_call checks the call itself. Read-only."""
    _pptx()
    ran = []
    made = pdf.write_committee_paper(
        tmp_path_factory.mktemp("paper"), analysis, policy, synthetic=True, meanwhile=lambda: ran.append(1)
    )
    return made, tuple(ran)


@pytest.fixture(scope="module")
def html_file(paper):
    """報告書.html written from the same results as ``page`` (a build of its own, by ``paper``:
    test_same_results_same_bytes compares the two), printed to ``pdf_file``."""
    made, _ = paper
    return made.html


@pytest.fixture(scope="module")
def pdf_file(paper):
    """報告書.pdf printed from ``html_file`` (by ``paper``); the PDF tests and test_pdf_same_bytes read it."""
    _browser()
    made, _ = paper
    assert made.pdf is not None, made.message
    return made.pdf


@pytest.fixture(scope="module")
def deck_file(r7_paper):
    """報告書.pptx of the same results (write_committee_deck, synthetic): the shared R7 run's, read only."""
    _pptx()
    from ppp_survey.outputs.committee_deck import DECK_NAME

    return r7_paper / DECK_NAME


@pytest.fixture(scope="module")
def changes():
    from ppp_survey import compare as cmp
    from ppp_survey.spec.mapping import load_mapping

    base = cmp.load_baseline(REPO / "data" / "processed" / "baseline_r7")
    r8 = cmp.load_wave(
        REPO / "data" / "raw" / "synthetic_r8_responses.xlsx",
        REPO / "data" / "raw" / "staff_frame_r8.csv",
        "codebook_r8.yaml",
    )
    return cmp.compare(base, r8, load_mapping("mapping_r7_r8.yaml", base.codebook, r8.codebook))


@pytest.fixture(scope="module")
def r8_paper(shared_report):
    """The figures folder of the session's shared R8 report run compared with the frozen R7 baseline
    (conftest ``SHARED_RUNS["r8_compared"]``: the committee paper included), READ ONLY: its
    報告書.html, .pptx and .pdf are the paper of the R8 wave with the R7→R8 comparison ``changes``
    (plain charts), as write_committee_paper writes it."""
    run = shared_report("r8_compared")
    assert run.status == 0, run.stderr[-2000:]
    return run.out / "figures"


@pytest.fixture(scope="module")
def changes_html_file(r8_paper):
    """報告書.html with the R7→R8 comparison (write_committee_html, plain charts): the shared
    r8_compared run's, its 報告書.pdf printed from it; its text is ``changes_page``."""
    return r8_paper / cp.HTML_NAME


@pytest.fixture(scope="module")
def changes_page(changes_html_file):
    """The text of ``changes_html_file`` (its bytes, decoded: committee_html with ``changes``), read
    once for the font, changes and plain-words (unweighted) tests."""
    return changes_html_file.read_bytes().decode("utf-8")


@pytest.fixture(scope="module")
def changes_deck(r8_paper):
    """報告書.pptx with the R7→R8 comparison (plain charts): the shared r8_compared run's, read by the
    changes and plain-words (unweighted) tests."""
    _pptx()
    from ppp_survey.outputs.committee_deck import DECK_NAME

    return r8_paper / DECK_NAME


def _shown(page: str) -> str:
    """What the page shows: the body's text, the title and the page margins' CSS content strings."""
    body = html.unescape(re.sub(r"<[^>]+>", "", page.split("<body>", 1)[1]))
    title = html.unescape(re.search(r"<title>(.*?)</title>", page).group(1))
    margins = "".join(re.findall(r'content: "([^"]*)"', page))
    return title + body + margins


# ------------------------------------------------------------------------------------ the page


def test_page_is_section_2(page, analysis, policy):
    """Title, survey note, rates, the seven charts under their headings, the matrix, the notes."""
    text = _shown(page)
    assert "<h1>2 職員意識調査の結果</h1>" in page
    assert "※R7.7.18～31実施 職員3,138人中1,340人回答（回答率42.7%）" in text
    charts = cp.section_charts(analysis)
    assert [c.item.number for c in charts] == [f"2-({k})" for k in range(1, 8)]
    positions = [page.index(f"<h2>{html.escape(c.heading)}</h2>") for c in charts]
    assert positions == sorted(positions)  # the document's order
    assert page.count('src="data:image/svg+xml;base64,') == 14  # each chart and its table by 職域
    for r in analysis.rates.itertuples():  # the rates table: every 職域 and 全体
        assert f'<td>{r.domain}</td><td class="num">{int(r.population):,}</td>' in page
        assert f'<td class="num">{round_half_up(100 * r.rate):.1f}</td>' in page
    matrix = policy.matrix
    assert len(matrix.situation_list) == 14 and len(matrix.goal_list) == 10
    assert all(s.text in text for s in matrix.situation_list) and all(g.text in text for g in matrix.goal_list)
    assert all(x.text in text for x in matrix.initiative_list)
    assert text.count("（再掲）") == sum(len(x.goals) - 1 for x in matrix.initiative_list) == 9
    assert page.count('class="ev"') == len(policy.evidence)
    assert "（8）官民連携に対する職員意識等の現状と具体的な取組イメージ" in text
    assert READING_TITLE in text and "匿名性の確保" in text and "参考値" in text and "区間" in text
    for c in charts:  # each chart's base is printed under it
        first = c.table.iloc[0]
        assert f"n = {int(first['base_n']):,}" in text


def test_pages_say_which_number_is_which(page, analysis, policy):
    """Issue 17, item 7: the charts show plain shares of the respondents (2-05: 52.7%), the matrix
    design-based estimates for all staff (52.5%); the committee page and the matrix page say so in
    one sentence beside the matrix, and every chart's note names its numbers."""
    from ppp_survey.outputs.matrix_page import MATRIX_NUMBERS_NOTE, matrix_html

    assert MATRIX_NUMBERS_NOTE.count("。") == 1 and "回答者に占める割合" in MATRIX_NUMBERS_NOTE
    shown = _shown(page)
    matrix_part = shown[shown.index("（8）") :]
    assert MATRIX_NUMBERS_NOTE in matrix_part
    assert shown.count("数値は回答者に占める割合（%）。") >= len(cp.section_charts(analysis))
    note = source_note(analysis, synthetic=True)
    assert MATRIX_NUMBERS_NOTE in _shown(matrix_html(policy.matrix, policy.evidence, source_note=note, synthetic=True))
    # the example of the issue: the chart's plain share and the matrix's estimate of one 2-(5) choice
    q5 = analysis.tally("q5").set_index("label")
    row = q5.loc["民間等と対話・相談する機会が少なく、対応経験が乏しい"]
    assert (round_half_up(100 * row["share"]), round_half_up(100 * row["estimate"])) == (52.7, 52.5)


def test_headings_are_the_documents(analysis):
    """The headings come from the codebook (number and label) and read as the document prints them."""
    ours = [c.heading for c in cp.section_charts(analysis)]
    assert [_squash(h) for h in ours] == [_squash(h) for h in _document_headings()]


def test_page_is_self_contained_and_marked(page, analysis, policy):
    """No script, no external resource; 架空データ in every page's margin (and nowhere for real data)."""
    assert "<script" not in page.lower() and "<link" not in page.lower()
    assert not re.search(r"""(src|href)=["']?(https?:|//|file:)""", page) and "url(http" not in page
    assert re.search(r'@top-right \{ content: "架空データ"', page)
    assert re.search(r"@bottom-center \{ content: counter\(page\) \" / \" counter\(pages\)", page)
    assert "break-before: page" in page and "break-inside: avoid" in page and "size: A4 portrait" in page
    real = cp.committee_html(analysis, policy, synthetic=False)
    assert "架空" not in real and "@top-right" not in real


def test_font_covers_every_character(changes_page, page):
    """The embedded fonts (a subset of IPAexGothic, and of DejaVu Sans for what IPAexGothic lacks: the
    subscripts of the comparison's formula) have a glyph for every character the page shows (body,
    title, the margins' header, 架空データ and page numbers): nothing depends on the machine's fonts."""
    from fontTools.ttLib import TTFont

    fonts = re.findall(r"data:font/ttf;base64,([A-Za-z0-9+/=]+)", changes_page)
    assert len(fonts) in (1, 2)  # IPAexGothic, and DejaVu Sans for what it lacks (none in plain words)
    covered = set().union(*(TTFont(io.BytesIO(base64.b64decode(f))).getBestCmap() for f in fonts))
    missing = {ch for ch in _shown(changes_page) if not ch.isspace() and ord(ch) not in covered}
    assert not missing, "".join(sorted(missing))
    # the page without the comparison: nothing IPAexGothic lacks, one font
    assert len(re.findall(r"data:font/ttf;base64,", page)) == 1


def test_same_results_same_bytes(page, html_file, analysis, policy):
    """Built again from the same results (committee_html here), the page is the same as the report's
    (``page``); write_committee_html (``html_file``, a build of its own) writes exactly its bytes."""
    assert cp.committee_html(analysis, policy, synthetic=True) == page
    assert html_file.read_bytes() == page.encode("utf-8")


def test_no_element_wider_than_the_page(page, tmp_path):
    """Laid out at the width the text has on A4 paper (210 mm less the margins), no element reaches
    past the right edge and nothing scrolls sideways (headless Chromium measures every box)."""
    exe = _browser()
    probe = """<script>
window.addEventListener("load", () => {
  let worst = 0, what = "";
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.right > worst) { worst = r.right; what = el.tagName + "." + el.className; }
  }
  const d = document.documentElement;
  document.body.setAttribute("data-probe", JSON.stringify({w: d.clientWidth, sw: d.scrollWidth, worst, what}));
});
</script>"""
    print_like = "body { padding: 0 !important; max-width: none !important; margin: 0 !important; }\n</style>"
    path = tmp_path / "probe.html"
    path.write_text(page.replace("</style>", print_like, 1).replace("</body>", probe + "</body>"), encoding="utf-8")
    out = subprocess.run(
        [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--window-size={A4_CONTENT_PX},1100",
            "--virtual-time-budget=10000",
            "--dump-dom",
            path.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    ).stdout.decode("utf-8")
    found = json.loads(html.unescape(re.search(r'data-probe="([^"]*)"', out).group(1)))
    assert abs(found["w"] - A4_CONTENT_PX) <= 2, found  # laid out at the paper's text width
    assert found["sw"] <= found["w"] and found["worst"] <= found["w"] + 0.5, found


# ------------------------------------------------------------------------------------- the PDF


def test_pdf_pages_headings_matrix_and_fonts(pdf_file, analysis, policy):
    """The printed page: A4 pages numbered k / N with 架空データ on each; every heading and the whole
    matrix as text; each chart on a page of its own; only the embedded font (no glyph missing)."""
    pypdf = _pypdf()
    reader = pypdf.PdfReader(pdf_file)
    n = len(reader.pages)
    texts = [p.extract_text() for p in reader.pages]
    for k, (p, t) in enumerate(zip(reader.pages, texts), start=1):
        width, height = float(p.mediabox.width), float(p.mediabox.height)
        assert abs(width - 595.3) < 1 and abs(height - 841.9) < 1  # A4 portrait in points
        assert "架空データ" in t and f"{k} / {n}" in t, (k, t[:80])
    squashed = [_squash(t) for t in texts]
    charts = cp.section_charts(analysis)
    pages = [next(i for i, t in enumerate(squashed) if i and _squash(c.heading) in t) + 1 for c in charts]
    # page 1: title, note, contents, rates; page 2: how to read the numbers; then each chart and its
    # table by 職域 on a page of its own each
    assert pages == [3, 5, 7, 9, 11, 13, 15]
    matrix_page = next(i for i, t in enumerate(squashed) if i and _squash("（8）官民連携に対する職員意識等") in t) + 1
    assert matrix_page == 17 and 19 <= n <= 26  # the matrix from page 17 (three to nine pages)
    everything = "".join(squashed)
    assert _squash("2 職員意識調査の結果") in squashed[0]
    for s in policy.matrix.situation_list:
        assert _squash(s.text) in everything, s.text
    for g in policy.matrix.goal_list:
        assert _squash(g.text) in everything, g.text
    # Only the embedded font: a character it lacked would be set in a font of this machine (DejaVu
    # Sans here), named in the PDF. Type3 fonts are Chromium's synthetic bold of the same font
    # (IPAexGothic has no bold face).
    fonts = set()
    for p in reader.pages:
        for font in (p["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            if font["/Subtype"] != "/Type3":
                fonts.add(str(font["/BaseFont"]))
    assert fonts and all(f.endswith("+IPAexGothic") for f in fonts), fonts
    assert reader.metadata["/CreationDate"] == "D:20250731000000+00'00'"
    (top, inner) = reader.outline  # bookmarks: the title, then each heading
    assert top.title == "2 職員意識調査の結果"
    assert [c.heading for c in charts] == [o.title for o in inner if o.title.startswith("（")][:14:2]
    # the contents list gives each part's first page, and that page starts with its heading
    contents = re.findall(
        r'<li[^>]*><a href="#([\w-]+)">([^<]+)</a><span class="dots"></span><span>(\d+)</span>', _page_of(pdf_file)
    )
    assert len(contents) == 1 + 14 + 1
    for _, entry, number in contents:
        assert _squash(html.unescape(entry)) in squashed[int(number) - 1][:200], (entry, number)
    assert int(contents[-1][2]) < n


def _page_of(pdf_file) -> str:
    return pdf_file.with_name(cp.HTML_NAME).read_text(encoding="utf-8")


def test_pdf_same_bytes(pdf_file, html_file, analysis):
    """Printed twice by the same browser, the PDF has the same bytes (its dates are pinned)."""
    again = pdf.write_committee_pdf(
        html_file, html_file.with_name("again.pdf"), browser=_browser(), date=analysis.codebook.survey.fielded_to
    )
    assert again.read_bytes() == pdf_file.read_bytes()


def test_without_a_browser_there_is_no_pdf_and_a_hint(html_file, tmp_path, monkeypatch):
    monkeypatch.setattr(pdf, "find_browser", lambda: None)
    assert pdf.write_committee_pdf(html_file, tmp_path / pdf.PDF_NAME) is None
    assert not (tmp_path / pdf.PDF_NAME).exists()
    assert "sudo apt-get install -y chromium" in pdf.PDF_HINT and "Edge" in pdf.PDF_HINT


def test_a_failing_browser_is_one_error(html_file, tmp_path):
    with pytest.raises(pdf.CommitteeError, match="PDF を作成できませんでした"):
        pdf.write_committee_pdf(html_file, tmp_path / pdf.PDF_NAME, browser=sys.executable)  # not a browser
    assert list(tmp_path.iterdir()) == []


def test_a_started_pdf_can_be_cancelled(html_file, tmp_path):
    job = pdf.start_committee_pdf(html_file, tmp_path / pdf.PDF_NAME, browser=_browser())
    job.cancel()
    job.cancel()  # twice is harmless
    assert list(tmp_path.iterdir()) == [] and job.process.poll() is not None


def test_the_paper_in_one_call(analysis, policy, page, deck_file, paper, tmp_path, monkeypatch):
    """write_committee_paper writes the three files while the caller's work runs: in a forked
    process (Linux; the module's ``paper``) or in this one (PPP_SURVEY_JOBS=1, Windows), with the
    same bytes."""
    forked, recorded = paper
    ran = list(recorded)  # a copy: this test records the second call's work too
    assert ran == [1] and forked.html.read_bytes() == page.encode("utf-8")
    assert forked.deck.read_bytes() == deck_file.read_bytes()
    if pdf.find_browser() is None:
        assert forked.pdf is None and forked.message == pdf.PDF_HINT
    else:
        assert forked.pdf is not None and forked.pdf.stat().st_size > 0 and forked.message == ""
    monkeypatch.setenv("PPP_SURVEY_JOBS", "1")
    monkeypatch.setattr(pdf, "find_browser", lambda: None)  # and no browser: the PDF is left out, with the hint
    inline = pdf.write_committee_paper(
        tmp_path / "b", analysis, policy, synthetic=True, meanwhile=lambda: ran.append(2)
    )
    assert ran == [1, 2] and inline.pdf is None and inline.message == pdf.PDF_HINT
    assert inline.html.read_bytes() == forked.html.read_bytes() and inline.deck.read_bytes() == forked.deck.read_bytes()
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == sorted([cp.HTML_NAME, "報告書.pptx"])


def test_the_paper_around_the_reports_charts(analysis, policy, page, tmp_path):
    """committee_paper: the paper is made while the block runs (the report's charts), the files and
    one progress line known after it; nothing with ``paper`` off; a failing block stops the paper."""
    from types import SimpleNamespace

    _pptx()
    lines: list[str] = []
    options = SimpleNamespace(figures=tmp_path / "on", paper=True, synthetic=True, weighted=False)
    with pdf.committee_paper(options, analysis, policy, progress=lines.append) as made:
        assert made.files == []
    assert [p.name for p in made.files][:2] == [cp.HTML_NAME, "報告書.pptx"]
    assert made.files[0].read_text("utf-8") == page
    assert lines and "報告書.html" in lines[0]
    with pdf.committee_paper(
        SimpleNamespace(**{**vars(options), "figures": tmp_path / "off", "paper": False}), analysis, policy
    ) as made:
        pass
    assert made.files == [] and not (tmp_path / "off").exists()
    with pytest.raises(KeyboardInterrupt):
        with pdf.committee_paper(SimpleNamespace(**{**vars(options), "figures": tmp_path / "cut"}), analysis, policy):
            raise KeyboardInterrupt
    assert not [p for p in tmp_path.rglob("*") if ".partial" in p.name]


def test_a_failure_in_the_forked_paper_is_raised_here(analysis, policy, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("壊れたページ")

    monkeypatch.setenv("PPP_SURVEY_JOBS", "2")  # forked even on a one-core machine (one job forks nothing)
    monkeypatch.setattr(pdf, "write_committee_html", broken)
    with pytest.raises(ValueError, match="壊れたページ") as raised:
        pdf.write_committee_paper(tmp_path, analysis, policy, synthetic=True, meanwhile=lambda: None)
    if sys.platform.startswith("linux"):
        assert any("Traceback" in note for note in raised.value.__notes__)  # the child's traceback


def test_the_callers_failure_stops_the_paper(analysis, policy, tmp_path):
    """When the caller's work fails, the forked paper is stopped and leaves no partial file."""

    def fail():
        raise RuntimeError("図の作成に失敗")

    with pytest.raises(RuntimeError, match="図の作成に失敗"):
        pdf.write_committee_paper(tmp_path, analysis, policy, synthetic=True, meanwhile=fail)
    assert not [p for p in tmp_path.rglob("*") if ".partial" in p.name]


def test_pdf_dates_and_structure_ids_are_pinned_in_place():
    """Dates, and the tagged structure's ids (DOM node numbers, one more or less when the browser is
    busy), are rewritten to fixed strings of the same length, in order (the ID tree stays sorted)."""
    data = (
        b"1 0 obj\n<</CreationDate (D:20261201005405+00'00')\n/ModDate (D:20261201005406+00'00')>>\n"
        b"/ID (node00000032) /ID (node00000146) /Names [(node00000032) 5 0 R (node00000146) 6 0 R]"
    )
    pinned = pdf.pin_pdf(data, __import__("datetime").date(2025, 7, 31))
    assert len(pinned) == len(data) and pinned.count(b"D:20250731000000+00'00'") == 2
    assert pinned.endswith(b"/ID (node00000001) /ID (node00000002) /Names [(node00000001) 5 0 R (node00000002) 6 0 R]")
    shifted = data.replace(b"00000032", b"00000031").replace(b"00000146", b"00000145")
    assert pdf.pin_pdf(shifted, __import__("datetime").date(2025, 7, 31)) == pinned


# ------------------------------------------------------------------------------------ the deck


def _slides(path):
    from pptx import Presentation

    return Presentation(path)


def test_deck_slides_are_the_document(deck_file, analysis):
    """One slide per chart, titled with the document's heading, in its order; the matrix's heading
    after them; 架空データ on every slide."""
    prs = _slides(deck_file)
    titles = [s.shapes.title.text if s.shapes.title is not None else "" for s in prs.slides]
    charts = cp.section_charts(analysis)
    headings = [c.heading for c in charts]
    assert titles[0] == "2 職員意識調査の結果"
    assert [t for t in titles if t in headings] == headings
    assert [_squash(h) for h in headings] == [_squash(h) for h in _document_headings()]
    assert any(t.startswith("（8）官民連携に対する職員意識等の現状と具体的な取組イメージ") for t in titles)
    for slide in prs.slides:
        assert any("架空データ" in s.text_frame.text for s in slide.shapes if s.has_text_frame)
    assert (prs.slide_width, prs.slide_height) == (12192000, 6858000)


def test_deck_charts_are_the_papers(deck_file, analysis):
    """Issue 30, item 5: each chart is a native chart of the paper's design holding every number the
    paper's chart prints (% half up, one decimal, none hidden): a Likert question diverges around
    zero (the unfavourable half stored negative, labelled without sign) with わからない as numbers in
    a column of their own; a multi-select one is bars ranked by share. Each table by 職域 is a native
    table with the heatmap's numbers and marks, coloured as the heatmap."""
    from pptx.enum.chart import XL_CHART_TYPE

    from ppp_survey.outputs.deck_charts import LABEL_FORMAT, chart_values
    from ppp_survey.outputs.heatmaps import heatmap_grid

    prs = _slides(deck_file)
    by_title = {s.shapes.title.text: s for s in prs.slides if s.shapes.title is not None}
    stratum = analysis.codebook.stratum.id
    for c in cp.section_charts(analysis):
        (shape,) = [s for s in by_title[c.heading].shapes if s.has_chart]
        chart = shape.chart
        plot = chart.plots[0]
        categories = list(plot.categories)
        assert '[<4]""' not in str(LABEL_FORMAT)  # nothing hidden
        for series in plot.series:
            assert series.data_labels.number_format == LABEL_FORMAT
        if c.item.is_multi:
            assert chart.chart_type == XL_CHART_TYPE.BAR_CLUSTERED
            table = analysis.tally(c.item.id)
            expected = {str(r.label): float(round_half_up(100 * r.share)) for r in table.itertuples()}
            (series,) = plot.series
            assert dict(zip(categories, series.values)) == expected
            main = [v for k, v in zip(categories, series.values) if k not in ("その他", "特にない")]
            assert main == sorted(main, reverse=True)
        else:
            assert chart.chart_type == XL_CHART_TYPE.BAR_STACKED
            table = analysis.tally(c.item.id, by=stratum)
            groups = list(dict.fromkeys(table["group"]))
            assert [k.split("（n=")[0] for k in categories] == groups and groups[0] == "全体"
            named = {s.name: s for s in plot.series if s.name.strip()}
            assert set(named) == set(c.item.labels)
            _, published = chart_values(c)
            for choice in c.item.choices:
                rows = table[table["code"] == choice.code].set_index("group")
                expected = [float(round_half_up(100 * rows.loc[g, "share"])) for g in groups]
                values = [abs(v) for v in named[choice.label].values]
                assert values == expected == published[choice.label], (c.heading, choice.label)
            if c.item.type == "likert":
                negative = [s for s in plot.series if any(v < 0 for v in s.values)]
                assert negative  # diverging: the unfavourable half to the left of zero
                offscale = [ch.label for ch in c.item.choices if ch.score is None]
                for label in offscale:  # わからない: a column of numbers, no bar
                    assert named[label].format.fill.type is not None
        heat = by_title[cp.heatmap_heading(analysis, c)]
        (table_,) = [s.table for s in heat.shapes if s.has_table]
        cells = [[cell.text for cell in row.cells] for row in table_.rows]
        grid = heatmap_grid(analysis.crosstabs[(c.item.id, stratum)], overall=analysis.tally(c.item.id))
        assert [r[0] for r in cells[1:]] == c.item.labels
        assert [r[1:] for r in cells[1:]] == grid.text.T.tolist()
        assert [h.split("\n")[0] for h in cells[0][1:]] == grid.columns


def test_deck_matrix_tables(deck_file, policy):
    """The matrix's native tables hold its 14 現状 and 10 具体像, each 取組 with the document's （再掲）."""
    prs = _slides(deck_file)
    heading = "（8）官民連携に対する職員意識等の現状と具体的な取組イメージ"
    rows = []
    for slide in prs.slides:
        title = slide.shapes.title.text if slide.shapes.title is not None else ""
        for shape in slide.shapes:
            if title.startswith(heading) and shape.has_table:
                rows += [[c.text for c in r.cells] for r in list(shape.table.rows)[1:]]
    matrix = policy.matrix
    assert [r[1] for r in rows] == [s.text for s in matrix.situation_list]  # 14 現状 in order
    goals = "\n".join(r[3] for r in rows)
    assert all(g.text in goals for g in matrix.goal_list) and len(matrix.goal_list) == 10
    assert sum(r[4].count("（再掲）") for r in rows) == 9
    assert sum(r[2].count("【") for r in rows) == len(policy.evidence)


def test_deck_same_bytes_and_pinned(deck_file, analysis, policy, tmp_path):
    from ppp_survey.outputs.committee_deck import write_committee_deck

    again = write_committee_deck(tmp_path / "again.pptx", analysis, policy, synthetic=True)
    assert again.read_bytes() == deck_file.read_bytes()
    with zipfile.ZipFile(deck_file) as z:
        assert {i.date_time for i in z.infolist()} == {(2025, 7, 31, 0, 0, 0)}
        theme = z.read("ppt/theme/theme1.xml").decode("utf-8")
        embedded = [n for n in z.namelist() if n.endswith(".xlsx")]
        assert len(embedded) == 8  # the rates and the seven charts, each with its data
        with zipfile.ZipFile(io.BytesIO(z.read(embedded[0]))) as book:
            assert {i.date_time for i in book.infolist()} == {(2025, 7, 31, 0, 0, 0)}
            assert b"2025-07-31T00:00:00Z" in book.read("docProps/core.xml")
    assert '<a:ea typeface="游ゴシック"/>' in theme and '<a:font script="Jpan" typeface="游ゴシック"/>' in theme
    core = _slides(deck_file).core_properties
    assert core.created.date() == core.modified.date() == analysis.codebook.survey.fielded_to


def test_deck_a4_fits_its_slides(analysis, policy, tmp_path):
    _pptx()
    from ppp_survey.outputs.committee_deck import write_committee_deck

    path = write_committee_deck(tmp_path / "a4.pptx", analysis, policy, synthetic=False, layout="A4", font="メイリオ")
    prs = _slides(path)
    assert (prs.slide_width, prs.slide_height) == (9906000, 6858000)
    for slide in prs.slides:
        for s in slide.shapes:
            assert s.left >= 0 and s.left + s.width <= prs.slide_width, (s.name, s.left, s.width)
            assert s.top >= 0 and s.top + s.height <= prs.slide_height, (s.name, s.top, s.height)
            assert not (s.has_text_frame and "架空" in s.text_frame.text)
    with zipfile.ZipFile(path) as z:
        assert '<a:ea typeface="メイリオ"/>' in z.read("ppt/theme/theme1.xml").decode("utf-8")
    with pytest.raises(ValueError, match="layout"):
        write_committee_deck(tmp_path / "x.pptx", analysis, policy, synthetic=True, layout="4:3")


def test_weighted_charts_and_no_matrix(analysis, tmp_path):
    """``weighted`` draws the design-based estimates (the deck's data too); without a policy result
    (a codebook the packaged matrix does not fit) the matrix is left out of both."""
    _pptx()
    from ppp_survey.outputs.committee_deck import chart_values, write_committee_deck

    charts = cp.section_charts(analysis)
    multi = next(c for c in charts if c.item.is_multi)
    categories, series = chart_values(multi, weighted=True)
    (values,) = series.values()
    estimates = {str(r.label): float(round_half_up(100 * r.estimate)) for r in multi.table.itertuples()}
    assert dict(zip(categories, values)) == estimates
    page = cp.committee_html(analysis, None, synthetic=False, weighted=True)
    assert 'id="matrix"' not in page and "職員全体の推定値（職員数で重み付け、95%信頼区間）" in _shown(page)
    prs = _slides(write_committee_deck(tmp_path / "w.pptx", analysis, None, synthetic=False, weighted=True))
    titles = [s.shapes.title.text for s in prs.slides if s.shapes.title is not None]
    assert not [t for t in titles if t.startswith("（8）")] and READING_TITLE in titles


# ------------------------------------------------------------------------- changes and pools


def test_changes_section_and_slides(changes, changes_page, changes_deck):
    """With a comparison, the page and the deck carry the changes (全体) with their verdicts."""
    text = _shown(changes_page)
    assert "経年比較（R7→R8、全体）" in text and "R8.7.16～29実施" in text
    overall = changes.rows[changes.rows["group"] == "全体"]
    assert text.count("改善") >= int((overall["verdict"] == "改善").sum())
    prs = _slides(changes_deck)
    change_slides = [s for s in prs.slides if s.shapes.title is not None and s.shapes.title.text.startswith("経年比較")]
    cells = "\n".join(
        c.text for s in change_slides for sh in s.shapes if sh.has_table for r in sh.table.rows for c in r.cells
    )
    assert cells.count("悪化") == int((overall["verdict"] == "悪化").sum()) >= 1


def test_changes_pdf_sets_every_character_in_embedded_fonts(changes_html_file):
    """A character IPAexGothic lacks would be printed in the embedded subset of DejaVu Sans, never in
    a font of the machine (the paper's plain words need none: the formula is in the workbook). The
    PDF is the one the shared r8_compared run printed from ``changes_html_file`` (write_committee_pdf)."""
    pypdf = _pypdf()
    _browser()  # without a browser the run printed no PDF
    printed_pdf = changes_html_file.with_name(pdf.PDF_NAME)
    assert printed_pdf.is_file()
    reader = pypdf.PdfReader(printed_pdf)
    fonts = {
        str(f.get_object()["/BaseFont"]).split("+")[-1]
        for p in reader.pages
        for f in (p["/Resources"].get("/Font") or {}).values()
        if f.get_object()["/Subtype"] != "/Type3"
    }
    assert "IPAexGothic" in fonts and fonts <= {"IPAexGothic", cp.FALLBACK_POSTSCRIPT}
    # the text of the pages in order, extracted up to the first prefix holding 経年比較 (pypdf takes
    # a third of a second a page): the same test as on the whole text, which any such prefix begins
    printed = ""
    for p in reader.pages:
        printed += p.extract_text()
        if "経年比較" in printed:
            break
    assert "経年比較" in printed


def _deck_text(path) -> str:
    prs = _slides(path)
    shown = []
    for slide in prs.slides:
        for s in slide.shapes:
            if s.has_text_frame:
                shown.append(s.text_frame.text)
            elif s.has_table:
                shown += [c.text for r in s.table.rows for c in r.cells]
            elif s.has_chart:
                shown += [str(c) for c in s.chart.plots[0].categories] + [x.name for x in s.chart.plots[0].series]
    return "\n".join(shown)


@pytest.mark.parametrize("weighted", [False, True])
def test_committee_pages_use_plain_words(analysis, policy, changes, changes_page, changes_deck, tmp_path, weighted):
    """Issue 30, item 4: the paper's body and the slides print no formula symbol or English test name
    (N_h/n_h, デザインベースの標準誤差, Rao–Scott, p < α, MDD, （記述）, CI …); the page
    「調査の方法と数字の読み方」 says what the percentages, the intervals, 参考値 and the marks mean.
    Unweighted, the page and deck are the module's ``changes_page`` and ``changes_deck`` (the shared
    r8_compared run's paper: the R8 wave with the same ``changes``); weighted, they are built here."""
    _pptx()
    from ppp_survey.outputs.committee_deck import write_committee_deck

    if weighted:
        page = cp.committee_html(analysis, policy, synthetic=True, changes=changes, weighted=True)
        deck = write_committee_deck(
            tmp_path / "w.pptx", analysis, policy, synthetic=True, changes=changes, weighted=True
        )
    else:
        page, deck = changes_page, changes_deck
    body = _shown(page)
    found = [t for t in TECHNICAL_TOKENS if t in body]
    assert not found, [(t, body[max(0, body.index(t) - 40) : body.index(t) + 20]) for t in found]
    reading = body[body.index(READING_TITLE) :]
    for words in ("割合（％）", "区間", "参考値", "▲▼", "匿名性の確保", "経年比較", "政策マトリクスの判定"):
        assert words in reading, words
    text = _deck_text(deck)
    found = [t for t in TECHNICAL_TOKENS if t in text]
    assert not found, [(t, text[max(0, text.index(t) - 40) : text.index(t) + 20]) for t in found]
    assert READING_TITLE in text


def test_one_title_and_one_note_per_chart(page, analysis):
    """Issue 30, item 1: a chart's title and notes are on the page once; the chart drawn for the
    page has neither (no title, no footer text), and it is drawn to the height its page leaves it."""
    from ppp_survey.outputs.plots import theme

    shown = _shown(page)
    for c in cp.section_charts(analysis):
        assert page.count(f"<h2>{html.escape(c.heading)}</h2>") == 1
        section = re.search(rf'<section class="page figure" id="chart-{c.k}">(.*?)</section>', page, re.S).group(1)
        for line in cp.chart_notes(analysis, c, weighted=False):
            assert section.count(f'<p class="note">{html.escape(line)}</p>') == 1, line
        with theme():
            ax = cp.draw_chart(c, weighted=False, bare=True, height=8.0)
            fig = ax.figure
            assert not ax.get_title(loc="left") and not [t for t in fig.texts if t.get_text()]
            assert fig.get_size_inches()[1] == pytest.approx(8.0, abs=0.01)
            hm = cp.draw_heatmap(analysis, c, weighted=False, bare=True, height=8.0)
            assert not hm.get_title(loc="left")
            assert all("▲▼" not in t.get_text() for t in hm.figure.texts)  # the page prints the legend
    assert "（複数選択可）（" not in shown and "（複数選択可、職域別）" in shown


def test_matrix_pages_repeat_the_category_and_keep_words_whole(page, policy):
    """Issue 30, item 1: the matrix is cut into pages before printing, each page's first row names
    its 区分 (「（続き）」 where it began before); text breaks only between phrases (BudouX <wbr>
    with keep-all: 「職員意識等の」 and 「見直し」 stay whole)."""
    sections = re.findall(r'<section class="page matrix"[^>]*>(.*?)</section>', page, re.S)
    assert len(sections) >= 2
    for k, part in enumerate(sections):
        first = re.search(r'<tbody>\s*<tr><td class="([^"]*)">(.*?)</td>', part, re.S)
        assert first.group(1) == "cat" and first.group(2), (k, first.group(0)[:80])
        if k:
            assert "（続き）" in first.group(2) or any(
                c.label in html.unescape(re.sub("<[^>]+>", "", first.group(2))) for c in policy.matrix.categories
            )
    assert "職員意識等の<wbr>現状" in page and "word-break: keep-all" in page
    for word in ("見直し", "仕組み"):
        assert not re.search("<wbr>".join(word), page), word


def test_small_groups_appear_only_pooled(baseline, frame, codebook, tmp_path):
    """A 職域 of 3 respondents is pooled before anything is estimated: the page and the deck name
    only the pool, never the small group with a number of its own."""
    responses = baseline.responses
    small = responses["domain"] == "教育・保育"
    a = analyse(responses[~small | (small.cumsum() <= 3)].reset_index(drop=True), frame, codebook)
    ((pool, members),) = a.pools.by_attribute["domain"].items()
    assert "教育・保育" in members
    policy = assess(load_matrix(codebook=a.codebook), a)
    text = _shown(cp.committee_html(a, policy, synthetic=True))
    assert pool in text and "教育・保育" not in text.replace(pool, "")
    _pptx()
    from ppp_survey.outputs.committee_deck import write_committee_deck

    prs = _slides(write_committee_deck(tmp_path / "p.pptx", a, policy, synthetic=True))
    shown = []
    for slide in prs.slides:
        for s in slide.shapes:
            if s.has_chart:
                shown += [str(c) for c in s.chart.plots[0].categories]
            elif s.has_text_frame:
                shown.append(s.text_frame.text)
            elif s.has_table:
                shown += [c.text for r in s.table.rows for c in r.cells]
    joined = "\n".join(shown)
    assert pool in joined and "教育・保育" not in joined.replace(pool, "")


def test_heatmaps_in_an_appendix(analysis, policy, tmp_path):
    """``heatmaps="appendix"``: the charts one after the other, then the matrix, then 付録 with the
    tables by 職域; the contents list numbers them so (each chart and table a page)."""
    page = cp.committee_html(analysis, policy, synthetic=True, heatmaps="appendix")
    ids = re.findall(r'<section class="page[^"]*" id="([\w-]+)"', page)
    charts = [f"chart-{k}" for k in range(1, 8)]
    assert ids[: 1 + 7] == ["reading", *charts] and ids[8] == "matrix"
    assert ids[-8:] == ["appendix", *[f"heatmap-{k}" for k in range(1, 8)]]
    contents = re.findall(r'<a href="#([\w-]+)">[^<]+</a><span class="dots"></span><span>(\d+)</span>', page)
    numbers = dict(contents)
    assert [int(numbers[c]) for c in charts] == list(range(3, 10)) and numbers["matrix"] == "10"
    assert int(numbers["heatmap-1"]) == int(numbers["appendix"]) + 1
    with pytest.raises(ValueError, match="heatmaps"):
        cp.committee_html(analysis, policy, synthetic=True, heatmaps="inline")


def test_every_question_has_its_chart_whatever_its_number(tmp_path):
    """An analyst's codebook numbers its questions 問1… (or not at all): the paper and the deck still
    chart every question, in the codebook's order, headed with its own number (found by an outside
    test: with 問k numbering the paper had no chart page, exit 0)."""
    from importlib import resources

    import yaml

    from ppp_survey.outputs.committee_page import section_charts, section_title
    from ppp_survey.spec.codebook import parse_codebook

    raw = yaml.safe_load((resources.files("ppp_survey") / "data" / "codebook_r7.yaml").read_text(encoding="utf-8"))
    numbered = 0
    for item in raw["questions"]:
        if str(item.get("number", "")).startswith("2-("):
            numbered += 1
            item["number"] = f"問{numbered}" if numbered % 2 else ""
    codebook = parse_codebook(raw, name="問k")
    responses, frame, _ = _bundled_inputs(codebook)
    charts = section_charts(analyse(responses, frame, codebook))
    questions = codebook.tabulated
    assert [c.item.id for c in charts] == [q.id for q in questions] and len(charts) == 7
    assert charts[0].heading == f"問1 {questions[0].label}" and charts[1].heading == f"（2）{questions[1].label}"
    assert section_title(charts) == "職員意識調査の結果"


def _bundled_inputs(codebook):
    from ppp_survey.ingest.load import load_responses
    from ppp_survey.spec.frame import load_frame

    return load_responses(BASELINE, codebook).responses, load_frame(FRAME, codebook), codebook
