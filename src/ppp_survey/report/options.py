"""The command line's options: :class:`ReportOptions`, the argument parser (Japanese help) and the
defaults (the bundled synthetic baseline under the working folder or ``$PPP_SURVEY_ROOT``)."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import NoReturn

from ppp_survey.constants import DEFAULT_MIN_GROUP, MarkRule, Option
from ppp_survey.errors import OptionError, OutputError, PppSurveyError
from ppp_survey.files import INTERNAL_FOLDER, STAGING_NAME, decode_text, os_error_reason, safe_relative
from ppp_survey.ingest.load import OnInvalid
from ppp_survey.outputs.committee_page import HeatmapPlace


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


DEFAULT_DATA = Path("data/raw/synthetic_r7_responses.xlsx")
DEFAULT_FRAME = Path("data/raw/staff_frame_r7.csv")
_SYNTHETIC_NAME = re.compile(r"synthetic|架空", re.IGNORECASE)
# a staff frame that says in a ``#`` comment line that its numbers are illustrative (the bundled ones do)
_ILLUSTRATIVE_NOTE = re.compile(r"架空|例示|illustrative|synthetic", re.IGNORECASE)


class JapaneseParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one Japanese line (:class:`OptionError`, exit 2 by the
    command line) instead of argparse's English usage text."""

    def error(self, message: str) -> NoReturn:
        raise OptionError(usage_error(message, self.prog))


def usage_error(message: str, prog: str) -> str:
    """argparse's error message in Japanese, with what to do."""
    help_hint = f"使い方は {prog} --help で見る"
    if m := re.match(r"unrecognized arguments: (.*)", message):
        return f"知らないオプションや値「{m.group(1)}」がある。綴りを直す（{help_hint}）"
    if m := re.match(r"argument (\S+): expected one argument", message):
        return f"{m.group(1)} の後に値が1つ必要。値を続けて書く（マイナスで始まる値は {m.group(1)}=値 の形で書く。{help_hint}）"
    if m := re.match(r"argument (\S+): invalid choice: '?([^']*)'? \(choose from (.*)\)", message):
        return f"{m.group(1)} の値「{m.group(2)}」は使えない。{m.group(3)} のどれかにする"
    if m := re.match(r"argument (\S+): invalid (\w+) value: '?([^']*)'?", message):
        kind = {"int": "整数", "float": "数"}.get(m.group(2), m.group(2))
        return f"{m.group(1)} の値「{m.group(3)}」は{kind}ではない。{kind}で書く"
    if m := re.match(r"the following arguments are required: (.*)", message):
        return f"{m.group(1)} の指定が必要（{help_hint}）"
    return f"オプションの指定が正しくない（{message}）。{help_hint}"


NO_FRAME = (
    "--data を指定したときは、この調査の職域別職員数（1行目「職域,職員数」のCSV）を --frame で指定してください。"
    "推定の重みは職員数で決まります。同梱の {frame} の内訳は例示（架空）の数値です。"
    "試しに使うだけなら --frame {frame} と明示すれば実行でき、そのときはすべての出力に「架空データ」と明記されます"
)


