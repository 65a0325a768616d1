"""Wave comparison: what changed since the frozen baseline, for whom, and whether it is beyond chance.

Workflow::

    from ppp_survey import compare as cmp
    r7 = cmp.load_wave("data/raw/synthetic_r7_responses.xlsx", "data/raw/staff_frame_r7.csv")
    cmp.freeze_baseline(r7, "data/processed/baseline_r7")          # once; never recomputed later
    base = cmp.load_baseline("data/processed/baseline_r7")          # reads only the frozen files
    r8 = cmp.load_wave("data/raw/synthetic_r8_responses.xlsx", "data/raw/staff_frame_r8.csv", "codebook_r8.yaml")
    mapping = cmp.load_mapping("mapping_r7_r8.yaml", base.codebook, r8.codebook)
    changes = cmp.compare(base, r8, mapping)                        # the tidy change table

**Frozen baseline.** :func:`freeze_baseline` writes the old wave's indicators (every choice share,
top-2 box, multi-select option and response rate, 全体 and by 職域), its response rates, a copy of
its codebook and a ``manifest.json`` with the SHA-256 of its inputs and of every file. The
baseline is named by the SHA-256 of its manifest; :func:`load_baseline` refuses a folder whose
files no longer match it, and the change table carries that name (column ``baseline``), so a
comparison says exactly which baseline it used and stays the same when code or data change later.

**Method.** The two waves are independent cross-sections, each estimated on its own stratified
design (strata = 職域, weights N_h/n_h, finite population correction); ``var(diff) = se_base² +
se_new²``. The difference's 95% interval and two-sided p-value use the normal distribution (each
wave has more than 1,000 design degrees of freedom). The verdict is read at ``alpha`` (5%) against
the item's polarity: 改善 / 悪化 / 有意な変化なし; for items without a direction (polarity
``neutral``, わからない, その他, 特にない) 増加 / 減少 / 有意な変化なし. Beside it, the minimum
detectable difference ``MDD = (z_{1-α/2} + z_{power}) · se_diff`` (80% power): a true change smaller
than the MDD would often go unnoticed. A response rate is a census count of the frame, known
without sampling error, so its change is descriptive (no test; verdict 増加（記述）/減少（記述）).
Every indicator is tested at 5% on its own: with ~50 indicators about 2–3 will be flagged by chance
even when nothing changed.

**FPC or not.** With ``fpc=True`` (default) the estimand is each wave's *finite* staff population
as it answered on the day; with ``fpc=False`` it is the process that generates the answers
(superpopulation inference; Graubard & Korn 2002, Statistical Science 17(1):73–96). The synthetic
generator draws every wave afresh from such a process, so comparing two generated waves with
``fpc=True`` rejects more often than 5% when nothing changed: 13.8% of tested rows over 30
regenerations of R7, against 5.4% with ``fpc=False`` and 5.2% with ``fpc=True`` when both waves
are respondents of one fixed synthetic staff population (tests/test_compare.py).
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy.special import ndtr, ndtri  # not scipy.stats: slow to import

from . import __version__
from .codebook import Codebook, parse_codebook
from .errors import PppSurveyError
from .files import atomic_output, csv_bytes, sha256_file
from .mapping import GroupMap, Mapping, load_mapping
from .privacy import DEFAULT_MIN_GROUP
from .tables import MIN_BASE
from .waves import ALL, INDICATOR_COLUMNS, Wave, as_wave, codebook_source, load_wave, wave_indicators

__all__ = [
    "BASELINE_FORMAT",
    "CHANGE_COLUMNS",
    "Baseline",
    "BaselineError",
    "ChangeChart",
    "baseline_from_wave",
    "change_charts",
    "compare",
    "display_changes",
    "freeze_baseline",
    "kpi_values",
    "load_baseline",
    "load_mapping",
    "load_wave",
    "plot_change_heatmap",
    "plot_dumbbell",
]

BASELINE_FORMAT = 1
IMPROVED, WORSENED, NO_CHANGE = "改善", "悪化", "有意な変化なし"
INCREASED, DECREASED = "増加", "減少"
SUPPRESSED = "秘匿"
REFERENCE = "参考値（基数30未満）"
RATE_NOTE = "回答率は職員数フレームに対する全数の計数で標本誤差はない：差は記述的（検定しない）"

#: Columns of :func:`compare`.
CHANGE_COLUMNS = ("indicator", "question", "title", "label", "kind", "group", "direction", "estimate_base",
                  "estimate_new", "difference", "ci_low", "ci_high", "p_value", "mdd", "verdict", "n_base", "n_new",
                  "se_base", "se_new", "se_diff", "suppressed", "note", "indicator_base", "baseline")


class BaselineError(PppSurveyError):
    """A frozen baseline folder is missing, incomplete, or no longer matches its manifest."""


# ---------------------------------------------------------------------------------- baseline

@dataclass(frozen=True)
class Baseline:
    """The old wave's indicators, frozen: what a comparison needs, and nothing recomputed.

    ``indicators`` (:data:`~ppp_survey.waves.INDICATOR_COLUMNS`, 全体 and each 職域), ``rates``
    (``domain, population, respondents, rate``), the ``codebook`` the wave used, the ``manifest``
    and its SHA-256 (``None`` for a baseline that was never written: :func:`baseline_from_wave`).
    """

    codebook: Codebook
    indicators: pd.DataFrame
    rates: pd.DataFrame
    manifest: dict
    manifest_sha256: str | None = None
    folder: Path | None = None

    @property
    def wave(self) -> str:
        return self.codebook.survey.wave

    @property
    def id(self) -> str:
        """The baseline's name: the SHA-256 of its manifest (``in-memory`` if never frozen)."""
        return self.manifest_sha256 or "in-memory"

    def describe(self) -> str:
        """One line naming the baseline, for reports: wave, folder and manifest hash."""
        where = f"{self.folder.as_posix()}, " if self.folder else ""
        if self.manifest_sha256 is None:
            return f"{self.wave} 基準値（未凍結・メモリ上で計算）"
        return f"{self.wave} 基準値（{where}manifest SHA-256 {self.manifest_sha256[:12]}…）"


