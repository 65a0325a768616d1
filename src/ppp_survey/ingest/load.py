"""Loading a response export through the codebook, with a report that accounts for every row.

One entry point, :func:`load_responses`, reads Microsoft Forms or Google Forms exports (``.xlsx``,
``.csv`` in UTF-8 or CP932) and SPSS ``.sav`` files. Columns are found by their header text (never
by position); identity columns (メール, 名前, Email, Name) are dropped before anything else so they
can never reach an output. Each cell is matched to the codebook after key normalisation (see
:mod:`ppp_survey.spec.normalize`); the stored labels are always the codebook's.

Every row read ends either *accepted* or *rejected with a reason*; ``read = accepted + rejected``
holds by construction and is checked. Cell values the codebook does not describe are an error
naming file, row, column and value (``on_invalid="error"``, the default), or reject their row
(``on_invalid="reject"``): never a silent missing value.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ppp_survey.errors import LoadError
from ppp_survey.ingest.read import RawExport, read_export
from ppp_survey.spec.codebook import Codebook, Item, load_codebook
from ppp_survey.spec.normalize import normalize_key

ID_HEADERS = ("ID", "Id", "回答ID", "回答者ID", "Response ID", "Respondent ID")
STARTED_HEADERS = ("開始時刻", "開始日時", "Start time")
COMPLETED_HEADERS = ("完了時刻", "完了日時", "Completion time", "タイムスタンプ", "Timestamp")
MODIFIED_HEADERS = ("最終変更時刻", "Last modified time")
IDENTITY_HEADERS = ("メール", "メールアドレス", "電子メール", "名前", "氏名", "Email", "Email address", "Name")
TRUE_KEYS = frozenset({"1", "true", "はい", "選択", "○", "〇", "yes", "x", "✓", "✔"})
FALSE_KEYS = frozenset({"0", "false", "いいえ", "no", "未選択", "選択なし"})
_SEPARATORS = re.compile(r"[;,、；，\n]+")
_NUMBERING_ONLY = re.compile(r"^\(?\d{1,2}[.)]?$")

# Rejection reasons (Japanese UI text; stable strings that tests and reports use).
R_EMPTY = "空行（回答なし）"
R_DUPLICATE = "ID重複"
R_WINDOW = "実施期間外の回答"
R_BAD_TIME = "日時を解釈できない"
R_NO_STRATUM = "職域が無回答"
R_UNKNOWN_STRATUM = "職域が不明"
R_UNMATCHED = "選択肢にない値"
R_MULTIPLE = "単一回答の設問に複数の回答"
R_EXCLUSIVE = "排他的な選択肢（特にない等）と他の選択肢の同時選択"
R_CUT_SHORT = "ファイル末尾の行が途中で切れている"


@dataclass(frozen=True)
class ValidationReport:
    """What happened to each row and column of one export file.

    ``rows`` has one row per data row read: ``row`` (as a spreadsheet numbers it), ``respondent_id``,
    ``status`` (``accepted``/``rejected``), ``reason``, ``column`` and ``value`` (what caused a
    rejection). ``columns`` says what each header was taken for (``role``: id, started, completed,
    modified, identity (dropped), item, option, other_text, ignored).
    """

    file: str
    format: str
    encoding: str | None
    sha256: str
    rows: pd.DataFrame
    columns: pd.DataFrame

    @property
    def n_read(self) -> int:
        return len(self.rows)

    @property
    def n_accepted(self) -> int:
        return int((self.rows["status"] == "accepted").sum())

    @property
    def n_rejected(self) -> int:
        return int((self.rows["status"] == "rejected").sum())

    def summary(self) -> pd.DataFrame:
        """Counts by status and reason, with the totals that must reconcile (read = accepted + rejected)."""
        rejected = self.rows[self.rows["status"] == "rejected"]
        by_reason = rejected.groupby("reason", sort=True).size().rename("count").reset_index()
        by_reason.insert(0, "status", "rejected")
        head = pd.DataFrame(
            {
                "status": ["read", "accepted", "rejected"],
                "reason": ["", "", ""],
                "count": [self.n_read, self.n_accepted, self.n_rejected],
            }
        )
        return pd.concat([head, by_reason], ignore_index=True)

    def rejected(self) -> pd.DataFrame:
        return self.rows[self.rows["status"] == "rejected"].reset_index(drop=True)


@dataclass(frozen=True)
class LoadResult:
    """The typed respondent table, the free text kept apart from it, and the validation report.

    ``responses``: one row per accepted respondent: ``respondent_id`` (str), ``started`` and
    ``completed`` (datetime, NaT if the export has none), each attribute and single-answer question
    as a categorical of codebook labels in codebook order (Likert ordered; NaN = 無回答), and each
    multi-select option as an ``Int8`` 0/1 column ``{id}_{code}`` (<NA> when the question was not
    answered). ``free_text``: ``respondent_id, item, column, text`` for その他 answers and text
    questions; it never goes into published outputs.
    """

    responses: pd.DataFrame
    free_text: pd.DataFrame
    report: ValidationReport
    codebook: Codebook


@dataclass(frozen=True)
class _Column:
    header: str
    role: str
    item: str = ""
    code: int | None = None


@dataclass
class _Problem:
    index: int
    reason: str
    column: str
    value: str
    detail: str


def load_responses(
    path: str | Path,
    codebook: Codebook | None = None,
    *,
    on_invalid: str = "error",
) -> LoadResult:
    """Load a response export through the codebook.

    Parameters
    ----------
    path
        ``.xlsx``, ``.csv`` (UTF-8 with or without BOM, or CP932) or ``.sav``.
    codebook
        The questionnaire's codebook; ``None`` uses the packaged R7 codebook.
    on_invalid
        ``"error"`` (default): a cell the codebook does not describe raises :class:`LoadError`
        naming file, row, column and value. ``"reject"``: such rows are rejected with the reason
        recorded in the report instead.

    Returns
    -------
    LoadResult
    """
    if on_invalid not in ("error", "reject"):
        raise ValueError(f"on_invalid must be 'error' or 'reject', not {on_invalid!r}")
    codebook = codebook or load_codebook()
    raw = read_export(path)
    columns = _map_columns(raw, codebook)
    return _Parser(raw, codebook, columns, on_invalid).run()


# --------------------------------------------------------------------------------------- columns


def _map_columns(raw: RawExport, cb: Codebook) -> list[_Column]:  # noqa: C901 (one pass over the headers with a branch per column role)
    fixed: dict[str, str] = {}
    for role, headers in (
        ("id", (*cb.id_column, *ID_HEADERS)),
        ("started", STARTED_HEADERS),
        ("completed", COMPLETED_HEADERS),
        ("modified", MODIFIED_HEADERS),
        ("identity", IDENTITY_HEADERS),
    ):
        for h in headers:
            fixed.setdefault(normalize_key(h), role)
    item_keys: dict[str, _Column] = {}
    for item in cb.items:
        for k in item.header_keys():
            item_keys.setdefault(k, _Column("", "item", item.id))
        if item.is_multi:
            for c in item.choices:
                for k in (
                    f"{item.id}_{c.code}",
                    f"{item.text}[{c.label}]",
                    f"{item.text}_{c.label}",
                    f"{item.label}[{c.label}]",
                    f"{item.id}[{c.label}]",
                ):
                    item_keys.setdefault(normalize_key(k), _Column("", "option", item.id, c.code))
        if item.other_text or item.is_multi:
            for k in (item.other_text or "", f"{item.id}_other", f"{item.id}_その他", f"{item.id}_text"):
                if k:
                    item_keys.setdefault(normalize_key(k), _Column("", "other_text", item.id))

    mapped: list[_Column] = []
    taken: dict[tuple, str] = {}
    for header in raw.table.columns:
        candidates = [normalize_key(header)]
        if header in raw.column_labels:
            candidates.append(normalize_key(raw.column_labels[header]))
        col = _Column(header, "ignored")
        for key in candidates:
            if key in fixed:
                col = _Column(header, fixed[key])
                break
            if key in item_keys:
                proto = item_keys[key]
                col = _Column(header, proto.role, proto.item, proto.code)
                break
        if col.role not in ("ignored", "identity"):
            slot = (col.role, col.item, col.code)
            if slot in taken:
                raise LoadError(
                    f"{raw.path}: 列「{header}」と列「{taken[slot]}」が同じ項目（{col.item or col.role}）に対応します。"
                    "どちらかの列名を直してください"
                )
            taken[slot] = header
        mapped.append(col)

    for item in cb.items:
        if item.type == "text":
            continue
        has_single = ("item", item.id, None) in taken
        options = [c.code for c in item.choices if ("option", item.id, c.code) in taken]
        if item.is_multi and not has_single and options and len(options) < len(item.choices):
            lacking = [item.option_column(c) for c in item.choices if c.code not in options]
            raise LoadError(
                f"{raw.path}: 複数回答の設問 {item.id}（{item.label}）の選択肢列が一部しかありません"
                f"（ない列: {', '.join(lacking)}）。エクスポートの列を確認してください"
            )
        if not has_single and not options:
            raise LoadError(
                f"{raw.path}: 設問 {item.id}（{item.label}）の列がありません。列名「{item.text}」の列を加えるか、"
                "コードブックの aliases に実際の列名を書いてください"
            )
    return mapped


# ------------------------------------------------------------------------------------------ rows


def _cell_text(value: object) -> str:
    """A cell as text: blanks and NaN as '', whole floats without '.0', dates in ISO form."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        return value.isoformat(sep=" ")
    return str(value)


