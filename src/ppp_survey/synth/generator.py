"""The synthetic (架空) baseline: a seeded, deterministic generator of respondent tables.

The real response file is not public, so the package ships synthetic data that reproduce the
committee document's published facts (3,138 staff, 1,340 respondents, 42.7%, the survey window)
and its qualitative findings. The parameters live in a data file (``synthetic_r7.yaml``), not in
code; the generator reads any codebook, so it can also make larger, scaled samples for benchmarks.

Regenerate the bundled files (a developer's task; the report never writes to ``data/raw``)::

    python -m ppp_survey.synth --out data/raw              # R7 baseline (synthetic_r7.yaml)
    python -m ppp_survey.synth --out data/raw --wave r8    # hypothetical second wave (synthetic_r8.yaml)
    python -m ppp_survey.synth --out data/raw --wave r9    # hypothetical third wave (synthetic_r9.yaml)
"""

from __future__ import annotations

import argparse
import datetime as dt
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from ppp_survey.errors import PppSurveyError
from ppp_survey.spec.codebook import DEFAULT_CODEBOOK, Codebook, Item, load_codebook
from ppp_survey.spec.schema import load_yaml

DEFAULT_SPEC = "synthetic_r7.yaml"
BASELINE_NAME = "synthetic_r7_responses"
SYNTHETIC_LABEL = "架空データ"


@dataclass(frozen=True)
class SyntheticSurvey:
    """A synthetic wave: the typed respondent table (as :func:`load_responses` returns it) and its free text."""

    responses: pd.DataFrame
    free_text: pd.DataFrame
    codebook: Codebook
    seed: int


def load_spec(path: str | Path | None = None) -> dict:
    """Read the generator's parameter file (packaged ``synthetic_r7.yaml`` by default).

    ``path`` may also name a packaged spec, e.g. ``"synthetic_r8.yaml"``.
    """
    if path is None:
        path = DEFAULT_SPEC
    packaged = resources.files("ppp_survey") / "data" / str(path)
    if not Path(path).is_file() and packaged.is_file():
        text = packaged.read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    return load_yaml(text)


def allocate(counts: dict[str, int], n: int) -> dict[str, int]:
    """Scale per-stratum counts to total ``n`` by largest remainder (exact, deterministic)."""
    total = sum(counts.values())
    raw = {k: v * n / total for k, v in counts.items()}
    out = {k: int(np.floor(x)) for k, x in raw.items()}
    short = n - sum(out.values())
    for k in sorted(raw, key=lambda k: (-(raw[k] - out[k]), list(raw).index(k)))[:short]:
        out[k] += 1
    return out


def scale_frame(frame: pd.DataFrame, factor: float) -> pd.DataFrame:
    """A staff frame scaled by ``factor`` (rounded), for benchmark samples larger than the city."""
    out = frame.copy()
    out["population"] = np.maximum(np.round(out["population"] * factor).astype(int), 1)
    return out