@dataclass(frozen=True)
class ReportOptions:
    """Everything a report run depends on besides the input files' contents."""

    data: Path
    frame: Path
    codebook: Path | None
    out: Path
    on_invalid: OnInvalid = OnInvalid.ERROR
    synthetic: bool = False
    weighted: bool = False
    min_group: int = DEFAULT_MIN_GROUP
    marks: MarkRule = MarkRule.HOLM
    export_free_text: bool = False
    matrix: Path | None = None
    compare: Path | None = None
    mapping: Path | None = None
    fpc_change: bool = False
    change_fdr: bool = False
    freeze_baseline: Path | None = None
    paper: bool = True
    margins: Path | None = None  # --margins: 職位別・年代別などの職員数
    calibrate: bool = False  # --calibrate: every estimate, test and matrix evidence on the raked weights
    rake_bounds: tuple[float, float] | None = None  # --rake-bounds L,U: each raked weight within L–U × its 職域 weight
    illustrative_frame: bool = False  # the frame says it is illustrative: outputs labelled 架空データ
    illustrative_margins: bool = False  # so does the margins file (--margins)
    history: tuple[Path, ...] = ()  # --history: frozen baselines of earlier waves, oldest first
    history_mappings: tuple[Path, ...] = ()  # --history-mapping: mappings between consecutive waves' codebooks
    ledger: Path | None = None  # --ledger: the publication record (default: in the output folder)
    hold_new_respondents: bool = False  # --hold-new-respondents: publish the earlier respondent set again
    publish_anyway: bool = False  # --publish-anyway: publish a set close to an earlier one, earlier pooling kept
    no_matrix: bool = False  # --no-matrix: publish without the policy matrix (nothing mentions it)
    heatmaps: HeatmapPlace = HeatmapPlace.AFTER  # --heatmaps: tables by 職域 after each chart or in an appendix
    tables_only: bool = False  # --tables-only: the tables (and a frozen baseline) only: no chart, matrix page or paper

    @property
    def figures(self) -> Path:
        """Published: the charts and the policy matrix page."""
        return self.out / "figures"

    @property
    def tables(self) -> Path:
        """Published: the CSV tables, the workbook and the manifest."""
        return self.out / "data" / "processed"

    @property
    def internal(self) -> Path:
        """Never published: rejected cells' raw values, the free-text export and their manifest."""
        return self.out / INTERNAL_FOLDER


def default_root() -> Path:
    """The project folder outputs and default inputs resolve against: $PPP_SURVEY_ROOT or the cwd."""
    return Path(os.environ.get("PPP_SURVEY_ROOT") or Path.cwd())


def _choices(option: type[Option]) -> list[str]:
    """An option's values as the parser's choices (plain strings: argparse prints them in messages)."""
    return [m.value for m in option]