def baseline_from_wave(wave, *, min_group: int = DEFAULT_MIN_GROUP) -> Baseline:
    """The baseline a wave would freeze to, computed in memory (nothing written)."""
    wave = as_wave(wave)
    files, manifest = _baseline_files(wave, min_group=min_group)
    return _baseline_from_files(files, manifest, manifest_sha256=None, folder=None)


def freeze_baseline(survey, folder: str | Path, *, min_group: int = DEFAULT_MIN_GROUP,
                    overwrite: bool = False) -> Path:
    """Write a wave's results as a frozen baseline; return the path of its ``manifest.json``.

    Parameters
    ----------
    survey
        A :class:`~ppp_survey.waves.Wave` (:func:`load_wave`) or an analysed
        :class:`~ppp_survey.analysis.Survey` (:func:`~ppp_survey.analysis.load_survey`).
    folder
        Where to write ``indicators.csv``, ``response_rates.csv``, ``codebook.yaml`` and
        ``manifest.json`` (e.g. ``data/processed/baseline_r7``).
    min_group
        Anonymity threshold applied to the by-職域 indicators (as in every published table).
    overwrite
        A folder that already holds a different frozen baseline is refused unless True (freezing
        the same results again is a no-op).

    The files are the same bytes for the same inputs (no time stamps, no absolute paths), so the
    manifest hash names the results, not the moment they were written.
    """
    wave = as_wave(survey)
    files, manifest = _baseline_files(wave, min_group=min_group)
    data = _manifest_bytes(manifest)
    target = Path(folder)
    existing = target / "manifest.json"
    if existing.is_file():
        if existing.read_bytes() == data and all((target / n).is_file() and (target / n).read_bytes() == b
                                                 for n, b in files.items()):
            return existing
        if not overwrite:
            raise BaselineError(f"baseline {target}: the folder already holds a frozen baseline (manifest SHA-256 "
                                f"{sha256_file(existing)[:12]}…); choose another folder or pass overwrite=True")
    for name, content in files.items():
        with atomic_output(target / name) as tmp:
            tmp.write_bytes(content)
    with atomic_output(existing) as tmp:  # last: a folder with a manifest is complete
        tmp.write_bytes(data)
    return existing


def load_baseline(folder: str | Path) -> Baseline:
    """Read a frozen baseline (folder or its ``manifest.json``), checking every file's SHA-256."""
    path = Path(folder)
    manifest_path = path if path.name == "manifest.json" else path / "manifest.json"
    root = manifest_path.parent
    if not manifest_path.is_file():
        what = "folder not found" if not root.is_dir() else "no manifest.json in this folder"
        raise BaselineError(f"baseline {root}: {what}; pass the folder written by "
                            "`python -m ppp_survey.report --freeze-baseline FOLDER` on the earlier wave")
    data = manifest_path.read_bytes()
    try:
        manifest = json.loads(data.decode("utf-8"))
    except ValueError as exc:
        raise BaselineError(f"baseline {manifest_path}: not valid JSON ({exc})") from None
    if manifest.get("format") != "ppp_survey baseline" or manifest.get("format_version") != BASELINE_FORMAT:
        raise BaselineError(f"baseline {manifest_path}: not a ppp_survey baseline of format {BASELINE_FORMAT}")
    files = {}
    for entry in manifest.get("files", []):
        p = root / entry["path"]
        if not p.is_file():
            raise BaselineError(f"baseline {root}: {entry['path']} is missing; restore it or freeze the baseline again")
        content = p.read_bytes()
        if hashlib.sha256(content).hexdigest() != entry["sha256"]:
            raise BaselineError(f"baseline {root}: {entry['path']} differs from its manifest (SHA-256); a frozen "
                                "baseline must not be edited: restore the file or freeze the baseline again")
        files[entry["path"]] = content
    return _baseline_from_files(files, manifest, manifest_sha256=hashlib.sha256(data).hexdigest(), folder=root)