def generate(  # noqa: C901 (the generator's documented steps, one branch per question type)
    codebook: Codebook | None = None,
    spec: dict | None = None,
    *,
    n: int | None = None,
    seed: int | None = None,
) -> SyntheticSurvey:
    """Generate a synthetic wave.

    Parameters
    ----------
    codebook, spec
        Questionnaire and generator parameters; ``None`` uses the packaged R7 spec, and the
        packaged codebook the spec names (``codebook:``; R7's by default).
    n
        Number of respondents; ``None`` gives the spec's per-職域 counts (1,340 for R7). Other
        values scale those counts by largest remainder.
    seed
        Random seed; ``None`` uses the spec's. The same seed gives the same table.
    """
    spec = spec or load_spec()
    codebook = codebook or _spec_codebook(spec)
    seed = int(spec["seed"] if seed is None else seed)
    rng = np.random.default_rng(seed)
    stratum = codebook.stratum
    counts = {str(k): int(v) for k, v in spec["respondents"].items()}
    unknown = set(counts) - set(stratum.labels)
    if unknown:
        raise PppSurveyError(
            f"架空データの設定 respondents: 職域「{'」「'.join(sorted(unknown))}」がコードブックの職域"
            f"（{'、'.join(stratum.labels)}）にない。設定の職域名を直す"
        )
    if n is not None:
        counts = allocate(counts, n)
    strata = np.repeat(np.array(list(counts)), list(counts.values()))
    size = len(strata)
    data: dict[str, object] = {stratum.id: strata}
    nonresponse = float(spec.get("item_nonresponse", 0.0))
    params = {**spec.get("attributes", {}), **spec.get("questions", {})}

    free: list[pd.DataFrame] = []
    for item in codebook.items:
        if item is stratum or item.type == "text":
            continue
        p = params.get(item.id, {})
        if item.is_multi:
            ticks = _multi(rng, item, p, strata, nonresponse)
            for j, col in enumerate(item.option_columns):
                data[col] = ticks[:, j]
            other = next((j for j, c in enumerate(item.choices) if c.other), None)
            if other is not None and spec.get("other_texts"):
                rows = np.flatnonzero(ticks[:, other] == 1)
                texts = rng.choice(spec["other_texts"], size=len(rows))
                free.append(pd.DataFrame({"index": rows, "item": item.id, "field": "other", "text": texts}))
        else:
            data[item.id] = _single(rng, item, p, strata, nonresponse if item.role != "stratum" else 0.0)
    for item_id, rule in (spec.get("dependence") or {}).items():  # on a second random stream
        item = _dependence_item(codebook, item_id, rule, data)
        dependent = np.random.default_rng([seed, 19])
        data[item_id] = _dependent(dependent, item, params.get(item_id, {}), rule, data, strata)
    for item in codebook.questions_of_type("text"):
        rows = np.flatnonzero(rng.random(size) < float(spec.get("comment_rate", 0.0)))
        if rows.size and spec.get("comments"):
            free.append(
                pd.DataFrame(
                    {
                        "index": rows,
                        "item": item.id,
                        "field": "answer",
                        "text": rng.choice(spec["comments"], size=len(rows)),
                    }
                )
            )

    started, completed = _times(rng, codebook, size)
    order = np.argsort(completed, kind="stable")
    ids = np.empty(size, dtype=object)
    ids[order] = [str(i + 1) for i in range(size)]

    table = pd.DataFrame({"respondent_id": ids, "started": started, "completed": completed})
    for item in codebook.items:
        if item.is_multi:
            for col in item.option_columns:
                table[col] = pd.array(data[col], dtype="Int8")
        elif item.type != "text":
            table[item.id] = pd.Categorical(data[item.id], categories=item.labels, ordered=item.type == "likert")
    table = table.iloc[order].reset_index(drop=True)
    table = table[
        [
            "respondent_id",
            "started",
            "completed",
            *[c for c in table.columns if c not in ("respondent_id", "started", "completed")],
        ]
    ]
    free_text = _free_text(free, ids, order)
    return SyntheticSurvey(table, free_text, codebook, seed)


def _probs(item: Item, p: dict, strata: np.ndarray, default_len: int) -> np.ndarray:
    """Per-respondent probability rows: the item's ``probs`` overridden by ``by_stratum``."""
    base = np.asarray(p.get("probs", np.full(default_len, 1.0 / default_len)), dtype=float)
    if base.shape != (default_len,):
        raise PppSurveyError(
            f"架空データの設定 {'attributes' if item.role != 'question' else 'questions'}.{item.id}.probs: {item.display}の選択肢は{default_len}個なのに"
            f"確率が{base.size}個ある。選択肢の数だけ確率を書く"
        )
    out = np.tile(base, (len(strata), 1))
    for label, override in (p.get("by_stratum") or {}).items():
        out[strata == label] = np.asarray(override, dtype=float)
    return out


def _single(rng: np.random.Generator, item: Item, p: dict, strata: np.ndarray, nonresponse: float) -> np.ndarray:
    probs = _probs(item, p, strata, len(item.choices))
    probs = probs / probs.sum(axis=1, keepdims=True)
    u = rng.random(len(strata))
    picks = (u[:, None] > np.cumsum(probs, axis=1)).sum(axis=1)
    values = np.array(item.labels, dtype=object)[np.minimum(picks, len(item.choices) - 1)]
    values[rng.random(len(strata)) < nonresponse] = None
    return values