def build_parser() -> argparse.ArgumentParser:
    p = JapaneseParser(
        prog="python -m ppp_survey.report",
        description="職員意識調査の集計表・図表を再生成する（既定: 同梱の架空データ）",
        epilog="コードブックを回答データに合わせる: python -m ppp_survey.report check --data 回答.xlsx "
        "[--codebook コードブック.yaml]（列と値の照合）、python -m ppp_survey.report init-codebook --data 回答.xlsx "
        "--out codebook_draft.yaml（コードブックの下書き）",
    )
    p.add_argument(
        "--data",
        type=Path,
        help="回答データ (.xlsx / .csv / .tsv / .txt / .sav)。既定: data/raw/synthetic_r7_responses.xlsx",
    )
    p.add_argument(
        "--frame",
        type=Path,
        help="職域別職員数フレーム (.csv、1行目「職域,職員数」)。--data を指定したときは必須。"
        "既定: data/raw/staff_frame_r7.csv（内訳は例示（架空）の数値。使うと出力に「架空データ」と明記）",
    )
    p.add_argument("--codebook", type=Path, help="コードブック (.yaml)。既定: 同梱の令和7年度版（再構成）")
    p.add_argument(
        "--out",
        type=Path,
        help="出力先のフォルダ（その下に公表用の figures/ と data/processed/、公開禁止の内部用ファイルを入れる "
        f"{INTERNAL_FOLDER}/ を作る）。既定: 作業フォルダ",
    )
    p.add_argument(
        "--margins",
        type=Path,
        metavar="FILE",
        help="職位別・年代別などの職員数（列「属性,区分,職員数」のCSV）。指定すると職域に加えてその周辺分布にも"
        "ウェイトを合わせ（レイキング）、全体の推定を職域別ウェイトと並べて示す",
    )
    p.add_argument(
        "--calibrate",
        action="store_true",
        help="レイキング後のウェイトで推定する（--margins が必要）。すべての表・検定・図・政策マトリクス・関連要因の回帰に適用",
    )
    p.add_argument(
        "--rake-bounds",
        metavar="L,U",
        help="レイキングの調整係数（レイキング後のウェイト÷職域別ウェイト）を L～U 倍に制限する（例 0.5,2。"
        "--margins が必要。既定: 制限なし）。制限しても周辺分布には一致させる（Rの calibrate の bounds と同じ）",
    )
    p.add_argument(
        "--on-invalid",
        choices=_choices(OnInvalid),
        default=OnInvalid.ERROR.value,
        help="コードブックにない値: error=停止して場所を示す（既定） / reject=その行を除外して記録",
    )
    p.add_argument(
        "--weighted",
        action="store_true",
        help="図に職員全体の推定値（職員数で重み付け）と95%%信頼区間を描く（既定: 回答者に占める割合）",
    )
    p.add_argument(
        "--min-group",
        type=int,
        default=DEFAULT_MIN_GROUP,
        help="匿名性の閾値: 回答者がこれ未満の集団（職域・職位・年代）は集計の前に他の集団と統合する（既定10、3以上）",
    )
    p.add_argument(
        "--export-free-text",
        action="store_true",
        help=f"自由記述・その他の記入内容を内部用フォルダ {INTERNAL_FOLDER}/ に書き出す（公表用の出力には含めない）",
    )
    p.add_argument(
        "--synthetic",
        action="store_true",
        help="出力に「架空データ」と明記する（ファイル名に synthetic/架空 を含むときは自動）",
    )
    p.add_argument(
        "--matrix", type=Path, help="政策マトリクス（現状→具体像→取組と調査指標）の .yaml。既定: 同梱の2-(8)"
    )
    p.add_argument(
        "--no-matrix",
        action="store_true",
        help="政策マトリクスを作らずに公表する（どの出力にもマトリクスを載せない）。"
        "同梱のマトリクスが自分の調査票に合わず、合わせたマトリクスもまだないとき",
    )
    p.add_argument(
        "--compare",
        type=Path,
        metavar="BASELINE",
        help="経年比較: 凍結した基準値のフォルダ（例 data/processed/baseline_r7）と今回のデータを比べる",
    )
    p.add_argument(
        "--mapping",
        type=Path,
        help="経年比較: 設問・選択肢・職域の対応ファイル（例 mapping_r7_r8.yaml）。設問が同一なら不要",
    )
    p.add_argument(
        "--history",
        type=Path,
        action="append",
        metavar="FOLDER",
        help="経年変化（3回以上）: 以前の回の凍結した基準値のフォルダを古い順に1回ずつ指定する"
        "（例 --history data/processed/baseline_r7 --history data/processed/baseline_r8）。"
        "基準値のフォルダを並べたフォルダを1つ指定してもよい（実施日の順に並べる）",
    )
    p.add_argument(
        "--history-mapping",
        type=Path,
        action="append",
        metavar="FILE",
        help="経年変化: 隣り合う回のコードブックの対応ファイル（必要なだけ繰り返す。from/to で回を判定）。"
        "ない組は同梱の mapping_<from>_<to>.yaml、それもなければ設問が同一であること",
    )
    p.add_argument(
        "--marks",
        choices=_choices(MarkRule),
        default=MarkRule.HOLM.value,
        help="クロス集計の有意差記号の多重比較: holm=表内の全セルをHolm法で調整（既定） / bh=Benjamini–Hochberg法（偽発見率）"
        " / protected=表全体のRao–Scott検定が5%%水準で有意な場合のみ無調整で表示（旧版の既定。誤表示が多い）",
    )
    p.add_argument(
        "--fpc-change",
        dest="fpc_change",
        action="store_true",
        help="経年比較で有限母集団修正を使う（その日の職員全体という有限母集団どうしの比較。"
        "既定は使わない：回答を生む意識の変化を問い、変化のない項目の誤判定を5%%に保つ）",
    )
    p.add_argument("--no-fpc-change", dest="fpc_change", action="store_false", help=argparse.SUPPRESS)
    p.add_argument(
        "--change-fdr",
        action="store_true",
        help="経年比較の判定を、検定するすべての行についてBenjamini–Hochberg法で調整したp値で行う（偽発見率5%%。"
        "既定は行ごとに5%%水準）",
    )
    p.add_argument(
        "--freeze-baseline",
        type=Path,
        metavar="FOLDER",
        help="今回の結果を翌年比較用の基準値としてフォルダに凍結する（例 data/processed/baseline_r7）",
    )
    p.add_argument(
        "--ledger",
        type=Path,
        metavar="FILE",
        help="公表記録（内部用）のファイル。調査ごとに1つ使うと、別の出力先への公表も照合する"
        "（既定: 出力先の 公表記録_内部用.json）",
    )
    p.add_argument(
        "--hold-new-respondents",
        action="store_true",
        help="前回の公表と同じ回答者で公表し直す（前回にいない回答者は公表せず保留）",
    )
    p.add_argument(
        "--publish-anyway",
        action="store_true",
        help="前回の公表と回答者が閾値未満しか違わなくても公表する（前回の統合を保ち、違う人数をマニフェストに記録）",
    )
    p.add_argument(
        "--heatmaps",
        choices=_choices(HeatmapPlace),
        default=HeatmapPlace.AFTER.value,
        help="委員会資料の職域別の表: after=各グラフの次のページ（既定） / appendix=巻末の付録にまとめる",
    )
    p.add_argument(
        "--no-paper",
        dest="paper",
        action="store_false",
        help="委員会資料（figures/報告書.html・報告書.pptx・報告書.pdf）を作らない",
    )
    p.add_argument(
        "--tables-only",
        action="store_true",
        help="集計表（data/processed/ の CSV と Excel）だけを作る。グラフ・政策マトリクスのページ・委員会資料は"
        "作らない（数値を早く確かめるとき。前回の図は消える）",
    )
    return p


