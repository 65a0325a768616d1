"""Chart labels break Japanese text at phrase boundaries (BudouX), never inside a word (issue 17)."""

from __future__ import annotations

import itertools

import pytest

from ppp_survey.spec.resources import packaged_codebook
from ppp_survey.text import phrases, wrap_ja


def _boundaries(text: str) -> set[int]:
    return set(itertools.accumulate(len(p) for p in phrases(text)))


def _cuts(wrapped: str) -> set[int]:
    return set(itertools.accumulate(len(line) for line in wrapped.split("\n")))


LABELS = sorted(
    {
        c.label
        for name in ("codebook_r7.yaml", "codebook_r8.yaml")
        for q in packaged_codebook(name).items
        for c in q.choices
    }
)


@pytest.mark.parametrize("width", [7, 10, 22])
def test_every_choice_label_breaks_between_phrases(width):
    for label in LABELS:
        wrapped = wrap_ja(label, width)
        assert wrapped.replace("\n", "") == label
        assert _cuts(wrapped) <= _boundaries(label), (label, wrapped)
        for line in wrapped.split("\n"):  # a line is longer than width only when it is one phrase
            assert len(line) <= width or line in phrases(label), (label, line)


def test_the_words_the_issue_found_broken_stay_whole():
    assert "体系化されていない" in wrap_ja("基本的なルールやプロセスが体系化されていない", 7).split("\n")
    assert all(
        "策定・周知" in line or "策定" not in line for line in wrap_ja("ルール（指針）の策定・周知", 7).split("\n")
    )
    assert "支援" in wrap_ja("連携に向けた支援", 7).split("\n")


def test_heatmap_headers_break_between_phrases(baseline, frame, codebook):
    from ppp_survey.analysis import analyse
    from ppp_survey.outputs import plots

    analysis = analyse(baseline.responses, frame, codebook)
    with plots.theme():
        ax = plots.plot_heatmap(analysis.crosstabs[("q5", "domain")], overall=analysis.tally("q5"))
    for tick in ax.get_yticklabels():  # the choices, one row each
        text = tick.get_text()
        label = text.replace("\n", "")
        assert _cuts(text) <= _boundaries(label), text
    # the groups head the columns: across, broken between phrases, never one character a line; a
    # shortened name (「企業」) is whole phrases of the name and the key under the chart gives it whole
    footer = " ".join(t.get_text() for t in ax.figure.texts).replace("\n", "")
    for tick, group in zip(ax.get_xticklabels(), ["全体", *codebook.stratum.labels]):
        name = tick.get_text().rsplit("\n", 1)[0]  # the last line is the column's base n
        whole = name.replace("\n", "")
        assert whole == group or (group.startswith(whole) and f"{whole}＝{group}" in footer), name
        assert _cuts(name) <= _boundaries(group), name
        assert len(whole) == 1 or all(len(line) > 1 for line in name.split("\n")), name
