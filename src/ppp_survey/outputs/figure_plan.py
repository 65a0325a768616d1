"""Which charts a report draws and what their files are called: :func:`figure_plan` (file name, draw
function) for the response rates, every question (overall, by 職域) and the association model, and
:func:`figure_name` (numbered as the committee document numbers its charts: 2-(5) → ``2-05_…png``).
The report saves the plan (:func:`~ppp_survey.outputs.figure_files.save_figures`); tests draw it."""

from __future__ import annotations

import re
from collections.abc import Callable

from ppp_survey.analysis import Analysis
from ppp_survey.outputs.calibration_sheets import association_figure_plan
from ppp_survey.survey.associations import key_label

__all__ = ["figure_name", "figure_plan"]


def figure_name(item, suffix: str = "") -> str:
    """File name of a question's chart, numbered as the document numbers it: 2-(5) → '2-05_…png'."""
    match = re.fullmatch(r"(\d+)-\((\d+)\)", item.number.strip())
    number = f"{match.group(1)}-{int(match.group(2)):02d}" if match else item.id
    title = re.sub(r"（複数選択可）|\(複数選択可\)", "", item.label)
    title = re.sub(r'[\\/:*?"<>|\s]', "", title)
    return f"{number}_{title}{suffix}.png"


def figure_plan(
    analysis: Analysis, *, weighted: bool, note: str, plain_note: str | None = None
) -> list[tuple[str, Callable]]:
    """(file name, draw function) for every chart: response rates, one chart per question of the
    document (by 職域 for single-answer questions), and a heatmap per question by 職域 (with a
    全体 column). Each is saved as PNG and SVG (:func:`~ppp_survey.outputs.figure_files.save_figures`)."""
    from ppp_survey.outputs import plots

    cb = analysis.codebook
    stratum = cb.stratum
    plan: list[tuple[str, Callable]] = [
        ("2-00_職域別回答率.png", lambda: plots.plot_response_rates(analysis.rates, note=plain_note or note)),
    ]
    for q in analysis.questions:
        if q.is_multi:
            plan.append(
                (figure_name(q), lambda q=q: plots.plot_multi(analysis.tally(q.id), q, weighted=weighted, note=note))
            )
        else:
            plan.append(
                (
                    figure_name(q),
                    lambda q=q: plots.plot_stacked(
                        analysis.tally(q.id, by=stratum.id), q, weighted=weighted, note=note
                    ),
                )
            )
    for q in analysis.questions:
        ct = analysis.crosstabs[(q.id, stratum.id)]
        plan.append(
            (
                figure_name(q, f"_{stratum.label}別"),
                lambda q=q, ct=ct: plots.plot_heatmap(ct, weighted=weighted, note=note, overall=analysis.tally(q.id)),
            )
        )
    if analysis.association is not None:  # the forest plot of the association model (willingness by default)
        response = analysis.association.response
        item = analysis.codebook.item(response.split(":")[0])
        plan += association_figure_plan(
            analysis.association,
            names=analysis.term_labels(),
            title=f"「{key_label(analysis.codebook, response)}」（{item.label}）と関連する要因：オッズ比（95%信頼区間）",
            note=note,
        )
    return plan
