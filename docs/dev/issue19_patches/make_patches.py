"""Regenerate /tmp/h19/*.patch from the current working tree of /work/main (the other engineer's files
change under us: the edits are applied by anchors, each asserted, then diffed)."""
import difflib, pathlib, sys

REPO = pathlib.Path("/work/main")
OUT = pathlib.Path("/tmp/h19")
EDITS = {}


def edit(path, old, new, count=1):
    EDITS.setdefault(path, []).append((old, new, count))


# ---------------------------------------------------------------- options.py
P = "src/ppp_survey/report/options.py"
edit(P, '''    paper: bool = True
''', '''    paper: bool = True
    margins: Path | None = None  # --margins: 職位別・年代別などの職員数 (issue 19)
    calibrate: bool = False  # --calibrate: estimates on the raked weights where supported
''')
edit(P, '''    p.add_argument(
        "--on-invalid",''', '''    p.add_argument(
        "--margins",
        type=Path,
        metavar="FILE",
        help="職位別・年代別などの職員数（列「属性,区分,職員数」のCSV）。指定すると職域に加えてその周辺分布にも"
        "ウェイトを合わせ（レイキング）、全体の推定を職域別ウェイトと並べて示す",
    )
    p.add_argument(
        "--calibrate",
        action="store_true",
        help="レイキング後のウェイトで推定する（--margins が必要。現在は関連要因の回帰に適用）",
    )
    p.add_argument(
        "--on-invalid",''')
edit(P, '''def options_from_args(args: argparse.Namespace) -> ReportOptions:
''', '''def options_from_args(args: argparse.Namespace) -> ReportOptions:
    if getattr(args, "calibrate", False) and getattr(args, "margins", None) is None:
        raise PppSurveyError(
            "--calibrate には --margins（職位別・年代別の職員数のCSV: 列「属性,区分,職員数」）が必要。両方を指定する"
        )
''')
edit(P, '''        paper=args.paper,
''', '''        paper=args.paper,
        margins=args.margins,
        calibrate=args.calibrate,
''')

# ---------------------------------------------------------------- manifest.py
P = "src/ppp_survey/report/manifest.py"
edit(P, '''    for key in ("codebook", "matrix", "mapping"):''', '''    for key in ("codebook", "matrix", "mapping", "margins"):''')

# ---------------------------------------------------------------- analysis.py
P = "src/ppp_survey/analysis.py"
edit(P, '''from ppp_survey.spec.codebook import Codebook, Item
from ppp_survey.survey.audit import AuditResult, audit_publication
from ppp_survey.survey.design import StratifiedDesign''', '''from ppp_survey.spec.codebook import Codebook, Item
from ppp_survey.spec.margins import Margins
from ppp_survey.survey.associations import association_model, key_label
from ppp_survey.survey.audit import AuditResult, audit_publication
from ppp_survey.survey.calibration import Calibration, compare_weights, rake
from ppp_survey.survey.design import StratifiedDesign''')
edit(P, '''from ppp_survey.survey.rates import response_rates
''', '''from ppp_survey.survey.rates import response_rates
from ppp_survey.survey.regression import RegressionError, RegressionResult
''')
edit(P, '''    pools : the groups merged for anonymity before anything was estimated
''', '''    pools : the groups merged for anonymity before anything was estimated
    calibration : the weights raked to the 職域 totals and the margins file (``--margins``), or None
    weights_comparison : 全体 estimates of the single-answer/Likert questions with 職域 weights and with
        the raked weights (:func:`~ppp_survey.survey.calibration.compare_weights`), or None
    association : willingness (2-(2) 肯定的回答) on 職域, 職位, 年代, 2-(3) and 2-(6)
        (:func:`~ppp_survey.survey.associations.association_model`), on the raked weights when
        ``calibrated``; None when the codebook lacks those items or the model cannot be fitted
    calibrated : whether the estimates that support them use the raked weights (``--calibrate``)
''')
edit(P, '''    marks: MarkRule = MarkRule.HOLM
''', '''    marks: MarkRule = MarkRule.HOLM
    calibration: Calibration | None = None
    weights_comparison: pd.DataFrame | None = None
    association: RegressionResult | None = None
    calibrated: bool = False

    @property
    def weights_label(self) -> str:
        """Which weights the estimates use, for the 説明 sheet and the notes."""
        if self.calibrated and self.calibration is not None:
            columns = "・".join(m.column for m in self.calibration.margins)
            return f"レイキング後のウェイト（{columns}の周辺分布に一致）"
        return "職域別の事後層化ウェイト（N_h/n_h）"

    def term_labels(self) -> dict[str, str]:
        """Display names of the attributes and of the association model's terms (職位, 2-(6) 肯定的回答, …)."""
        labels = {a.id: a.label for a in self.codebook.attributes}
        if self.association is not None:
            labels |= {t.name: key_label(self.codebook, t.name) for t in self.association.terms}
        return labels
''')
edit(P, '''    marks: MarkRule | str = MarkRule.HOLM,
    progress=None,
) -> Analysis:''', '''    marks: MarkRule | str = MarkRule.HOLM,
    margins: Margins | None = None,
    calibrate: bool = False,
    progress=None,
) -> Analysis:''')
edit(P, '''    every table is then computed on the published groups.
    """''', '''    every table is then computed on the published groups. With ``margins`` the design weights are
    raked to the 職域 totals and the margins (pooled as the respondents are) and the 全体 estimates are
    compared; ``calibrate`` puts the association model on the raked weights.
    """''')