def options_from_args(args: argparse.Namespace) -> ReportOptions:
    """The options of a run. A ``--data`` without ``--frame`` is refused (:class:`OptionError`):
    the bundled frame's breakdown is illustrative, and weighting a real export by it would make
    numbers that look real. A frame or a margins file that says it is illustrative
    (:func:`illustrative_frame`) labels every output 架空データ."""
    if getattr(args, "calibrate", False) and getattr(args, "margins", None) is None:
        raise PppSurveyError(
            "--calibrate には --margins（職位別・年代別の職員数のCSV: 列「属性,区分,職員数」）が必要。両方を指定する"
        )
    bounds = rake_bounds(args.rake_bounds, margins=args.margins)
    for folder in getattr(args, "history", None) or ():  # before any work: a wrong folder is one line
        if not Path(folder).exists():
            raise OptionError(
                f"--history {Path(folder).name}: フォルダが見つからない（場所: {folder}）。"
                "以前の回で --freeze-baseline が書いた基準値のフォルダを古い順に指定する"
            )
    root = default_root()
    if args.data is not None and args.frame is None:
        raise OptionError(NO_FRAME.format(frame=DEFAULT_FRAME.as_posix()))
    data = args.data or root / DEFAULT_DATA
    frame = args.frame or root / DEFAULT_FRAME
    out = args.out or root
    illustrative = illustrative_frame(frame) is not None
    illustrative_margins = args.margins is not None and illustrative_frame(args.margins) is not None
    return ReportOptions(
        data=data,
        frame=frame,
        codebook=args.codebook,
        out=out,
        on_invalid=OnInvalid(args.on_invalid),
        synthetic=bool(
            args.synthetic or _SYNTHETIC_NAME.search(Path(data).name) or illustrative or illustrative_margins
        ),
        weighted=args.weighted,
        min_group=args.min_group,
        marks=MarkRule(args.marks),
        export_free_text=args.export_free_text,
        matrix=args.matrix,
        compare=args.compare,
        mapping=args.mapping,
        fpc_change=args.fpc_change,
        change_fdr=args.change_fdr,
        freeze_baseline=args.freeze_baseline,
        paper=args.paper and not getattr(args, "tables_only", False),
        margins=args.margins,
        calibrate=args.calibrate,
        rake_bounds=bounds,
        illustrative_frame=illustrative,
        illustrative_margins=illustrative_margins,
        ledger=getattr(args, "ledger", None),
        hold_new_respondents=getattr(args, "hold_new_respondents", False),
        publish_anyway=getattr(args, "publish_anyway", False),
        no_matrix=getattr(args, "no_matrix", False),
        heatmaps=HeatmapPlace(getattr(args, "heatmaps", HeatmapPlace.AFTER)),
        tables_only=getattr(args, "tables_only", False),
        history=tuple(getattr(args, "history", None) or ()),
        history_mappings=tuple(getattr(args, "history_mapping", None) or ()),
    )


