"""Adapting a codebook to an export: ``check`` and ``init-codebook``, the report's two subcommands.

``python -m ppp_survey.report check --data 回答.xlsx [--codebook …]`` lists at once what every
column of the export was taken for, the codebook's items without a column, the values the
codebook does not describe (with counts) and the rows completed outside its fielding window (the
report excludes them; when that is every row, the window is not this export's: a mismatch); a cell
or header longer than :data:`LONG` characters is shown cut, with its length and place
(:func:`shown`). Exit status: 0 when everything matches, 1 when something does not, 2 on a user
error (a file that cannot be read, a codebook with a mistake).

``python -m ppp_survey.report init-codebook --data 回答.xlsx [--frame 職員数.csv] --out
codebook_draft.yaml`` writes a draft codebook from the export's headers and values (scales with
scores and polarity, 職域 in the frame's order), with TODO where only the analyst knows the answer
(:func:`ppp_survey.ingest.draft.draft_codebook`).

Both read the export as the loader does (:func:`~ppp_survey.ingest.read.read_export`), so its
guards apply: a workbook that expands beyond :data:`~ppp_survey.files.ZIP_SIZE_LIMIT` stops, unread,
with the loader's one line.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from pathlib import Path

from ppp_survey.errors import OutputError, PppSurveyError
from ppp_survey.files import atomic_output
from ppp_survey.ingest.check import ExportCheck, check_export, column_letter
from ppp_survey.ingest.columns import Column, item_name
from ppp_survey.ingest.read import RawExport, encoding_name
from ppp_survey.report.options import JapaneseParser
from ppp_survey.spec.normalize import normalize_key
from ppp_survey.spec.resources import resolve_codebook
from ppp_survey.text import one_line

SUBCOMMANDS = ("check", "init-codebook")
#: A cell or header longer than this is shown cut to its first :data:`SHOWN` characters, with its
#: length and place (a 10 MB cell would otherwise flood the terminal); a choice's wording fits whole.
LONG = 100
SHOWN = 40
_FIXED = {"id": "ID", "started": "開始時刻", "completed": "完了時刻", "modified": "最終変更時刻"}


def main(argv: list[str]) -> int:
    """``argv[0]`` is the subcommand. Returns the exit status (see the module's docstring)."""
    try:
        args = _parser().parse_args(argv)
        if args.command == "check":
            codebook = resolve_codebook(args.codebook)
            result = check_export(args.data, codebook, top=args.top)
            fits, lines = matrix_check(args.matrix, codebook)
            _print("\n".join([*check_lines(result), *lines]))
            return 0 if result.ok and fits else 1
        return init_codebook(args.data, args.out, frame=args.frame, force=args.force)
    except PppSurveyError as exc:
        print(f"エラー: {exc}".replace("\n", " "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("中断しました（Ctrl+C）", file=sys.stderr)
        return 130


def matrix_check(matrix: Path | None, codebook) -> tuple[bool, list[str]]:
    """``check --matrix``: whether the matrix file fits the codebook, and the lines to print (one per
    reference the codebook does not resolve, or its first other problem); (True, []) without it."""
    if matrix is None:
        return True, []
    from ppp_survey.spec.matrix_file import check_matrix_references

    problems = check_matrix_references(matrix, codebook)
    if not problems:
        return True, [f"政策マトリクス {matrix.name}: すべての参照がコードブックに一致"]
    return False, [f"政策マトリクス {matrix.name}: 合わない参照{len(problems)}件", *(f"  {p}" for p in problems)]


def _print(text: str) -> None:
    """Print to stdout; a reader that stops early (``check … | head``) is not an error."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit


def _parser() -> argparse.ArgumentParser:
    p = JapaneseParser(prog="python -m ppp_survey.report", description="コードブックを回答データに合わせる")
    sub = p.add_subparsers(dest="command", required=True)
    check = sub.add_parser(
        "check",
        help="回答データの列と値をコードブックと照合し、合わない箇所をすべて一覧する",
        description="回答データの列と値をコードブックと照合し、合わない箇所をすべて一覧する。"
        "終了ステータス: 0=すべて一致 / 1=一致しない箇所あり / 2=ファイルを読めない等のエラー",
    )
    check.add_argument("--data", type=Path, required=True, help="回答データ (.xlsx / .csv / .tsv / .txt / .sav)")
    check.add_argument("--codebook", help="コードブック (.yaml)。既定: 同梱の令和7年度版（再構成）")
    check.add_argument(
        "--matrix",
        type=Path,
        help="政策マトリクス (.yaml) も、選択肢の参照1つずつをコードブックと照合する（既定: 照合しない）",
    )
    check.add_argument(
        "--top", type=int, default=10, help="設問ごとに表示するコードブックにない値の数（多い順、既定10）"
    )
    init = sub.add_parser(
        "init-codebook",
        help="回答データの見出しと回答からコードブックの下書きを作る",
        description="回答データの見出しと回答からコードブックの下書き (.yaml) を作る。TODO の箇所を埋めてから使う",
    )
    init.add_argument("--data", type=Path, required=True, help="回答データ (.xlsx / .csv / .tsv / .txt / .sav)")
    init.add_argument("--out", type=Path, required=True, help="書き出す下書きのファイル（例 codebook_draft.yaml）")
    init.add_argument(
        "--frame",
        type=Path,
        help="職員数フレーム（1行目「職域,職員数」のCSV）。職域の選択肢をフレームの順・表記で書き、職員数の合計を入れる",
    )
    init.add_argument("--force", action="store_true", help="--out のファイルが既にあれば上書きする")
    return p


# ---------------------------------------------------------------- check


def check_lines(result: ExportCheck) -> list[str]:
    """The check's report, in Japanese, one finding a line: file, columns, items without a column,
    values not in the codebook, the verdict and what to do."""
    cb = result.codebook
    where = f"同梱の {cb.packaged}" if cb.packaged else cb.path
    encoding = f"・{encoding_name(result.encoding)}" if result.encoding else ""
    header = f"、見出し{result.header_row}行目" if result.header_row else ""  # SPSS: variable names, no row
    lines = [
        f"照合: {result.file.name}（{result.format}{encoding}{header}、データ{result.n_rows:,}行）",
        f"コードブック: {where}（{cb.survey.title}、属性{len(cb.attributes)}・設問{len(cb.questions)}）",
        *(f"  {shown(note, limit=LONG * 3)}" for note in result.notes),
        "",
        f"■ 列（{len(result.columns)}列）",
    ]
    row = result.header_row or None
    lines += [
        f"  {column_letter(i)}列「{shown(c.header, row, column_letter(i))}」→ {_role(c, result)}"
        for i, c in enumerate(result.columns, start=1)
    ]
    lines += ["", f"■ 列のない項目（{len(result.missing)}件）"]
    unmatched = [c.header for c in result.unmatched]
    for m in result.missing:
        if m.lacking:
            lines.append(f"  {item_name(m.item)}: 選択肢の列の一部がない（{'、'.join(m.lacking)}）")
            continue
        lines.append(f"  {item_name(m.item)}: 列名「{m.item.text}」の列がない")
        near = _nearest(m.item, unmatched)
        if near and len(near) <= LONG:
            lines.append(f'      似た列「{near}」なら、コードブックのこの項目に aliases: ["{near}"] と書く')
    if not result.missing:
        lines.append("  なし")
    lines += [f"  同じ項目に列が2つ: 列「{h}」と列「{other}」（{what}）" for h, other, what in result.clashes]
    lines += ["", "■ コードブックにない値（設問ごとに多い順）"]
    lines += _value_lines(result, result.values, result.more) or ["  なし"]
    if len(result.other):
        lines += ["", "■ 選択肢にない記述（「その他」の回答として読みます。選択肢の書き換えでないか確認）"]
        lines += _value_lines(result, result.other, {})
    lines += _time_lines(result)
    lines += _window_lines(result)
    lines += ["", *_verdict(result, where)]
    return lines


def _time_lines(result: ExportCheck) -> list[str]:
    """The start and completion times the report cannot read (it stops on them), if any."""
    if not len(result.times):
        return []
    letters = {c.header: column_letter(i) for i, c in enumerate(result.columns, start=1)}
    lines = ["", "■ 読めない日時（集計はこの行で止まる。--on-invalid reject なら行を除外）"]
    for column, rows in result.times.groupby("column", sort=False):
        lines.append(f"  {letters.get(column, '')}列「{shown(column)}」")
        lines += [
            f"      「{shown(r.value, r.row, letters.get(r.column))}」 {r.count:,}件（{r.row}行目から）"
            for r in rows.itertuples()
        ]
    return lines


def _window_lines(result: ExportCheck) -> list[str]:
    """The rows completed outside the codebook's fielding window (the report excludes them), if any."""
    w = result.window
    if not w.count:
        return []
    start, end = w.window
    seen = f"（回答の日付は {w.days[0]}～{w.days[1]}）" if w.days else ""
    what = "すべての行" if w.all else f"{w.count:,}行（日時のある{w.dated:,}行のうち）"
    return [
        "",
        f"■ 実施期間外の回答（コードブックの実施期間 {start}～{end}）",
        f"  {what}{seen}: 集計から除外される（除外の理由「実施期間外の回答」）",
    ]


def shown(text: object, row: int | None = None, column: str | None = None, *, limit: int = LONG) -> str:
    """A cell or header as one line of the report: line breaks shown as ↵, and a text longer than
    ``limit`` cut to its first :data:`SHOWN` characters with its length and place,
    「…（全10,485,760文字、5行目C列）」.

    >>> shown("あ" * 120, 5, "C")[-20:]
    'あああああ…（全120文字、5行目C列）'
    """
    text = one_line(text)
    if len(text) <= limit:
        return text
    where = f"、{row}行目{column}列" if row and column else ""
    return f"{text[:SHOWN]}…（全{len(text):,}文字{where}）"


def _role(c: Column, result: ExportCheck) -> str:
    if c.role in _FIXED:
        return f"固定列（{_FIXED[c.role]}）"
    if c.role == "identity":
        return "個人を特定する列（読み込み時に削除し、どの出力にも出ない）"
    if c.role == "ignored":
        return "×対応なし（どの項目にも対応しない）"
    item = result.codebook.item(c.item)
    kind = "属性" if item.role != "question" else "設問"
    if c.role == "option" and c.code is not None:
        return f"{kind} {item_name(item)} の選択肢「{item.choice(c.code).label}」の列"
    if c.role == "other_text":
        return f"{kind} {item_name(item)} の「その他」の記入欄"
    return f"{kind} {item_name(item)}"


def _nearest(item, headers: list[str]) -> str | None:
    """The unmatched header most like the item's text or label (a renamed question), if any is close."""
    keys = [normalize_key(s) for s in (item.text, item.label, *item.aliases)]
    scored = [
        (max(difflib.SequenceMatcher(None, k, normalize_key(h[:LONG])).ratio() for k in keys), h) for h in headers
    ]
    best = max(scored, default=(0.0, None))
    return best[1] if best[0] >= 0.4 else None


def _value_lines(result: ExportCheck, values, more: dict[str, int]) -> list[str]:
    lines = []
    for item in result.codebook.items:
        own = values[values["item"] == item.id]
        if not len(own):
            continue
        letters = {c.header: column_letter(i) for i, c in enumerate(result.columns, start=1)}
        columns = "、".join(f"{letters.get(h, '')}列「{shown(h)}」" for h in dict.fromkeys(own["column"]))
        lines.append(f"  {item_name(item)}（{columns}）")
        lines += [
            f"      「{shown(r.value, r.row, letters.get(r.column))}」 {r.count:,}件（{r.reason}）"
            for r in own.itertuples()
        ]
        if more.get(item.id):
            lines.append(f"      ほかに{more[item.id]:,}種類（--top で表示数を増やせます）")
    return lines


def _verdict(result: ExportCheck, where: str) -> list[str]:
    if result.ok:
        return ["結果: すべて一致しました（終了ステータス 0）。このコードブックで集計できます"]
    counts = [
        (len(result.unmatched), "対応しない列"),
        (len(result.missing), "列のない項目"),
        (len(result.clashes), "列が2つある項目"),
        (len(result.values) + sum(result.more.values()), "コードブックにない値"),
        (result.window.count if result.window.all else 0, "実施期間外の行"),
        (len(result.times), "読めない日時"),
    ]
    found = "、".join(f"{what}{n:,}" + ("種類" if what.endswith(("値", "日時")) else "") for n, what in counts if n)
    todo = []
    if any(n for n, _ in counts[:4]):
        todo.append(
            f"列名を直すか、コードブック（{where}）の項目の aliases に実際の列名を書く。"
            "値は選択肢の aliases に加えるかデータを直す。自分のコードブックは init-codebook で下書きを作れます"
        )
    if result.window.all:
        todo.append(f"実施期間はコードブック（{where}）の survey の fielded_from・fielded_to を回答の日付に合わせる")
    if len(result.times):
        todo.append("読めない日時は「2025/07/18 9:30」「2025年7月18日 9時30分」「令和7年7月18日」などの形に直す")
    return [f"結果: 一致しない箇所があります（{found}。終了ステータス 1）", f"対処: {'。'.join(todo)}"]


# ---------------------------------------------------------------- init-codebook


def init_codebook(data: Path, out: Path, *, frame: Path | None = None, force: bool = False) -> int:
    """Write a draft codebook for ``data`` to ``out`` and say what to do next; ``frame``: the staff
    frame, whose 職域 give the stratum's choices in its order and whose total the population."""
    from ppp_survey.ingest.draft import draft_codebook
    from ppp_survey.ingest.read import read_export

    if out.exists() and not force:
        raise OutputError(
            f"{out} は既にあります。別のファイル名を --out に指定するか、上書きするなら --force を付けてください"
        )
    raw: RawExport = read_export(data)
    draft = draft_codebook(raw, frame=frame)
    try:
        with atomic_output(out) as tmp:
            tmp.write_text(draft.text, encoding="utf-8")
    except OSError as exc:
        raise OutputError(
            f"{out} を書けません（{exc.strerror}）。書き込めるフォルダを --out に指定してください"
        ) from None
    print(
        f"下書きを書きました: {out}（属性{draft.attributes}・設問{draft.questions}、TODO {draft.todo}か所）。"
        f"TODO を埋め、各設問の type・score・選択肢の順を確かめてから "
        f"python -m ppp_survey.report check --data {data} --codebook {out} で照合してください"
    )
    return 0