def _dependence_item(codebook: Codebook, item_id: str, rule: dict, data: dict) -> Item:
    """The item a ``dependence`` entry redraws, after checking the entry against the codebook: a
    single-answer item, favourable codes among its choices, effects on known items and their labels
    (a misspelt label would otherwise add nothing, silently)."""
    where = f"架空データの設定 dependence.{item_id}"
    ids = [it.id for it in codebook.items if not it.is_multi and it.type != "text"]  # single-answer items
    if item_id not in ids or item_id == codebook.stratum.id:
        raise PppSurveyError(
            f"{where}: 「{item_id}」は単一回答の設問のidではない（あるのは {'、'.join(ids)}）。idを直す"
        )
    item = codebook.item(item_id)
    codes = [c.code for c in item.choices]
    favourable = rule.get("favourable") or []
    if not favourable or any(int(c) not in codes for c in favourable):
        raise PppSurveyError(
            f"{where}.favourable: {favourable}に{item.display}の選択肢の番号（{'、'.join(map(str, codes))}）"
            "でないものがある（または空）。肯定的な回答の番号を書く"
        )
    for column, effects in (rule.get("log_odds") or {}).items():
        if column not in ids or column == item_id:
            raise PppSurveyError(
                f"{where}.log_odds: 「{column}」は単一回答の項目のidではない（あるのは {'、'.join(ids)}）。idを直す"
            )
        other = codebook.item(column)
        unknown = [str(label) for label in effects if label not in other.labels]
        if unknown:
            raise PppSurveyError(
                f"{where}.log_odds.{column}: 「{'」「'.join(unknown)}」は{other.display}の選択肢"
                f"（{'、'.join(other.labels)}）にない。選択肢の表記どおりに書く"
            )
    return item


def _dependent(rng: np.random.Generator, item: Item, p: dict, rule: dict, data: dict, strata: np.ndarray) -> np.ndarray:
    """Draw a single-answer item again so that its favourable answers depend on other answers (spec
    ``dependence``): log-odds = the 職域's (``probs``) + an intercept per 職域 keeping its expected share
    + the listed log odds ratios; blanks of the first draw stay blank."""
    probs = _probs(item, p, strata, len(item.choices))
    probs = probs / probs.sum(axis=1, keepdims=True)
    favourable = np.isin([c.code for c in item.choices], [int(c) for c in rule["favourable"]])
    share = probs[:, favourable].sum(axis=1)
    shift = np.zeros(len(strata))
    for column, effects in (rule.get("log_odds") or {}).items():
        shift += pd.Series(np.asarray(data[column], dtype=object)).map(effects).fillna(0.0).to_numpy(dtype=float)
    base = np.log(share / (1.0 - share)) + shift
    intercept = np.zeros(len(strata))
    for label in np.unique(strata):
        rows = strata == label
        low, high = -20.0, 20.0
        for _ in range(60):  # bisection: the intercept that keeps the 職域's expected favourable share
            mid = 0.5 * (low + high)
            if np.mean(1.0 / (1.0 + np.exp(-(base[rows] + mid)))) < share[rows].mean():
                low = mid
            else:
                high = mid
        intercept[rows] = 0.5 * (low + high)
    chosen = rng.random(len(strata)) < 1.0 / (1.0 + np.exp(-(base + intercept)))
    within = np.where(chosen[:, None], probs * favourable, probs * ~favourable)
    within = within / within.sum(axis=1, keepdims=True)
    picks = (rng.random(len(strata))[:, None] > np.cumsum(within, axis=1)).sum(axis=1)
    values = np.array(item.labels, dtype=object)[np.minimum(picks, len(item.choices) - 1)]
    values[pd.isna(pd.Series(np.asarray(data[item.id], dtype=object))).to_numpy()] = None
    return values


def _multi(rng: np.random.Generator, item: Item, p: dict, strata: np.ndarray, nonresponse: float) -> np.ndarray:
    probs = _probs(item, p, strata, len(item.choices))
    ticks = (rng.random(probs.shape) < probs).astype(float)
    exclusive = [j for j, c in enumerate(item.choices) if c.exclusive]
    for j in exclusive:  # 特にない: ticking it clears everything else
        chosen = ticks[:, j] == 1
        ticks[chosen] = 0
        ticks[chosen, j] = 1
    ticks[ticks.sum(axis=1) == 0] = np.nan  # ticking nothing reads as not answered, as the loader treats it
    ticks[rng.random(len(strata)) < nonresponse] = np.nan
    return ticks