edit(P, '''    audit = pd.concat(audits, ignore_index=True) if audits else pd.DataFrame(columns=list(AUDIT_COLUMNS))
''', '''    audit = pd.concat(audits, ignore_index=True) if audits else pd.DataFrame(columns=list(AUDIT_COLUMNS))
    calibration, comparison, association = _adjusted(
        responses, design, codebook, pools, margins=margins, calibrate=calibrate, progress=progress
    )
''')
edit(P, '''def gt_table_of(''', '''def _adjusted(responses, design, codebook, pools, *, margins, calibrate, progress):
    """Issue 19: the weights raked to the margins (pooled as the respondents are), the 全体 estimates
    with both weights, and the association model (on the raked weights with ``calibrate``)."""
    calibration, comparison = None, None
    if margins is not None:
        calibration = rake(responses, design, margins.merged(pools.by_attribute).targets())
        comparison = compare_weights(responses, calibration, codebook.questions_of_type("sa", "likert"))
        if progress:
            columns = "・".join(codebook.item(m.column).label for m in calibration.margins)
            progress(
                f"        レイキング: {columns}（{calibration.iterations}回、最大相対誤差 {calibration.max_error:.1e}）"
            )
    # The association is a question about the process that produces the answers (as a change between
    # waves is), so its standard errors have no finite population correction: on the generator's waves
    # the 95% intervals then hold the built-in effects 93-96% of the time (82-91% with the correction).
    process = replace(design, fpc=False)
    weights = process
    if calibrate and margins is not None:
        weights = rake(responses, process, margins.merged(pools.by_attribute).targets())
    association = None
    try:
        association = association_model(responses, weights, codebook)
    except (KeyError, ValueError) as exc:  # RegressionError is a ValueError
        if progress:
            reason = str(exc) if isinstance(exc, RegressionError) else "コードブックに2-(2)・2-(3)・2-(6)がない"
            progress(f"        関連要因の回帰は省略: {reason}")
    return calibration, comparison, association


def gt_table_of(''')
edit(P, '''        marks=MarkRule(marks),
    )''', '''        marks=MarkRule(marks),
        calibration=calibration,
        weights_comparison=comparison,
        association=association,
        calibrated=bool(calibrate and calibration is not None),
    )''')
edit(P, '''    min_group: int = DEFAULT_MIN_GROUP,
) -> Survey:''', '''    min_group: int = DEFAULT_MIN_GROUP,
    margins=None,
    calibrate: bool = False,
) -> Survey:''')
edit(P, '''        Label outputs 架空データ; ``None`` decides from the file name (``synthetic``/``架空``).
    """''', '''        Label outputs 架空データ; ``None`` decides from the file name (``synthetic``/``架空``).
    margins, calibrate
        A margins file (職位別・年代別の職員数) to rake the weights to, and whether the association
        model uses the raked weights (the report's ``--margins`` and ``--calibrate``).
    """''')
edit(P, '''    analysis = analyse(loaded.responses, staff, cb, min_group=min_group)''', '''    staff_margins = None
    if margins is not None:
        from ppp_survey.spec.margins import load_margins

        staff_margins = load_margins(margins, cb)
    analysis = analyse(loaded.responses, staff, cb, min_group=min_group, margins=staff_margins, calibrate=calibrate)''')