def _baseline_files(wave: Wave, *, min_group: int) -> tuple[dict[str, bytes], dict]:
    cb = wave.codebook
    labels = cb.stratum.labels
    indicators = wave_indicators(wave, groups={lab: lab for lab in labels}, order=labels, min_group=min_group)
    rates = wave.rates.assign(domain=lambda t: t["domain"].astype(str))
    name, codebook_bytes = codebook_source(cb)
    files = {"indicators.csv": csv_bytes(indicators), "response_rates.csv": csv_bytes(rates),
             "codebook.yaml": codebook_bytes}
    s = cb.survey
    manifest = {
        "format": "ppp_survey baseline",
        "format_version": BASELINE_FORMAT,
        "package": "ppp_survey",
        "version": __version__,
        "survey": {"id": s.id, "wave": s.wave, "title": s.title, "fielded_from": s.fielded_from.isoformat(),
                   "fielded_to": s.fielded_to.isoformat()},
        "synthetic": bool(wave.synthetic),
        "source_note": wave.note,
        "method": {"estimates": "stratified by 職域, weights N_h/n_h, 95% logit intervals",
                   "se": "with finite population correction", "se_nofpc": "without it",
                   "min_group": int(min_group)},
        "inputs": wave.inputs,
        "files": [{"path": n, "sha256": hashlib.sha256(b).hexdigest()} for n, b in files.items()],
    }
    return files, manifest


def _baseline_from_files(files: dict[str, bytes], manifest: dict, *, manifest_sha256, folder) -> Baseline:
    survey_name = f"{folder / 'codebook.yaml'}" if folder else "(baseline) codebook.yaml"
    cb = parse_codebook(yaml.safe_load(files["codebook.yaml"].decode("utf-8-sig")), name=survey_name)
    ind = _read_csv(files["indicators.csv"], {"indicator": str, "question": str, "kind": str, "label": str,
                                               "group": str, "code": "Int64"})
    ind["question"] = ind["question"].fillna("")
    ind["suppressed"] = ind["suppressed"].astype(bool)
    rates = _read_csv(files["response_rates.csv"], {"domain": str})
    return Baseline(codebook=cb, indicators=ind[list(INDICATOR_COLUMNS)], rates=rates, manifest=manifest,
                    manifest_sha256=manifest_sha256, folder=folder)


def _read_csv(content: bytes, dtype: dict) -> pd.DataFrame:
    # frozen numbers carry 12 significant digits (files.CSV_FLOAT_FORMAT) and are read back as written
    return pd.read_csv(io.BytesIO(content), encoding="utf-8-sig", dtype=dtype, keep_default_na=False, na_values=[""])


