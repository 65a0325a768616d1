"""One owner for each rule's words (issue 26): how estimates were weighted (text.weights_text) and
the minimum base (text.reference_note / reference_verdict), wherever they are said."""

from __future__ import annotations

import doctest

import pytest

from ppp_survey import text
from ppp_survey.survey import associations
from ppp_survey.text import WeightsMethod, reference_note, reference_verdict, weights_text


@pytest.mark.parametrize("function", [text.weights_text, associations.canonical_key])
def test_docstring_examples(function):
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner()
    for test in finder.find(function, globs=vars(text) if function is text.weights_text else vars(associations)):
        runner.run(test)
    assert runner.failures == 0 and runner.tries > 0


def test_every_form_names_the_margins_and_bounds():
    raked = WeightsMethod(("職位", "年代"), (0.5, 2.0))
    for form in ("label", "note", "change"):
        said = weights_text(raked, form)
        assert "職位・年代" in said and "0.5～2倍" in said, (form, said)
        assert "事後層化" not in said
    assert weights_text(raked, "short") == "レイキング後のウェイト"
    for form in ("label", "note", "change", "short"):
        assert "レイキング" not in weights_text(WeightsMethod(), form)
    assert "N_h" not in weights_text(WeightsMethod()) and "職員数÷回答者数" in weights_text(WeightsMethod())
    with pytest.raises(ValueError, match="form"):
        weights_text(raked, "long")


def test_the_minimum_base_is_stated_from_the_setting():
    assert reference_note(30) == "基数30未満は参考値（検定しない）"
    assert reference_note(50) == "基数50未満は参考値（検定しない）"
    assert reference_verdict(50) == "参考値（基数50未満）"


def test_a_comparisons_minimum_base_reaches_its_verdicts_and_notes():
    """compare(min_base=…) judges 参考値 against that base and says so in its notes."""
    from conftest import BASELINE, FRAME
    from ppp_survey import compare as cmp
    from ppp_survey.outputs.change_sheets import change_sheets

    wave = cmp.load_wave(BASELINE, FRAME)
    table = cmp.compare(wave, wave, min_base=200)
    assert (table.rows["verdict"] == reference_verdict(200)).any()
    notes = " ".join(n for sheet in change_sheets(table, source_note="") for b in sheet.blocks for n in b.notes)
    assert reference_note(200) in notes and "基数30未満" not in notes