# ---------------------------------------------------------------- cli.py
P = "src/ppp_survey/report/cli.py"
edit(P, '''from ppp_survey.policy.assess import PolicyResult, assess''', '''from ppp_survey.outputs.calibration_sheets import (
    association_display,
    association_figure_plan,
    calibration_sheets,
    margins_display,
    term_tests_display,
    weights_display,
)
from ppp_survey.policy.assess import PolicyResult, assess''')
edit(P, '''    frame = load_frame(opts.frame, codebook)
''', '''    frame = load_frame(opts.frame, codebook)
    margins = load_margins(opts.margins, codebook) if opts.margins is not None else None
''')
edit(P, '''from ppp_survey.spec.frame import load_frame
''', '''from ppp_survey.spec.frame import load_frame
from ppp_survey.spec.margins import load_margins
''')
edit(P, '''        marks=opts.marks,
        progress=progress,
    )''', '''        marks=opts.marks,
        margins=margins,
        calibrate=opts.calibrate,
        progress=progress,
    )''')
edit(P, '''        sheets += change_sheets(changes, source_note=note)
''', '''        sheets += change_sheets(changes, source_note=note)
    sheets += calibration_sheets(
        source_note=note,
        cal=analysis.calibration,
        comparison=analysis.weights_comparison,
        association=analysis.association,
        names=analysis.term_labels(),
        titles={q.id: f"{q.number} {q.label}" for q in analysis.questions},
    )
''')
edit(P, '''    return plan


def rates_display''', '''    if analysis.association is not None:  # issue 19: the forest plot of the willingness model
        plan += association_figure_plan(
            analysis.association,
            names=analysis.term_labels(),
            title="意欲あり（2-(2) 肯定的回答）と関連する要因：オッズ比（95%信頼区間）",
            note=note,
        )
    return plan


def rates_display''')
edit(P, '''    written.append(write_csv(analysis.audit, opts.tables / "suppression_audit.csv"))
''', '''    written.append(write_csv(analysis.audit, opts.tables / "suppression_audit.csv"))
    if analysis.calibration is not None:
        margins = margins_display(analysis.calibration, analysis.term_labels())
        written.append(write_csv(margins, opts.tables / "calibration_margins.csv"))
        titles = {q.id: f"{q.number} {q.label}" for q in analysis.questions}
        comparison = weights_display(analysis.weights_comparison, titles)
        written.append(write_csv(comparison, opts.tables / "weights_comparison.csv"))
    if analysis.association is not None:
        names = analysis.term_labels()
        coefficients = association_display(analysis.association, names)
        written.append(write_csv(coefficients, opts.tables / "association_coefficients.csv"))
        tests = term_tests_display(analysis.association, names)
        written.append(write_csv(tests, opts.tables / "association_tests.csv"))
''')


def main(target=None):
    ok = True
    for path, edits in EDITS.items():
        text = (REPO / path).read_text(encoding="utf-8")
        new = text
        if path.endswith("options.py") and "PppSurveyError" not in new.split("def ")[0]:
            anchor = "from ppp_survey.constants import DEFAULT_MIN_GROUP\n"
            assert anchor in new, (path, "import anchor")
            new = new.replace(anchor, anchor + "from ppp_survey.errors import PppSurveyError\n", 1)
        for old, rep, count in edits:
            if new.count(old) != count:
                print(f"ANCHOR NOT FOUND ({new.count(old)}x) in {path}:\n{old}", file=sys.stderr)
                ok = False
                continue
            new = new.replace(old, rep, count)
        name = pathlib.Path(path).name
        diff = difflib.unified_diff(text.splitlines(True), new.splitlines(True), f"a/{path}", f"b/{path}")
        (OUT / f"{name}.patch").write_text("".join(diff), encoding="utf-8")
        if target is not None:
            dest = pathlib.Path(target) / path
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(new, encoding="utf-8")
    return ok



