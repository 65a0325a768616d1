"""Response rates against the staff frame, overall and by 職域."""

from __future__ import annotations

import pandas as pd

from ppp_survey.constants import ALL
from ppp_survey.errors import FrameError
from ppp_survey.spec.codebook import Codebook

TOTAL_LABEL = ALL


def response_rates(responses: pd.DataFrame, frame: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """Respondents and response rate per 職域 and in total.

    Parameters
    ----------
    responses
        Accepted respondents (``LoadResult.responses``).
    frame
        Staff frame from :func:`ppp_survey.spec.frame.load_frame` (``domain``, ``population``).

    Returns
    -------
    DataFrame
        ``domain`` (職域 labels in codebook order, then 全体), ``population`` (職員数),
        ``respondents`` (回答者数), ``rate`` (回答率 as a fraction; unrounded).

    Raises
    ------
    FrameError
        A 職域 has more respondents than staff (the frame cannot be this wave's).
    """
    stratum = codebook.stratum
    counts = responses[stratum.id].value_counts().reindex(stratum.labels, fill_value=0)
    table = pd.DataFrame(
        {
            "domain": stratum.labels,
            "population": frame.set_index("domain")["population"].reindex(stratum.labels).to_numpy(),
            "respondents": counts.to_numpy(),
        }
    )
    over = table[table["respondents"] > table["population"]]
    if len(over):
        row = over.iloc[0]
        raise FrameError(
            f"職員数フレーム: {stratum.label}「{row['domain']}」の回答者 {row['respondents']:,}人が職員数 "
            f"{row['population']:,}人を超える。この回答データの年度のフレームか確かめる"
        )
    total = pd.DataFrame(
        {
            "domain": [TOTAL_LABEL],
            "population": [table["population"].sum()],
            "respondents": [table["respondents"].sum()],
        }
    )
    table = pd.concat([table, total], ignore_index=True)
    table["rate"] = table["respondents"] / table["population"]
    table["domain"] = pd.Categorical(table["domain"], categories=[*stratum.labels, TOTAL_LABEL])
    return table