def _manifest_bytes(manifest: dict) -> bytes:
    return (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


# ------------------------------------------------------------------------------- comparison

def compare(baseline, survey, mapping: Mapping | str | Path | None = None, *, alpha: float = 0.05,
            power: float = 0.80, fpc: bool = True, min_group: int = DEFAULT_MIN_GROUP,
            min_base: int = MIN_BASE) -> pd.DataFrame:
    """Compare a wave with the baseline, indicator by indicator, 全体 and by 職域.

    Parameters
    ----------
    baseline
        A :class:`Baseline` (:func:`load_baseline`); a Wave or Survey is frozen in memory first.
    survey
        The new wave: a :class:`~ppp_survey.waves.Wave` or an analysed Survey.
    mapping
        :class:`~ppp_survey.mapping.Mapping` between the baseline's codebook and the wave's, a mapping
        file, or ``None`` when the two codebooks must be identical.
    alpha, power
        Test level of the verdict and power of the minimum detectable difference.
    fpc
        Use each wave's finite population correction (see the module notes).
    min_group, min_base
        Anonymity threshold (groups below it in either wave are suppressed) and the base below
        which a group is 参考値 and not tested (30, as the crosstabs of :mod:`ppp_survey.tables`).

    Returns
    -------
    DataFrame
        :data:`CHANGE_COLUMNS`, one row per indicator × group (全体 first, then the mapped 職域):
        ``indicator`` (new wave's key, e.g. ``q6:top2``; ``indicator_base`` the baseline's),
        ``question``, ``title``, ``label``, ``kind`` (choice/top2/option/rate), ``direction``
        (higher_is_better / higher_is_worse / neutral / descriptive), both estimates (fractions),
        ``difference`` = new − base with its 95% ``ci_low``/``ci_high``, ``p_value``, ``mdd``,
        ``verdict``, bases ``n_base``/``n_new`` (answered; staff for ``rate``), SEs, ``suppressed``
        (a group under the anonymity threshold in either wave: values NaN, verdict 秘匿; a base under
        ``min_base`` in either wave: verdict 参考値（基数30未満）, no p-value), ``note``
        (declared changes of the item or 職域), ``baseline`` (the baseline's manifest SHA-256).
        ``attrs`` holds the baseline, mapping, alpha, power, fpc and what was not compared.
    """
    if not isinstance(baseline, Baseline):
        baseline = baseline_from_wave(baseline, min_group=min_group)
    wave = as_wave(survey)
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping, baseline.codebook, wave.codebook)
    _check_codebooks(mapping, baseline, wave)
    groups = mapping.compared_groups
    new_groups = {lab: g.name for g in groups for lab in g.new}
    new = wave_indicators(wave, groups=new_groups, order=[g.name for g in groups], min_group=min_group)
    old = _grouped_baseline(baseline, groups)
    se = "se" if fpc else "se_nofpc"
    group_note = {g.name: g.note for g in groups}
    added = [g.name for g in mapping.groups if g.status == "added"]
    if added:
        group_note[ALL] = f"{wave.label}の全体には{baseline.wave}に対応のない職域（{'・'.join(added)}）を含む"
    names = [ALL, *[g.name for g in groups]]
    pairs = pd.DataFrame([{**p["row"], "indicator_base": p["old"], "item_note": p["note"]} for p in _pairs(mapping)])
    grid = pairs.merge(pd.DataFrame({"group": names}), how="cross")
    sides = {"base": old, "new": new}
    for side, key in (("base", "indicator_base"), ("new", "indicator")):
        t = sides[side][["indicator", "group", "estimate", se, "base_n", "suppressed"]].rename(columns={
            "indicator": key, "estimate": f"estimate_{side}", se: f"se_{side}", "base_n": f"n_{side}",
            "suppressed": f"held_{side}"})
        grid = grid.merge(t, on=[key, "group"], how="inner", validate="one_to_one")
    grid["suppressed"] = grid["held_base"] | grid["held_new"]
    grid["note"] = ["；".join(x for x in (item, group_note.get(g, "")) if x)
                    for item, g in zip(grid["item_note"], grid["group"])]
    out = _test(grid, alpha=alpha, power=power, min_base=min_base)
    out["baseline"] = baseline.id
    out = out[list(CHANGE_COLUMNS)].reset_index(drop=True)
    out.attrs.update({"baseline": baseline.id, "baseline_description": baseline.describe(),
                      "baseline_wave": baseline.wave, "wave": wave.label, "mapping": mapping.path,
                      "mapping_sha256": mapping.sha256, "alpha": alpha, "power": power, "fpc": fpc,
                      "min_base": min_base,
                      "not_compared": mapping.not_compared(),
                      "note": "\n".join(x for x in (baseline.manifest.get("source_note", ""), wave.note) if x)})
    return out


def _check_codebooks(mapping: Mapping, baseline: Baseline, wave: Wave) -> None:
    for side, cb, mine in (("old", mapping.old, baseline.codebook), ("new", mapping.new, wave.codebook)):
        if _fingerprint(cb) != _fingerprint(mine):
            what = f"baseline {baseline.wave}" if side == "old" else f"wave {wave.label}"
            raise PppSurveyError(f"mapping {mapping.path}: its {side} codebook ({cb.survey.id}) is not the codebook of "
                                 f"the {what} ({mine.survey.id}); load the mapping with the baseline's and the wave's "
                                 "codebooks")


def _fingerprint(cb: Codebook) -> tuple:
    return (cb.survey.id, tuple((it.id, it.type, it.text, it.polarity,
                                 tuple((c.code, c.label, c.score) for c in it.choices)) for it in cb.items))


