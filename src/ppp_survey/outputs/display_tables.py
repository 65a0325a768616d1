"""A question's tables as people read them: the wide, rounded 単純集計 and クロス集計 of the
notebooks and the committee document, from the tidy results of :mod:`ppp_survey.survey.tables`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ppp_survey.constants import ALL, NO_ANSWER
from ppp_survey.spec.codebook import Item
from ppp_survey.survey.tables import Crosstab
from ppp_survey.text import round_half_up

__all__ = ["display_crosstab", "display_tally"]


def _pct(values) -> np.ndarray:
    return round_half_up(100 * np.asarray(values, dtype=float))


def display_tally(table: pd.DataFrame, item: Item, *, weighted: bool = False) -> pd.DataFrame:
    """A question's 単純集計 as people read it: choices in rows, 回答数 and %, then 無回答 and 合計/M.T."""
    t = table[table["group"] == ALL]
    if "suppressed" in t and t["suppressed"].any():  # fewer answers than the anonymity threshold
        return pd.DataFrame(
            {"選択肢": [*t["label"], "基数"], "回答数": ["x"] * (len(t) + 1), "%": ["x"] * (len(t) + 1)}
        )
    value = t["estimate"] if weighted else t["share"]
    out = pd.DataFrame({"選択肢": t["label"].to_numpy(), "回答数": t["n"].to_numpy(), "%": _pct(value)})
    base, missing = int(t["base_n"].iloc[0]), int(t["no_answer_n"].iloc[0])
    total_label = "M.T.（複数回答計）" if item.is_multi else "合計"
    tail = pd.DataFrame(
        {
            "選択肢": [total_label, f"基数（{NO_ANSWER}を除く）", NO_ANSWER],
            "回答数": [int(t["n"].sum()), base, missing],
            "%": [float(np.sum(_pct(value))), np.nan, np.nan],
        }
    )
    shown = pd.concat([out, tail], ignore_index=True)
    shown["回答数"] = shown["回答数"].astype("Int64")
    return shown


def display_crosstab(ct: Crosstab, *, weighted: bool = False) -> pd.DataFrame:
    """A crosstab as people read it: groups in rows with base n, % per choice with its mark."""
    cells = ct.cells
    value = cells["estimate"] if weighted else cells["share"]
    held = cells["suppressed"] if "suppressed" in cells else pd.Series(False, index=cells.index)
    text = [
        "x" if h else (f"{v:.1f}{m}" if np.isfinite(v) else "-") for v, m, h in zip(_pct(value), cells["mark"], held)
    ]
    wide = cells.assign(text=text).pivot(index="group", columns="label", values="text")
    groups = list(dict.fromkeys(cells["group"]))
    wide = wide.reindex(index=groups, columns=ct.item.labels)
    base = cells.drop_duplicates("group").set_index("group")
    wide.insert(0, "基数", base["base_n"].reindex(groups).to_numpy())
    wide.insert(1, "備考", np.where(base["reference"].reindex(groups).to_numpy(), "参考値", ""))
    wide.index.name = ct.by
    return wide.reset_index()
