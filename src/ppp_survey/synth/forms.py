"""Writing a respondent table back out in the shape real exports have.

Used to make the bundled synthetic baseline (a Microsoft Forms-style workbook) and, in tests, to
check that the same data written as ``.xlsx``, ``.csv`` (UTF-8 with BOM or CP932) and SPSS ``.sav``
load to identical tables.

Forms layout: ``ID, 開始時刻, 完了時刻, メール, 名前``, then one column per item headed by its
question text; multi-select answers are the chosen labels joined with ``;`` (with Forms' trailing
``;``); その他 free text has a column of its own. The SPSS layout uses short variable names (``q1``,
``q4_3``), the question text as variable label, numeric codes with value labels, and one 0/1
variable per multi-select option.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ppp_survey.files import atomic_output, pin_xlsx
from ppp_survey.spec.codebook import Codebook

SYNTHETIC_NOTE = (
    "このファイルは架空データ（合成データ）です。実際の回答ではありません。"
    "ppp_survey の生成器（python -m ppp_survey.synth）が、資料の公表値（職員3,138人中1,340人回答、回答率42.7%、"
    "R7.7.18～31実施）と2-(8)の定性的な所見を再現するように作成したものです。"
)


def to_forms_frame(responses: pd.DataFrame, free_text: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """The respondent table as a Microsoft Forms export (headers are question texts)."""
    out = pd.DataFrame(
        {
            "ID": pd.to_numeric(responses["respondent_id"], errors="coerce").fillna(-1).astype(int)
            if responses["respondent_id"].str.fullmatch(r"\d+").all()
            else responses["respondent_id"],
            "開始時刻": responses["started"],
            "完了時刻": responses["completed"],
            "メール": "anonymous",
            "名前": "",
        }
    )
    texts = _free_lookup(free_text, responses)
    for item in codebook.items:
        if item.type == "text":
            out[item.text] = texts.get((item.id, "answer"), "")
            continue
        if item.is_multi:
            ticks = responses[item.option_columns].to_numpy(dtype=float, na_value=np.nan)
            labels = np.array(item.labels, dtype=object)
            out[item.text] = [
                "" if np.isnan(row).any() else "".join(f"{lab};" for lab in labels[row == 1]) for row in ticks
            ]
            if any(c.other for c in item.choices):
                out[item.other_text or f"{item.id}_other"] = texts.get((item.id, "other"), "")
        else:
            out[item.text] = responses[item.id].astype(object).where(responses[item.id].notna(), "")
    return out


def to_spss_frame(
    responses: pd.DataFrame, free_text: pd.DataFrame, codebook: Codebook
) -> tuple[pd.DataFrame, dict[str, str | None], dict[str, dict[float, str]]]:
    """The respondent table as SPSS variables: (frame, variable labels, value labels)."""
    out = pd.DataFrame(
        {
            "ID": responses["respondent_id"].astype(str),
            "started": responses["started"],
            "completed": responses["completed"],
        }
    )
    var_labels: dict[str, str | None] = {"ID": "ID", "started": "開始時刻", "completed": "完了時刻"}
    value_labels: dict[str, dict[float, str]] = {}
    texts = _free_lookup(free_text, responses)
    for item in codebook.items:
        if item.type == "text":
            out[item.id] = texts.get((item.id, "answer"), "")
            var_labels[item.id] = item.text
            continue
        if item.is_multi:
            for c, col in zip(item.choices, item.option_columns):
                out[col] = responses[col].astype("Float64").fillna(0).astype(float)
                var_labels[col] = f"{item.text}[{c.label}]"
            if any(c.other for c in item.choices):
                out[f"{item.id}_other"] = texts.get((item.id, "other"), "")
                var_labels[f"{item.id}_other"] = item.other_text or f"{item.id}_other"
        else:
            codes = {c.label: float(c.code) for c in item.choices}
            out[item.id] = responses[item.id].astype(object).map(codes).astype(float)
            var_labels[item.id] = item.text
            value_labels[item.id] = {float(c.code): c.label for c in item.choices}
    return out, var_labels, value_labels


def write_export(
    responses: pd.DataFrame,
    free_text: pd.DataFrame,
    codebook: Codebook,
    path: str | Path,
    *,
    encoding: str = "utf-8-sig",
    synthetic: bool = False,
) -> Path:
    """Write the table as ``.xlsx``/``.csv`` (Forms layout) or ``.sav`` (SPSS layout), chosen by suffix.

    ``encoding`` applies to CSV (``utf-8-sig``, ``utf-8`` or ``cp932``). ``synthetic=True`` adds a
    second sheet 注記 to a workbook saying the data are synthetic (架空データ). Workbooks are pinned
    (:func:`ppp_survey.files.pin_xlsx`) so the same table gives the same bytes.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    with atomic_output(p) as tmp:
        if suffix == ".sav":
            import pyreadstat

            frame, var_labels, value_labels = to_spss_frame(responses, free_text, codebook)
            pyreadstat.write_sav(frame, str(tmp), column_labels=var_labels, variable_value_labels=value_labels)
        elif suffix == ".csv":
            frame = to_forms_frame(responses, free_text, codebook)
            for col in ("開始時刻", "完了時刻"):
                frame[col] = frame[col].dt.strftime("%Y/%m/%d %H:%M:%S").fillna("")
            frame.to_csv(tmp, index=False, encoding=encoding, lineterminator="\r\n")
        elif suffix == ".xlsx":
            frame = to_forms_frame(responses, free_text, codebook)
            with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
                frame.to_excel(xw, sheet_name="Sheet1", index=False)
                if synthetic:
                    pd.DataFrame({"注記": [SYNTHETIC_NOTE]}).to_excel(xw, sheet_name="注記", index=False)
            pin_xlsx(tmp)
        else:
            raise ValueError(f"unsupported export type {suffix}; use .xlsx, .csv or .sav")
    return p


def _free_lookup(free_text: pd.DataFrame, responses: pd.DataFrame) -> dict[tuple[str, str], pd.Series]:
    """Free text per (item, field) aligned to the respondent rows ('' where none)."""
    out: dict[tuple[str, str], pd.Series] = {}
    position = pd.Series(np.arange(len(responses)), index=responses["respondent_id"].astype(str))
    for (item, field), part in free_text.groupby(["item", "field"], sort=False):
        values = pd.Series([""] * len(responses), dtype=object)
        values.iloc[position[part["respondent_id"].astype(str)].to_numpy()] = part["text"].to_numpy()
        out[(item, field)] = values
    return out