def _pairs(mapping: Mapping) -> list[dict]:
    """(old key, new key, fixed columns) of every comparable indicator, in the new codebook's order."""
    out = [{"old": "rate", "new": "rate", "note": RATE_NOTE,
            "row": {"indicator": "rate", "question": "", "title": "回答率", "label": "回答率", "kind": "rate",
                    "direction": "descriptive"}}]
    for q in mapping.questions:
        if q.status != "same":
            continue
        qo, qn = mapping.old.item(q.old), mapping.new.item(q.new)
        note = "；".join(q.caveats)
        head = {"question": qn.id, "title": qn.label}
        if q.top2:
            direction = "neutral" if q.polarity == "neutral" else "higher_is_better"  # top-2 = favourable end
            out.append({"old": f"{qo.id}:top2", "new": f"{qn.id}:top2", "note": note,
                        "row": {**head, "indicator": f"{qn.id}:top2", "label": "肯定的回答（上位2区分）",
                                "kind": "top2", "direction": direction}})
        part = "opt" if qn.is_multi else "choice"
        for c in q.choices:
            if c.status != "same":
                continue
            choice = qn.choice(c.new)
            out.append({"old": f"{qo.id}:{part}:{c.old}", "new": f"{qn.id}:{part}:{c.new}", "note": note,
                        "row": {**head, "indicator": f"{qn.id}:{part}:{c.new}", "label": choice.label,
                                "kind": "option" if qn.is_multi else "choice",
                                "direction": _direction(qn, choice, q.polarity)}})
    return out


def _direction(item, choice, polarity: str) -> str:
    """Which way is better for the share of one choice, from the item's polarity.

    Multi-select options follow the item's polarity, except その他 and 特にない (no direction).
    Single-answer choices: a choice scored above the middle of the scale moves with the item's
    polarity, one below it against it; choices without a score (わからない) or at the middle
    have no direction.
    """
    if polarity == "neutral":
        return "neutral"
    if item.is_multi:
        return "neutral" if (choice.other or choice.exclusive) else polarity
    scores = [c.score for c in item.choices if c.score is not None]
    if choice.score is None or not scores:
        return "neutral"
    middle = (max(scores) + min(scores)) / 2
    if choice.score == middle:
        return "neutral"
    flip = {"higher_is_better": "higher_is_worse", "higher_is_worse": "higher_is_better"}
    return polarity if choice.score > middle else flip[polarity]


def _test(out: pd.DataFrame, *, alpha: float, power: float, min_base: int) -> pd.DataFrame:
    z_a, z_p = float(ndtri(1 - alpha / 2)), float(ndtri(power))
    out = out.copy()
    held = out["suppressed"].to_numpy(bool)
    for col in ("estimate_base", "estimate_new", "se_base", "se_new"):
        out[col] = out[col].astype(float).where(~held)
    diff = out["estimate_new"] - out["estimate_base"]
    se = np.sqrt(out["se_base"] ** 2 + out["se_new"] ** 2)
    rate = (out["kind"] == "rate").to_numpy()
    small = ~rate & ((out["n_base"] < min_base) | (out["n_new"] < min_base)).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, diff / se, np.where(diff == 0, 0.0, np.inf * np.sign(diff)))
    p = np.where(rate | small | ~np.isfinite(diff), np.nan, 2 * ndtr(-np.abs(z)))
    out["difference"] = diff
    out["se_diff"] = se
    out["ci_low"] = np.where(rate, np.nan, diff - z_a * se)  # a census count: no interval
    out["ci_high"] = np.where(rate, np.nan, diff + z_a * se)
    out["p_value"] = p
    out["mdd"] = np.where(rate, np.nan, (z_a + z_p) * se)
    out["verdict"] = [REFERENCE if (sm and not h) else _verdict(d, pv, direction, h, alpha)
                      for d, pv, direction, h, sm in zip(diff, p, out["direction"], held, small)]
    return out


def _verdict(diff: float, p: float, direction: str, held: bool, alpha: float) -> str:
    if held:
        return SUPPRESSED
    if direction == "descriptive":
        return "変化なし（記述）" if diff == 0 else (f"{INCREASED}（記述）" if diff > 0 else f"{DECREASED}（記述）")
    if not np.isfinite(p) or p >= alpha:
        return NO_CHANGE
    if direction == "neutral":
        return INCREASED if diff > 0 else DECREASED
    return IMPROVED if (diff > 0) == (direction == "higher_is_better") else WORSENED


def _grouped_baseline(baseline: Baseline, groups: list[GroupMap]) -> pd.DataFrame:
    """The baseline's indicators for the mapping's groups: 全体, single 職域 renamed, merged 職域 combined."""
    ind = baseline.indicators
    parts = [ind[ind["group"] == ALL]]
    for g in groups:
        if len(g.old) == 1:
            parts.append(ind[ind["group"] == g.old[0]].assign(group=g.name))
        else:
            parts.append(_combine_strata(ind[ind["group"].isin(g.old)], baseline.rates, g.old, g.name))
    return pd.concat(parts, ignore_index=True)