# ================================================================ policy rule "adjusted" (association with control)
P = "src/ppp_survey/spec/matrix.py"
edit(P, '''STATISTICS = ("share", "top2", "bottom2", "mean", "association")''', '''STATISTICS = ("share", "top2", "bottom2", "mean", "association", "adjusted")''')
edit(P, '''    """A decision rule: ``value op threshold`` (op ``<``, ``<=``, ``>``, ``>=``; shares as fractions),
    or ``p < threshold`` for an association (``op == "p<"``). ``text`` is the rule as printed."""''', '''    """A decision rule: ``value op threshold`` (op ``<``, ``<=``, ``>``, ``>=``; shares as fractions),
    or ``p < threshold`` for an association (``op == "p<"``), or ``OR > 1`` / ``OR < 1`` for an
    adjusted association (op ``>``/``<``, threshold 1). ``text`` is the rule as printed."""''')
edit(P, '''    fit: str = "direct"
    note: str = ""
    where: str = field(default="", compare=False, repr=False)

    @property
    def signature(self) -> tuple:
        """What is measured (not the rule): indicators with equal signatures have equal values."""
        return (self.question, self.statistic, self.codes, self.by, self.in_every)''', '''    fit: str = "direct"
    note: str = ""
    where: str = field(default="", compare=False, repr=False)
    # statistic "adjusted" (issue 19): the odds ratio of `term` for `response`, adjusting for `controls`
    response: str | None = None  # an indicator key, e.g. "q2:top2"
    term: str | None = None  # a 0/1 indicator key, e.g. "q6:top2" (the lever)
    controls: tuple[str, ...] = ()  # attribute ids or indicator keys, e.g. ("domain", "position", "age")

    @property
    def signature(self) -> tuple:
        """What is measured (not the rule): indicators with equal signatures have equal values."""
        return (
            self.question,
            self.statistic,
            self.codes,
            self.by,
            self.in_every,
            self.response,
            self.term,
            self.controls,
        )''')

P = "src/ppp_survey/spec/matrix_file.py"
edit(P, '''_P_RULE = re.compile(r"^\\s*p\\s*<\\s*(0?\\.\\d+)\\s*$")
''', '''_P_RULE = re.compile(r"^\\s*p\\s*<\\s*(0?\\.\\d+)\\s*$")
_OR_RULE = re.compile(r"^\\s*OR\\s*(<|>)\\s*1\\s*$", re.IGNORECASE)
_KEY = re.compile(r"^[A-Za-z_][\\w]*:(top2|bottom2|choice:\\d+|opt:\\d+)$")
''')
edit(P, '''    text = str(v.required(x, "rule", where))
    if stat == "association":''', '''    text = str(v.required(x, "rule", where))
    if stat == "adjusted":
        return _parse_adjusted(v, x, where, ident, text)
    if stat == "association":''')
edit(P, '''def _id_list(v: _Validator''', '''def _parse_adjusted(v: _Validator, x: dict, where: str, ident: str, text: str) -> Indicator:
    """An association with control (issue 19): ``response``, ``term`` (indicator keys such as
    ``q2:top2``, ``q6:top2``, ``q3:choice:1``), ``controls`` (attribute ids or keys), rule ``OR > 1``."""
    mo = _OR_RULE.match(text)
    if not mo:
        v.fail(where, f"rule {text!r}: an adjusted association rule reads 'OR > 1' or 'OR < 1'")
    response, term = str(v.required(x, "response", where)), str(v.required(x, "term", where))
    controls = tuple(str(c) for c in v.sequence(x.get("controls", []), f"{where}.controls"))
    for key, what in ((response, "response"), (term, "term")):
        if not _KEY.match(key):
            v.fail(where, f"{what} {key!r} is not an indicator key (write e.g. 'q2:top2', 'q3:choice:1')")
    if term in controls or response in controls:
        v.fail(where, "controls repeat the response or the term")
    if x.get("by") or x.get("in_every") or x.get("codes"):
        v.fail(where, "an adjusted association takes response, term and controls (no by, in_every or codes)")
    fit = str(x.get("fit", "direct"))
    if fit not in FITS:
        v.fail(where, f"fit {fit!r} is not one of {', '.join(FITS)}")
    op = mo.group(1)
    return Indicator(
        id=ident,
        question=response.split(":")[0],
        statistic="adjusted",
        rule=Rule(op=op, threshold=1.0, text=f"OR {op} 1"),
        fit=fit,
        note=str(x.get("note", "")).strip(),
        where=where,
        response=response,
        term=term,
        controls=controls,
    )


def _id_list(v: _Validator''')
edit(P, '''    if ind.in_every:
        _attribute(v, ind.where, ind.in_every, codebook)
    if ind.statistic == "mean":''', '''    if ind.in_every:
        _attribute(v, ind.where, ind.in_every, codebook)
    if ind.statistic == "adjusted":
        _check_adjusted(v, ind, codebook)
    if ind.statistic == "mean":''')