def _times(rng: np.random.Generator, codebook: Codebook, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and completion times within the survey window, 08:30–17:45, 2–20 minutes apart."""
    first, last = codebook.survey.fielded_from, codebook.survey.fielded_to
    days = (last - first).days + 1
    day = rng.integers(0, days, size)
    seconds = rng.integers(8 * 3600 + 1800, 17 * 3600 + 2700, size)
    start = np.datetime64(dt.datetime.combine(first, dt.time()), "s") + (day * 86400 + seconds).astype("timedelta64[s]")
    completed = start + rng.integers(120, 1200, size).astype("timedelta64[s]")
    return start.astype("datetime64[ns]"), completed.astype("datetime64[ns]")


def _free_text(parts: list[pd.DataFrame], ids: np.ndarray, order: np.ndarray) -> pd.DataFrame:
    cols = ["respondent_id", "item", "field", "text"]
    if not parts:
        return pd.DataFrame(columns=cols).astype(str)
    free = pd.concat(parts, ignore_index=True)
    rank = np.empty(len(order), dtype=int)
    rank[order] = np.arange(len(order))
    free["respondent_id"] = ids[free["index"].to_numpy()]
    free["pos"] = rank[free["index"].to_numpy()]
    item_order = {it: i for i, it in enumerate(free["item"].unique())}
    free["ipos"] = free["item"].map(item_order)
    return free.sort_values(["pos", "ipos"], kind="stable")[cols].reset_index(drop=True).astype(str)


def _spec_codebook(spec: dict) -> Codebook:
    """The packaged codebook a spec names (``codebook: codebook_r8.yaml``); R7's when it names none."""
    name = spec.get("codebook")
    if not name or name == DEFAULT_CODEBOOK:
        return load_codebook()
    from ppp_survey.spec.resources import packaged_codebook

    return packaged_codebook(name)


def write_baseline(out_dir: str | Path, *, codebook: Codebook | None = None, spec: dict | None = None) -> list[Path]:
    """Write a synthetic wave (Forms-style .xlsx) into ``out_dir``; return the paths.

    The file is named by the spec's ``name`` (default ``synthetic_r7_responses``). Its sheet 注記
    says the data are synthetic: the spec's ``note`` when it has one, else the R7 baseline's note.
    """
    from ppp_survey.synth.forms import write_export

    spec = spec or load_spec()
    survey = generate(codebook, spec)
    path = Path(out_dir) / f"{spec.get('name', BASELINE_NAME)}.xlsx"
    note = spec.get("note")
    write_export(survey.responses, survey.free_text, survey.codebook, path, synthetic=note is None)
    if note is not None:
        _add_note_sheet(path, str(note))
    return [path]


def _add_note_sheet(path: Path, note: str) -> None:
    """Add the sheet 注記 (the synthetic-data statement) to a written workbook, keeping it pinned."""
    import openpyxl

    from ppp_survey.files import atomic_output, pin_xlsx

    book = openpyxl.load_workbook(path)
    sheet = book.create_sheet("注記")
    sheet.append(["注記"])
    sheet.append([note])
    with atomic_output(path) as tmp:
        book.save(tmp)
        pin_xlsx(tmp)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ppp_survey.synth", description="架空データ（合成ベースライン）を生成する"
    )
    parser.add_argument("--out", default="data/raw", help="出力先のフォルダ（既定: data/raw）")
    parser.add_argument(
        "--wave",
        default="r7",
        choices=("r7", "r8", "r9"),
        help="r7: 基準となる初回調査（synthetic_r7.yaml、既定）、r8: 仮想の2回目の調査、r9: 仮想の3回目の調査",
    )
    args = parser.parse_args(argv)
    for path in write_baseline(args.out, spec=load_spec(f"synthetic_{args.wave}.yaml")):
        print(f"書き出しました: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