def _combine_strata(rows: pd.DataFrame, rates: pd.DataFrame, labels: tuple[str, ...], name: str) -> pd.DataFrame:
    """Estimates for a union of whole strata from the per-stratum estimates (exact linearisation).

    For a domain D made of strata h: ``R_D = Σ N̂_h R_h / Σ N̂_h`` with ``N̂_h = N_h m_h / n_h``
    (``m_h`` answered), and ``V(R_D) = Σ_h [(N̂_h/N̂_D)² V_h + c_h w_h² m_h (1 − m_h/n_h) (R_h − R_D)² / N̂_D²]``,
    ``c_h = (1 − f_h) n_h/(n_h − 1)`` (no FPC: ``f_h = 0``), ``w_h = N_h/n_h``. The second term comes
    from item nonresponse; it is zero when everyone in the strata answered. This is the variance the
    design-based estimator gives for that domain on the full design.
    """
    r = rates.set_index(rates["domain"].astype(str))
    big_n = r.loc[list(labels), "population"].to_numpy(float)
    small_n = r.loc[list(labels), "respondents"].to_numpy(float)
    w = big_n / small_n
    out = []
    for key, part in rows.groupby("indicator", sort=False):
        part = part.set_index("group").loc[list(labels)]
        first = part.iloc[0]
        row = {c: first[c] for c in ("indicator", "question", "kind", "code", "label")}
        row["group"] = name
        if first["kind"] == "rate":
            pop, resp = int(part["base_n"].sum()), int(part["n"].sum())
            row.update(base_n=pop, n=resp, share=resp / pop, estimate=resp / pop, se=0.0, se_nofpc=0.0,
                       ci_low=resp / pop, ci_high=resp / pop, suppressed=False)
            out.append(row)
            continue
        m = part["base_n"].to_numpy(float)
        est = part["estimate"].to_numpy(float)
        nhat = w * m
        total = nhat.sum()
        estimate = float(np.sum(nhat * est) / total)
        delta = est - estimate
        extra = m * (1 - m / small_n) * delta ** 2 * w ** 2
        ses = {}
        for col, f in (("se", small_n / big_n), ("se_nofpc", 0.0)):
            c = (1 - f) * small_n / (small_n - 1)
            v = np.sum((nhat / total) ** 2 * part[col].to_numpy(float) ** 2 + c * extra / total ** 2)
            ses[col] = float(np.sqrt(v))
        suppressed = bool(part["suppressed"].any())
        row.update(base_n=int(m.sum()), n=float(part["n"].sum()), share=float(part["n"].sum() / m.sum()),
                   estimate=estimate, se=ses["se"], se_nofpc=ses["se_nofpc"], ci_low=np.nan, ci_high=np.nan,
                   suppressed=suppressed)
        if suppressed:
            row.update({c: np.nan for c in ("n", "share", "estimate", "se", "se_nofpc")})
        out.append(row)
    return pd.DataFrame(out)


# ------------------------------------------------------------------------------ KPI, display

def kpi_values(changes: pd.DataFrame, *, group: str = ALL, key: str = "indicator") -> dict[str, float]:
    """The new wave's value of every compared indicator: ``{"q6:top2": 0.41, "rate": 0.473, …}``.

    Values are fractions (design-based estimates; the response rate as counted). ``key="indicator_base"``
    keys them by the baseline's indicator ids instead (they differ only where a question was renamed).
    Suppressed groups are left out.
    """
    rows = changes[(changes["group"] == group) & ~changes["suppressed"]]
    return {str(k): float(v) for k, v in zip(rows[key], rows["estimate_new"])}


def display_changes(changes: pd.DataFrame, *, group: str | None = ALL) -> pd.DataFrame:
    """The change table as people read it: % and points rounded half up, Japanese headers."""
    from .fmt import round_half_up

    t = changes if group is None else changes[changes["group"] == group]
    base, new = changes.attrs.get("baseline_wave", "基準"), changes.attrs.get("wave", "今回")

    def pts(x):
        return round_half_up(100 * np.asarray(x, float))

    return pd.DataFrame({
        "指標": t["indicator"].to_numpy(), "設問": t["title"].to_numpy(), "選択肢": t["label"].to_numpy(),
        "職域": t["group"].to_numpy(), f"{base}(%)": pts(t["estimate_base"]), f"{new}(%)": pts(t["estimate_new"]),
        "差(pt)": pts(t["difference"]), "95%CI下限": pts(t["ci_low"]), "95%CI上限": pts(t["ci_high"]),
        "p値": round_half_up(t["p_value"].to_numpy(float), 3), "MDD(pt)": pts(t["mdd"]),
        "判定": t["verdict"].to_numpy(), f"基数{base}": t["n_base"].to_numpy(), f"基数{new}": t["n_new"].to_numpy(),
    })


