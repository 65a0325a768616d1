"""Every chart of the report: plotted numbers equal shares computed here from the responses with
plain pandas (not through the library's tables), no glyph is missing, and each carries n and a source note."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from ppp_survey.analysis import analyse
from ppp_survey.outputs import plots
from ppp_survey.report.cli import figure_plan
from ppp_survey.text import Coverage, source_note


@pytest.fixture(scope="module")
def analysis(baseline, frame, codebook):
    return analyse(baseline.responses, frame, codebook)


@pytest.fixture(scope="module")
def drawn(analysis, codebook, tmp_path_factory):
    """Draw and save every figure once; keep the Axes (figures stay open until the module ends)."""
    import matplotlib.pyplot as plt

    out = tmp_path_factory.mktemp("figs")
    note = source_note(codebook, Coverage(3138, 1340), synthetic=True)
    result = {}
    with plots.theme():
        for name, draw in figure_plan(analysis, weighted=False, note=note):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                ax = draw()
                ax.figure.savefig(out / name)  # rendering is where a missing glyph is reported
            result[name] = (ax, [str(w.message) for w in caught])
    yield result
    plt.close("all")


def _plain_shares(responses: pd.DataFrame, item, rows: pd.Series | None = None) -> pd.Series:
    """% of those who answered, by choice label, from the raw respondent table."""
    data = responses if rows is None else responses[rows]
    if item.is_multi:
        ticks = data[item.option_columns].astype("float").dropna()
        return pd.Series(100 * ticks.mean().to_numpy(), index=item.labels)
    return 100 * data[item.id].value_counts(normalize=True).reindex(item.labels).fillna(0.0)


def test_every_document_chart_is_drawn(drawn, codebook):
    names = sorted(drawn)
    for k in range(1, 8):
        assert any(n.startswith(f"2-0{k}_") and not n.endswith("職域別.png") for n in names), k
        assert any(n.startswith(f"2-0{k}_") and n.endswith("_職域別.png") for n in names), k
    assert "2-01_官民連携の重要性.png" in names
    assert "2-00_職域別回答率.png" in names


def test_no_missing_glyph(drawn):
    for name, (_, messages) in drawn.items():
        assert not [m for m in messages if "Glyph" in m or "missing from font" in m], name


def test_every_chart_shows_base_and_source(drawn):
    for name, (ax, _) in drawn.items():
        texts = " ".join(t.get_text() for t in ax.figure.texts)
        assert "n = " in texts, name
        assert "R7.7.18～31実施 職員3,138人中1,340人回答（回答率42.7%）" in texts, name
        assert "架空データ" in texts, name


def _row_of(ax) -> dict[float, str]:
    return {
        round(float(y), 3): label.get_text().split("（n=")[0].strip()
        for y, label in zip(ax.get_yticks(), ax.get_yticklabels())
    }


def test_stacked_bars_match_plain_shares(drawn, baseline, codebook):
    responses = baseline.responses
    for item in codebook.questions_of_type("sa", "likert"):
        ax, _ = next(
            v for k, v in drawn.items() if k.startswith(f"2-0{item.number[3]}_") and not k.endswith("職域別.png")
        )
        rows = _row_of(ax)
        checked = 0
        for container in ax.containers:
            label = container.get_label()
            for patch in container.patches:
                group = rows[round(patch.get_y() + patch.get_height() / 2, 3)]
                mask = None if group == "全体" else responses["domain"].astype(object) == group
                expected = _plain_shares(responses, item, mask)[label]
                assert patch.get_width() == pytest.approx(expected, abs=1e-9), (item.id, group, label)
                checked += 1
        scored = sum(c.score is not None for c in item.choices) if item.type == "likert" else len(item.choices)
        assert checked == scored * (1 + len(codebook.stratum.choices))


def test_multi_bars_match_plain_shares(drawn, baseline, codebook):
    for item in codebook.questions_of_type("ma"):
        ax, _ = next(
            v for k, v in drawn.items() if k.startswith(f"2-0{item.number[3]}_") and not k.endswith("職域別.png")
        )
        expected = _plain_shares(baseline.responses, item)
        labels = [t.get_text().replace("\n", "") for t in ax.get_yticklabels()]
        widths = {round(p.get_y() + p.get_height() / 2, 3): p.get_width() for p in ax.patches}
        for y, label in zip(ax.get_yticks(), labels):
            assert widths[round(float(y), 3)] == pytest.approx(expected[label], abs=1e-9), (item.id, label)
        main = [
            w
            for w, lab in zip([widths[round(float(y), 3)] for y in ax.get_yticks()], labels)
            if lab not in ("その他", "特にない")
        ]
        assert main == sorted(main, reverse=True)  # ranked: ticks are listed top (largest) first


def test_heatmaps_match_plain_crosstabs(drawn, baseline, codebook):
    responses = baseline.responses
    for item in codebook.tabulated:
        ax, _ = next(v for k, v in drawn.items() if k.startswith(f"2-0{item.number[3]}_") and k.endswith("職域別.png"))
        # one row per choice; columns 全体, then each 職域
        values = np.asarray(ax.collections[0].get_array(), dtype=float).reshape(
            len(item.choices), 1 + len(codebook.stratum.choices)
        )
        np.testing.assert_allclose(values[:, 0], _plain_shares(responses, item).to_numpy(float), atol=1e-9)
        for i, group in enumerate(codebook.stratum.labels):
            expected = _plain_shares(responses, item, responses["domain"].astype(object) == group)
            np.testing.assert_allclose(
                values[:, 1 + i], expected.to_numpy(float), atol=1e-9, err_msg=f"{item.id} {group}"
            )


def test_response_rate_bars(drawn, baseline, frame):
    ax, _ = drawn["2-00_職域別回答率.png"]
    counts = baseline.responses["domain"].value_counts()
    population = frame.set_index(frame["domain"].astype(str))["population"]
    rows = _row_of(ax)
    for patch in ax.patches:
        group = rows[round(patch.get_y() + patch.get_height() / 2, 3)]
        assert patch.get_width() == pytest.approx(100 * counts[group] / population[group])