edit(P, '''class _Validator(FileChecker):''', '''def _check_adjusted(v: _Validator, ind: Indicator, codebook: Codebook) -> None:
    """The keys of an adjusted association exist in the codebook (attributes; likert for top2/bottom2; codes)."""
    for key in (ind.response, ind.term, *ind.controls):
        if key is None:
            continue
        if ":" not in key:
            _attribute(v, ind.where, key, codebook)
            continue
        qid, kind, *code = key.split(":")
        target = _question(v, ind.where, qid, codebook)
        if kind in ("top2", "bottom2") and target.type != "likert":
            v.fail(ind.where, f"{key}: {kind} needs a likert question; {qid} is {target.type}")
        if code:
            _check_codes(v, ind.where, target, (int(code[0]),), codebook)


class _Validator(FileChecker):''')

P = "src/ppp_survey/policy/evidence.py"
edit(P, '''    def association(self, ind: Indicator) -> tuple[float, int]:''', '''    def adjusted(self, ind: Indicator):
        """The adjusted odds ratio of ``ind.term`` (issue 19): one logistic model per response and terms,
        on the raked weights when the analysis is calibrated."""
        from ppp_survey.survey.associations import adjusted_association, association_model

        assert ind.response is not None and ind.term is not None  # the matrix loader requires both
        key = (ind.response, (*ind.controls, ind.term))
        models = self.__dict__.setdefault("_models", {})
        if key not in models:
            a = self.analysis
            weights = a.calibration if getattr(a, "calibrated", False) and a.calibration is not None else a.design
            models[key] = association_model(
                a.responses, weights, a.codebook, response=ind.response, terms=[*ind.controls, ind.term]
            )
        return adjusted_association(models[key], ind.term)

    def association(self, ind: Indicator) -> tuple[float, int]:''')
edit(P, '''    if ind.statistic == "association":
        p, n = measures.association(ind)''', '''    if ind.statistic == "adjusted":
        return {**base, **_judge_adjusted(ind, measures, min_base)}
    if ind.statistic == "association":
        p, n = measures.association(ind)''')
edit(P, '''def describe(''', '''def _judge_adjusted(ind: Indicator, measures: _Measures, min_base: int) -> dict:
    """An association with control: the adjusted odds ratio's 95% interval against 1."""
    try:
        odds = measures.adjusted(ind)
    except ValueError as exc:  # the model cannot be fitted (separation, a term without variation)
        return {
            "group": ALL,
            "value": np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "n": 0,
            "rule": ind.rule.text,
            "verdict": UNDECIDED,
            "reason": f"回帰を推定できない（{exc}）",
        }
    verdict, reason = _threshold_verdict(ind.rule, odds.ci_low, odds.ci_high, odds.n, min_base)
    return {
        "group": ALL,
        "value": odds.odds_ratio,
        "ci_low": odds.ci_low,
        "ci_high": odds.ci_high,
        "n": odds.n,
        "rule": ind.rule.text,
        "verdict": verdict,
        "reason": reason.replace("95%CI", "オッズ比の95%CI"),
    }


def describe(''')
edit(P, '''    item = codebook.item(ind.question)
    head = f"{item.number or item.id} {_title(item)}："  # the document's number, not the internal id''', '''    item = codebook.item(ind.question)
    head = f"{item.number or item.id} {_title(item)}："  # the document's number, not the internal id
    if ind.statistic == "adjusted":
        from ppp_survey.survey.associations import key_label

        controls = "・".join(key_label(codebook, c) for c in ind.controls) or "なし"
        return (
            head
            + f"「{key_label(codebook, ind.term or '')}」と「{key_label(codebook, ind.response or '')}」の関連"
            + f"（{controls}を調整したオッズ比、ロジスティック回帰）"
            + ("［間接指標］" if ind.fit == "proxy" else "")
        )''')