# ------------------------------------------------------------------------------------ charts

VERDICT_COLORS = {IMPROVED: "#1f5f99", WORSENED: "#c4532b", INCREASED: "#555555", DECREASED: "#555555"}
BASE_COLOR, NEW_COLOR, NEUTRAL_COLOR = "#9e9e9e", "#1f5f99", "#bdbdbd"


@dataclass(frozen=True)
class ChangeChart:
    """What the charts of one question need: ``dumbbell`` (全体: one row per indicator with both
    estimates, difference and verdict), ``heatmap`` (differences in points, groups × indicators),
    ``marks`` (↑ 改善, ↓ 悪化, * 増加/減少, x 秘匿) and ``improvement`` (the difference signed so that
    positive is better, 0 for items without a direction: the heatmap's colour)."""

    question: str
    title: str
    dumbbell: pd.DataFrame
    heatmap: pd.DataFrame
    marks: pd.DataFrame
    improvement: pd.DataFrame


def change_charts(changes: pd.DataFrame) -> dict[str, ChangeChart]:
    """Per question (and ``"rate"``), the tables a dumbbell chart and a heatmap by 職域 draw."""
    out = {}
    for q, t in changes.groupby(changes["question"].replace("", "rate"), sort=False):
        overall = t[t["group"] == ALL]
        dumbbell = overall[["indicator", "label", "kind", "direction", "estimate_base", "estimate_new", "difference",
                            "ci_low", "ci_high", "p_value", "mdd", "verdict", "suppressed"]].reset_index(drop=True)
        order_g = list(dict.fromkeys(t["group"]))
        order_i = list(dict.fromkeys(t["label"]))
        sign = t["direction"].map({"higher_is_better": 1.0, "higher_is_worse": -1.0}).fillna(0.0)
        frame = t.assign(pt=100 * t["difference"], better=100 * t["difference"] * sign,
                         mark=[_mark(v) for v in t["verdict"]])
        grid = {c: frame.pivot(index="group", columns="label", values=c).reindex(index=order_g, columns=order_i)
                for c in ("pt", "mark", "better")}
        out[q] = ChangeChart(question=q, title=str(t["title"].iloc[0]), dumbbell=dumbbell, heatmap=grid["pt"],
                             marks=grid["mark"].fillna(""), improvement=grid["better"])
    return out


def _mark(verdict: str) -> str:
    return {IMPROVED: "↑", WORSENED: "↓", INCREASED: "*", DECREASED: "*", SUPPRESSED: "x"}.get(verdict, "")


def plot_dumbbell(changes: pd.DataFrame, question: str, *, group: str = ALL, ax=None, title: str | None = None,
                  note: str = "", xlabel: str = "推定割合（%）", base: str | None = None):
    """Both waves' estimates of one question's indicators as a dumbbell chart (one row per indicator).

    Grey dot: baseline; blue dot: new wave; the connecting line is coloured by the verdict (blue 改善,
    red 悪化, grey otherwise), and the difference in points is written at the right (* p < alpha).
    ``changes`` is :func:`compare`'s table; returns the Axes. ``xlabel`` and ``base`` (the footer's
    first line) replace the defaults for charts that are not estimates (response rates).
    """
    import matplotlib.pyplot as plt

    from .plots import add_footer, fit_left_margin

    t = changes[(changes["question"].replace("", "rate") == question) & (changes["group"] == group)]
    t = t[~t["suppressed"]].reset_index(drop=True)
    if ax is None:
        fig, ax = plt.subplots(figsize=(8.6, 0.42 * len(t) + 2.2))
        fig.subplots_adjust(left=0.4, right=0.8, top=0.86, bottom=0.22)
    fig = ax.figure
    y = np.arange(len(t))[::-1]
    a, b = 100 * t["estimate_base"].to_numpy(float), 100 * t["estimate_new"].to_numpy(float)
    for yi, x0, x1, v in zip(y, a, b, t["verdict"]):
        ax.plot([x0, x1], [yi, yi], color=VERDICT_COLORS.get(v, NEUTRAL_COLOR), lw=2.2, zorder=1)
    wave_base, wave_new = changes.attrs.get("baseline_wave", "基準"), changes.attrs.get("wave", "今回")
    ax.scatter(a, y, color=BASE_COLOR, s=28, zorder=2, label=wave_base)
    ax.scatter(b, y, color=NEW_COLOR, s=28, zorder=3, label=wave_new)
    alpha = changes.attrs.get("alpha", 0.05)
    for yi, row in zip(y, t.itertuples()):
        star = "*" if np.isfinite(row.p_value) and row.p_value < alpha else ""
        ax.text(1.01, yi, f"{100 * row.difference:+.1f}pt{star} {row.verdict}", transform=ax.get_yaxis_transform(),
                va="center", ha="left", fontsize=7.5, color=VERDICT_COLORS.get(row.verdict, "#555555"))
    ax.set_yticks(y, [_wrap(lab) for lab in t["label"]], fontsize=8)
    ax.set_xlim(0, 100)
    ax.set_xlabel(xlabel)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2, frameon=False, fontsize=8)
    ax.set_title(title or f"{t['title'].iloc[0] if len(t) else question}（{group}）", pad=22)
    if base is None:
        n = (f"n = {wave_base} {int(t['n_base'].iloc[0]):,}／{wave_new} {int(t['n_new'].iloc[0]):,}　"
             if len(t) else "")
        base = f"{n}* {int(100 * alpha)}%水準で有意（独立な2回の調査の差、各回とも職域別の層化推定）"
    add_footer(fig, base=base,
               note=note or changes.attrs.get("note", ""))
    fit_left_margin(ax)
    return ax