class _Parser:
    """Turns the cells of one export into the typed table; one instance per load."""

    def __init__(self, raw: RawExport, cb: Codebook, columns: list[_Column], on_invalid: str) -> None:
        self.raw, self.cb, self.columns, self.on_invalid = raw, cb, columns, on_invalid
        self.table = raw.table.reset_index(drop=True)
        self.n = len(self.table)
        self.problems: list[_Problem] = []
        self.missing = cb.missing_keys | {""}

    def run(self) -> LoadResult:
        cols = {c.header: c for c in self.columns}
        text = {h: self._texts(h) for h in self.table.columns if cols[h].role not in ("identity", "ignored")}
        out: dict[str, object] = {}
        free: list[pd.DataFrame] = []
        answered = np.zeros(self.n, dtype=bool)

        for item in self.cb.items:
            single = next((c.header for c in self.columns if c.role == "item" and c.item == item.id), None)
            other = next((c.header for c in self.columns if c.role == "other_text" and c.item == item.id), None)
            if item.type == "text":
                if single is not None:
                    answered |= text[single].ne("").to_numpy()
                    free.append(self._free(item, "answer", text[single]))
                continue
            if item.is_multi:
                if single is not None:
                    matrix, leftover = self._parse_ma_cells(item, single, text[single])
                else:
                    matrix, leftover = self._parse_ma_options(item, text), None
                for j, c in enumerate(item.choices):
                    out[item.option_column(c)] = matrix[:, j]
                answered |= ~np.isnan(matrix[:, 0])
                if leftover is not None:
                    free.append(self._free(item, "other", leftover))
            else:
                if single is None:  # _map_columns refuses an export that lacks a question's column
                    raise ValueError(f"{item.id}: no column of the export is mapped to this single-answer item")
                values = self._parse_sa(item, single, text[single])
                out[item.id] = values
                answered |= values.notna().to_numpy()
            if other is not None:
                answered |= text[other].ne("").to_numpy()
                free.append(self._free(item, "other", text[other]))

        ids = self._ids(text)
        times = {role: self._times(text, role) for role in ("started", "completed")}
        reasons = self._row_reasons(answered, ids, times, out)
        return self._assemble(out, free, ids, times, reasons)

    # -- cells ---------------------------------------------------------------------------------

    def _texts(self, header: str) -> pd.Series:
        """Cell texts of a column; SPSS values are first mapped through their value labels."""
        col = self.table[header]
        labels = self.raw.value_labels.get(header)
        if labels:
            col = col.map(lambda v: labels.get(v, v) if v is not None else v)
        return col.map(_cell_text).astype(object)

    def _note(self, index: np.ndarray, reason: str, header: str, values: pd.Series, detail: str) -> None:
        for i in index:
            self.problems.append(_Problem(int(i), reason, header, str(values.iloc[i]), detail))

    def _parse_sa(self, item: Item, header: str, texts: pd.Series) -> pd.Series:
        lookup = {k: c.label for c in item.choices for k in (*c.keys(), normalize_key(c.code))}
        codes, uniques = pd.factorize(texts.map(normalize_key))
        parsed = np.full(len(uniques) + 1, None, dtype=object)  # last slot: never used (-1 codes)
        for u, key in enumerate(uniques):  # parse each distinct value once, then broadcast
            if key in self.missing:
                continue
            if key in lookup:
                parsed[u] = lookup[key]
                continue
            if item.role == "stratum":
                continue  # rows without a known 職域 are rejected in _row_reasons
            rows = np.flatnonzero(codes == u)
            tokens = [t for t in _SEPARATORS.split(key) if t]
            if len(tokens) > 1 and all(t in lookup for t in tokens):
                self._note(rows, R_MULTIPLE, header, texts, f"{item.id} は単一回答です")
            else:
                self._note(
                    rows, R_UNMATCHED, header, texts, f"{item.id} の選択肢（{'／'.join(item.labels)}）にない値です"
                )
        return pd.Series(pd.Categorical(parsed[codes], categories=item.labels, ordered=item.type == "likert"))

    def _parse_ma_cells(self, item: Item, header: str, texts: pd.Series) -> tuple[np.ndarray, pd.Series]:
        code_index = {c.code: j for j, c in enumerate(item.choices)}
        token_lookup = {k: c.code for c in item.choices for k in (*c.keys(), normalize_key(c.code))}
        label_keys = sorted(((k, c.code) for c in item.choices for k in c.keys()), key=lambda kc: -len(kc[0]))
        other = next((c for c in item.choices if c.other), None)
        exclusive = {c.code for c in item.choices if c.exclusive}
        codes, uniques = pd.factorize(texts.map(normalize_key))
        parsed = np.full((len(uniques), len(item.choices)), np.nan)
        rests = np.full(len(uniques), "", dtype=object)
        for u, key in enumerate(uniques):  # parse each distinct cell once, then broadcast
            if key in self.missing:
                continue
            tokens = [t for t in _SEPARATORS.split(key) if t]
            rest = ""
            if tokens and all(t in token_lookup for t in tokens):
                chosen = {token_lookup[t] for t in tokens}
            else:  # longest label first, so labels that contain separators or other labels match whole
                chosen, s = set(), key
                for k, code in label_keys:
                    if k in s:
                        chosen.add(code)
                        s = s.replace(k, ";")
                rest = "、".join(t for t in _SEPARATORS.split(s) if t and not _NUMBERING_ONLY.match(t))
            if rest:
                if other is None:
                    self._note(
                        np.flatnonzero(codes == u),
                        R_UNMATCHED,
                        header,
                        texts,
                        f"{item.id} の選択肢にない回答「{rest}」があります（その他の選択肢がない設問）",
                    )
                    continue
                chosen.add(other.code)
                rests[u] = rest
            if chosen & exclusive and len(chosen) > 1:
                self._note(np.flatnonzero(codes == u), R_EXCLUSIVE, header, texts, item.id)
                continue
            parsed[u] = 0.0
            parsed[u, [code_index[c] for c in chosen]] = 1.0
        valid = codes >= 0
        matrix = np.full((self.n, len(item.choices)), np.nan)
        matrix[valid] = parsed[codes[valid]]
        leftover = pd.Series(np.where(valid, rests[np.maximum(codes, 0)], ""), dtype=object)
        return matrix, leftover

    def _parse_ma_options(self, item: Item, texts: dict[str, pd.Series]) -> np.ndarray:
        matrix = np.zeros((self.n, len(item.choices)))
        headers = {c.code: c.header for c in self.columns if c.role == "option" and c.item == item.id}
        for j, choice in enumerate(item.choices):
            header = headers[choice.code]
            codes, uniques = pd.factorize(texts[header].map(normalize_key))
            true_keys = TRUE_KEYS | set(choice.keys())
            for u, key in enumerate(uniques):
                if key in true_keys:
                    matrix[codes == u, j] = 1.0
                elif key not in FALSE_KEYS and key not in self.missing:
                    self._note(
                        np.flatnonzero(codes == u),
                        R_UNMATCHED,
                        header,
                        texts[header],
                        f"{item.option_column(choice)} は 0/1 の列です",
                    )
        matrix[matrix.sum(axis=1) == 0] = np.nan  # nothing ticked: the question was not answered
        exclusive = [j for j, c in enumerate(item.choices) if c.exclusive]
        if exclusive:
            bad = np.flatnonzero((np.nansum(matrix[:, exclusive], axis=1) > 0) & (np.nansum(matrix, axis=1) > 1))
            first = headers[item.choices[exclusive[0]].code]
            self._note(bad, R_EXCLUSIVE, first, texts[first], item.id)
            matrix[bad] = np.nan
        return matrix

    def _free(self, item: Item, field: str, texts: pd.Series) -> pd.DataFrame:
        keep = texts.map(normalize_key).map(lambda k: k not in self.missing).to_numpy()
        return pd.DataFrame(
            {"index": np.flatnonzero(keep), "item": item.id, "field": field, "text": texts[keep].to_numpy()}
        )

    # -- rows ----------------------------------------------------------------------------------

    def _ids(self, text: dict[str, pd.Series]) -> pd.Series:
        header = next((c.header for c in self.columns if c.role == "id"), None)
        generated = pd.Series([f"row{self.raw.first_row + i}" for i in range(self.n)], dtype=object)
        if header is None:
            return generated
        ids = text[header].map(lambda s: s.strip())
        return ids.where(ids != "", generated)

    def _times(self, text: dict[str, pd.Series], role: str) -> pd.Series:
        header = next((c.header for c in self.columns if c.role == role), None)
        if header is None:
            return pd.Series(pd.NaT, index=range(self.n), dtype="datetime64[ns]")
        raw = self.table[header]
        parsed = pd.to_datetime(
            raw.map(lambda v: v if isinstance(v, (dt.datetime, pd.Timestamp)) else _cell_text(v) or None),
            errors="coerce",
            format="mixed",
        )
        bad = np.flatnonzero(parsed.isna().to_numpy() & text[header].ne("").to_numpy())
        self._note(bad, R_BAD_TIME, header, text[header], "日時の形式（例 2025/07/18 09:30:00）で書いてください")
        return parsed.astype("datetime64[ns]")

    def _row_reasons(
        self, answered: np.ndarray, ids: pd.Series, times: dict, out: dict
    ) -> list[tuple[str, str, str] | None]:
        """Why each row is rejected (``reason, column, value``), or None for a row that is kept."""
        reasons: list[tuple[str, str, str] | None] = [None] * self.n
        stratum = self.cb.stratum
        strat_header = next(c.header for c in self.columns if c.role == "item" and c.item == stratum.id)
        strat_text = self._texts(strat_header)
        first_seen: dict[str, int] = {}
        start, end = self.cb.survey.fielded_from, self.cb.survey.fielded_to
        stamp = times["completed"].where(times["completed"].notna(), times["started"])
        for i in range(self.n):
            if i == self.n - 1 and self.raw.cut_short:  # a truncated file: the row lost its last cells
                reasons[i] = (R_CUT_SHORT, "", f"{self.raw.cut_short}（ファイルを書き出し直してください）")
                continue
            if not answered[i]:
                reasons[i] = (R_EMPTY, "", "")
                continue
            rid = ids.iloc[i]
            if rid in first_seen:
                reasons[i] = (R_DUPLICATE, "ID", f"{rid}（{self.raw.first_row + first_seen[rid]}行目と同じ）")
                continue
            first_seen[rid] = i
            t = stamp.iloc[i]
            if pd.notna(t) and not (start <= t.date() <= end):
                reasons[i] = (R_WINDOW, "完了時刻", f"{t:%Y-%m-%d %H:%M}（実施期間 {start}～{end}）")
                continue
            if pd.isna(out[stratum.id].iloc[i]):
                value = strat_text.iloc[i]
                if normalize_key(value) in self.missing:
                    reasons[i] = (R_NO_STRATUM, strat_header, value)
                else:
                    reasons[i] = (R_UNKNOWN_STRATUM, strat_header, value)
        return reasons

    def _assemble(self, out, free, ids, times, reasons) -> LoadResult:
        cell_rows = {p.index for p in self.problems}
        pending = [p for p in sorted(self.problems, key=lambda p: p.index) if reasons[p.index] is None]
        if pending and self.on_invalid == "error":
            p = pending[0]
            more = len({q.index for q in pending}) - 1
            raise LoadError(
                f"{self.raw.path}：{self.raw.first_row + p.index}行目、列「{p.column}」、値「{p.value}」：{p.reason}"
                f"（{p.detail}）。コードブックの aliases に加えるかデータを直してください"
                + (f"（ほかに{more}行。--on-invalid reject でこれらの行を除外して続行できます）" if more else "")
            )
        unknown = [i for i, r in enumerate(reasons) if r is not None and r[0] == R_UNKNOWN_STRATUM]
        if unknown and self.on_invalid == "error":
            # an unknown 職域 removes respondents from their stratum: as loud as an unknown label
            i = unknown[0]
            values = sorted({reasons[j][2] for j in unknown})
            raise LoadError(
                f"{self.raw.path}：{self.raw.first_row + i}行目、列「{reasons[i][1]}」、値「{reasons[i][2]}」：{R_UNKNOWN_STRATUM}"
                f"（この値の行は計{len(unknown)}行、値: {'、'.join(values)}; コードブックの職域: {'、'.join(self.cb.stratum.labels)}）。"
                "コードブックの aliases に加えるかデータを直してください（--on-invalid reject でこれらの行を除外して続行）"
            )
        for p in pending:
            if reasons[p.index] is None and p.index in cell_rows:
                reasons[p.index] = (p.reason, p.column, p.value)

        status = np.array(["accepted" if r is None else "rejected" for r in reasons], dtype=object)
        rows = pd.DataFrame(
            {
                "row": np.arange(self.n) + self.raw.first_row,
                "respondent_id": ids.to_numpy(),
                "status": status,
                "reason": [r[0] if r else "" for r in reasons],
                "column": [r[1] if r else "" for r in reasons],
                "value": [r[2] if r else "" for r in reasons],
            }
        )
        keep = status == "accepted"
        data = {
            "respondent_id": ids[keep].astype(str).to_numpy(),
            "started": times["started"][keep].to_numpy(),
            "completed": times["completed"][keep].to_numpy(),
        }
        responses = pd.DataFrame(data)
        for name, values in out.items():
            if isinstance(values, pd.Series):
                responses[name] = values[keep].reset_index(drop=True)
            else:
                responses[name] = pd.array(
                    np.where(np.isnan(values[keep]), np.nan, values[keep]), dtype="Float64"
                ).astype("Int8")
        free_text = _free_table(free, ids, keep)
        columns = pd.DataFrame(
            {
                "header": [c.header for c in self.columns],
                "role": [c.role for c in self.columns],
                "item": [c.item for c in self.columns],
            }
        )
        report = ValidationReport(
            str(self.raw.path), self.raw.format, self.raw.encoding, self.raw.sha256, rows, columns
        )
        assert report.n_read == report.n_accepted + report.n_rejected == self.n
        return LoadResult(responses, free_text, report, self.cb)


def _free_table(parts: list[pd.DataFrame], ids: pd.Series, keep: np.ndarray) -> pd.DataFrame:
    cols = ["respondent_id", "item", "field", "text"]
    if not parts:
        return pd.DataFrame(columns=cols).astype(str)
    free = pd.concat(parts, ignore_index=True)
    free = free[keep[free["index"].to_numpy()]] if len(free) else free
    free.insert(0, "respondent_id", ids.to_numpy()[free["index"].to_numpy()].astype(str) if len(free) else [])
    return free.sort_values(["index", "item"], kind="stable")[cols].reset_index(drop=True).astype(str)