edit(P, '''    if row["statistic"] == "association":
        return f"{p_text(v)}（{n}）"''', '''    if row["statistic"] == "association":
        return f"{p_text(v)}（{n}）"
    if row["statistic"] == "adjusted":
        return f"オッズ比 {v:.2f}（95%CI {row['ci_low']:.2f}–{row['ci_high']:.2f}、{n}）"''')

P = "src/ppp_survey/outputs/matrix_sheets.py"
edit(P, '''    if statistic == "association":
        return p_text(value)
    if statistic == "mean":
        return f"{round_half_up(value, 2):.2f}点"''', '''    if statistic == "association":
        return p_text(value)
    if statistic == "adjusted":
        return f"オッズ比{round_half_up(value, 2):.2f}"
    if statistic == "mean":
        return f"{round_half_up(value, 2):.2f}点"''')
edit(P, '''    if statistic == "mean":
        return f"{round_half_up(low, 2):.2f}–{round_half_up(high, 2):.2f}"''', '''    if statistic in ("mean", "adjusted"):
        return f"{round_half_up(low, 2):.2f}–{round_half_up(high, 2):.2f}"''')
edit(P, '''UNITS = {"association": "p値", "mean": "点"}  # anything else: a share in %''', '''UNITS = {"association": "p値", "mean": "点", "adjusted": "オッズ比"}  # anything else: a share in %''')
edit(P, '''    if statistic == "mean":
        return round_half_up(value, 2)
    return round_half_up(100 * float(value))


def bound_number''', '''    if statistic in ("mean", "adjusted"):
        return round_half_up(value, 2)
    return round_half_up(100 * float(value))


def bound_number''')
edit(P, '''    return round_half_up(value, 2) if statistic == "mean" else round_half_up(100 * float(value))''', '''    return round_half_up(value, 2) if statistic in ("mean", "adjusted") else round_half_up(100 * float(value))''')



# ================================================================ synthetic generator: a documented dependence
P = "src/ppp_survey/data/synthetic_r7.yaml"
edit(P, '''#   - the difficulties (q5) and supports (q7) that 2-(8) names rank high.
''', '''#   - the difficulties (q5) and supports (q7) that 2-(8) names rank high.
# Willingness (q2, 肯定的回答) depends on experience (q3), ease of consulting (q6) and age, with the
# log odds ratios under `dependence` (issue 19), so that the regression has something true to find;
# each 職域 keeps its expected share of 肯定的回答 (the `probs` below).
''')
edit(P, '''
other_texts:''', '''
# Issue 19: q2 is drawn again after the other items (a second random stream, so nothing else changes):
# the log-odds of a favourable answer (codes `favourable`) is the 職域's (from `probs`) plus an intercept
# per 職域 that keeps its expected share, plus the effects below (log odds ratios; answers not listed
# and blanks add 0). Within favourable / unfavourable answers the choices keep their `probs` proportions.
dependence:
  q2:
    favourable: [1, 2]                                   # 意欲がある, どちらかといえば意欲がある
    log_odds:
      q3: {ある: 0.7}                                     # odds ratio 2.01 (handled a proposal)
      q6: {感じる: 0.9, どちらかといえば感じる: 0.9}          # odds ratio 2.46 (finds consulting easy)
      age: {30代: -0.2, 40代: -0.35, 50代以上: -0.5}        # odds ratios 0.82, 0.70, 0.61 against 20代以下

other_texts:''')

P = "src/ppp_survey/synth/generator.py"
edit(P, '''    for item in codebook.questions_of_type("text"):
        rows = np.flatnonzero(rng.random(size) < float(spec.get("comment_rate", 0.0)))''', '''    for item_id, rule in (spec.get("dependence") or {}).items():  # issue 19: on a second random stream
        dependent = np.random.default_rng([seed, 19])
        data[item_id] = _dependent(dependent, codebook.item(item_id), params.get(item_id, {}), rule, data, strata)
    for item in codebook.questions_of_type("text"):
        rows = np.flatnonzero(rng.random(size) < float(spec.get("comment_rate", 0.0)))''')
edit(P, '''def _multi(rng: np.random.Generator''', '''def _dependent(rng: np.random.Generator, item: Item, p: dict, rule: dict, data: dict, strata: np.ndarray) -> np.ndarray:
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


def _multi(rng: np.random.Generator''')


if __name__ == "__main__":
    sys.exit(0 if main(sys.argv[1] if len(sys.argv) > 1 else None) else 1)