def plot_change_heatmap(changes: pd.DataFrame, question: str, *, ax=None, title: str | None = None, note: str = ""):
    """Differences (points) of one question's indicators by 職域: colour blue = better, red = worse.

    Items without a direction are left uncoloured; marks: ↑ 改善, ↓ 悪化, * 増加/減少 (items
    without a direction), all at the 5% level; x 秘匿. Returns the Axes.
    """
    import matplotlib.pyplot as plt

    from .plots import MIN_HEATMAP_WIDTH, _heatmap, add_footer, fit_left_margin

    chart = change_charts(changes)[question]
    grid, better, marks = chart.heatmap, chart.improvement, chart.marks
    text = np.vectorize(lambda v, m: "x" if m == "x" else ("-" if not np.isfinite(v) else f"{v:+.1f}{m}"))(
        grid.to_numpy(float), marks.to_numpy(object))
    if ax is None:
        height = 0.4 * len(grid) + 3.2
        fig, ax = plt.subplots(figsize=(max(MIN_HEATMAP_WIDTH, 0.95 * grid.shape[1] + 3.2), height))
        fig.subplots_adjust(left=0.2, right=0.98, top=1 - 1.55 / height, bottom=1.0 / height)
    fig = ax.figure
    limit = max(5.0, float(np.nanmax(np.abs(better.to_numpy(float)))) if np.isfinite(better.to_numpy(float)).any() else 5.0)
    _heatmap(ax, better.to_numpy(float), text, cmap="RdBu", vmin=-limit, vmax=limit)
    reference = set(changes.loc[(changes["verdict"] == REFERENCE) & (changes["question"].replace("", "rate") == question),
                                "group"])
    rows = changes[changes["question"].replace("", "rate") == question].drop_duplicates("group").set_index("group")
    bases = {g: "" if not np.isfinite(float(rows.loc[g, "n_base"])) else
             f"（{int(rows.loc[g, 'n_base']):,}→{int(rows.loc[g, 'n_new']):,}）" for g in grid.index}
    ax.set_yticks(np.arange(len(grid)) + 0.5,
                  [f"{g}{'※' if g in reference else ''}{bases[g]}" for g in grid.index], rotation=0, fontsize=8)
    ax.set_xticks(np.arange(grid.shape[1]) + 0.5, [_wrap(c, 7) for c in grid.columns], rotation=0, fontsize=7)
    ax.xaxis.tick_top()
    ax.set_title(title or f"{chart.title}：{changes.attrs.get('baseline_wave', '')}→{changes.attrs.get('wave', '')}の変化"
                          "（職域別、ポイント）", pad=58)
    add_footer(fig, base=f"（ ）内は基数 n（{changes.attrs.get('baseline_wave', '基準')}→{changes.attrs.get('wave', '今回')}）。数値は差（ポイント）。\n色: 青=改善方向、赤=悪化方向（方向のない項目は無色）。"
                         "↑改善 ↓悪化 *増加・減少（方向のない項目）、いずれも5%水準で有意。"
                         "※基数30未満は参考値（検定しない）。x: 秘匿",
               note=note or changes.attrs.get("note", ""))
    fit_left_margin(ax)
    return ax


def _wrap(label: str, width: int = 22) -> str:
    return "\n".join(label[i:i + width] for i in range(0, len(label), width))
