"""The matrix's sheets and CSVs hold numbers as numbers (issue 17, item 8)."""

from __future__ import annotations

from ppp_survey.text import round_half_up


def test_evidence_values_are_numbers_with_their_unit(baseline, frame, codebook):
    from ppp_survey.analysis import analyse
    from ppp_survey.outputs.matrix_sheets import evidence_display, kpi_display, matrix_sheets, reverse_display
    from ppp_survey.policy.assess import assess
    from ppp_survey.spec.matrix_file import load_matrix

    policy = assess(load_matrix(codebook=codebook), analyse(baseline.responses, frame, codebook))
    table = evidence_display(policy.evidence)
    first = policy.evidence.iloc[0]
    assert table["値"].iloc[0] == round_half_up(100 * first["value"]) and table["単位"].iloc[0] == "%"
    for display in (table, kpi_display(policy.kpi), reverse_display(policy.reverse)):
        for col in [c for c in display.columns if c == "値" or "95%CI" in c or c == "基準値"]:
            assert all(isinstance(v, float) or v == "<0.001" for v in display[col]), col
    means = table[table["単位"] == "点"]
    assert len(means) == 0 or means["値"].map(lambda v: round(v, 2) == v).all()
    sheets = matrix_sheets(policy.matrix, policy.evidence, policy.kpi, policy.reverse, source_note="NOTE")
    block = sheets[0].blocks[0]
    assert block.cell_formats is not None and set(block.cell_formats["値"]) <= {"0.0", "0.00", "0.000"}