def rake_bounds(text: str | None, *, margins: Path | None) -> tuple[float, float] | None:
    """``--rake-bounds L,U`` as ``(L, U)``, checked: two numbers, ``0 < L ≤ 1 ≤ U``, with ``--margins``."""
    if text is None:
        return None
    how = "「下限,上限」の2つの数（例 0.5,2）で、0 < 下限 ≤ 1 ≤ 上限"
    if margins is None:
        raise OptionError("--rake-bounds には --margins（職位別・年代別の職員数のCSV）が必要。両方を指定する")
    parts = [p.strip() for p in str(text).replace("、", ",").replace("，", ",").split(",")]
    try:
        low, high = (float(p) for p in parts)
    except ValueError:
        raise OptionError(f"--rake-bounds「{text}」は読めない。{how}") from None
    if not (0 < low <= 1 <= high < float("inf")):
        raise OptionError(f"--rake-bounds「{text}」: {how}にする")
    return low, high


def illustrative_frame(path: str | Path) -> tuple[int, str] | None:
    """``(line, text)`` of the first ``#`` comment line of a staff frame (or margins file) that says its numbers are
    illustrative (架空, 例示, illustrative, synthetic), as the bundled frames do; ``None`` for any
    other frame, and for a file that cannot be read (loading the frame then says what is wrong).

    The file's own declaration decides, wherever it was copied: a frame of real numbers made from
    the bundled one is real once that comment line is deleted."""
    try:
        text, _ = decode_text(Path(path).read_bytes(), path)
    except (OSError, PppSurveyError):
        return None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            break  # comments after the header are data rows' business, not the file's declaration
        if stripped.startswith("#") and _ILLUSTRATIVE_NOTE.search(stripped):
            return number, stripped.lstrip("#").strip()
    return None


# where versions before the internal folder wrote the free-text export, inside the published folder:
# a run removes it
LEGACY_INTERNAL = ("data/processed/internal/自由記述_内部用_公開禁止.csv",)


def check_destinations(opts: ReportOptions) -> None:
    """Refuse, before any work, output places that cannot be used: ``--out`` (or a folder the report
    writes in it) that is a file or cannot be created (else it is created), a ``--freeze-baseline``
    that is a file or one of the report's own folders."""
    for folder in (opts.out, opts.tables, opts.figures, opts.internal):
        if folder.exists() and not folder.is_dir():
            option = "--out " if folder == opts.out else ""
            raise OutputError(
                f"{option}{folder} はファイルです。出力先にはフォルダを指定してください（または同名のファイルを移動する）"
            )
    try:
        opts.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"出力先 {opts.out} を作れません（{os_error_reason(exc)}）。書き込めるフォルダを --out に指定してください"
        ) from None
    target = opts.freeze_baseline
    if target is None:
        return
    if target.exists() and not target.is_dir():
        raise OutputError(
            f"--freeze-baseline {target} はファイルです。基準値を書き出すフォルダ（例 data/processed/baseline_r8）を指定してください"
        )
    resolved = target.resolve()
    own = [f.resolve() for f in (opts.out, opts.tables, opts.figures)]
    inside = [f.resolve() for f in (opts.internal, opts.out / STAGING_NAME)]
    if resolved in own or any(f == resolved or f in resolved.parents for f in inside):
        raise OutputError(
            f"--freeze-baseline {target} は出力先のフォルダそのものです。"
            "別のフォルダ（例 data/processed/baseline_r8）を指定してください"
        )


def owned_outputs(opts: ReportOptions) -> list[str]:
    """The files of the output folder the report owns (paths relative to it), which the next set
    replaces: those the previous published manifest lists directly in ``figures/`` or
    ``data/processed/`` (never a subfolder such as a frozen baseline, never a hidden file such as
    ``.gitkeep``), every file in the internal folder, and where older versions wrote the free text."""
    folders = {f.relative_to(opts.out).as_posix() for f in (opts.tables, opts.figures)}
    owned = set(LEGACY_INTERNAL)
    try:
        manifest = json.loads((opts.tables / "manifest.json").read_text(encoding="utf-8"))
        listed = [o.get("path") for o in manifest.get("outputs", []) if isinstance(o, dict)]
    except (OSError, ValueError, AttributeError):
        listed = []
    for path in listed:
        if not isinstance(path, str) or not safe_relative(path):
            continue
        pure = PurePosixPath(path)
        if pure.parent.as_posix() in folders and not pure.name.startswith("."):
            owned.add(path)
    if opts.internal.is_dir():
        owned.update(p.relative_to(opts.out).as_posix() for p in opts.internal.rglob("*") if p.is_file())
    return sorted(owned)
