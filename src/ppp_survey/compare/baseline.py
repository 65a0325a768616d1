"""The frozen baseline: one wave's indicators, rates and codebook saved once, read back by SHA-256.

:func:`freeze_baseline` writes the old wave's indicators (every choice share, top-2 box,
multi-select option and response rate, 全体 and by 職域), its response rates, a copy of its
codebook and a ``manifest.json`` with the SHA-256 of its inputs and of every file. The baseline is
named by the SHA-256 of its manifest; :func:`load_baseline` refuses a folder whose files no longer
match it. See :mod:`ppp_survey.compare.changes` for the comparison.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ppp_survey import __version__
from ppp_survey.compare.wave import INDICATOR_COLUMNS, Wave, wave_indicators
from ppp_survey.errors import BaselineError
from ppp_survey.files import Staging, atomic_output, csv_bytes, output_lock, settle, sha256_file
from ppp_survey.spec.codebook import Codebook, parse_codebook
from ppp_survey.spec.resources import codebook_source
from ppp_survey.spec.schema import load_yaml

BASELINE_FORMAT = 1


# ---------------------------------------------------------------------------------- baseline


@dataclass(frozen=True)
class Baseline:
    """The old wave's indicators, frozen: what a comparison needs, and nothing recomputed.

    ``indicators`` (:data:`~ppp_survey.compare.wave.INDICATOR_COLUMNS`, 全体 and each 職域), ``rates``
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

    @property
    def pools(self) -> dict[str, tuple[str, ...]]:
        """職域 pooled for anonymity when the baseline was frozen: ``{pool label: member 職域}``;
        the indicators and rates carry the pool label."""
        return {label: tuple(members) for label, members in self.manifest.get("pools", {}).items()}

    @property
    def raked_to(self) -> tuple[str, ...]:
        """The margins (attribute ids, e.g. ``position``, ``age``) the baseline's weights were raked
        to besides 職域 (``--calibrate``); () for the 職域 weights ``N_h/n_h``."""
        return tuple(self.manifest.get("method", {}).get("raked_to", ()))

    @property
    def rake_bounds(self) -> tuple[float, float] | None:
        """The limits of the raking factors (``--rake-bounds``) the baseline was frozen with, or None."""
        bounds = self.manifest.get("method", {}).get("bounds")
        return (float(bounds[0]), float(bounds[1])) if bounds else None

    def describe(self) -> str:
        """One line naming the baseline, for reports: wave, folder and manifest hash."""
        where = f"{self.folder.name}, " if self.folder else ""  # the folder's name, never a path
        if self.manifest_sha256 is None:
            return f"{self.wave} 基準値（未凍結・メモリ上で計算）"
        return f"{self.wave} 基準値（{where}manifest SHA-256 {self.manifest_sha256[:12]}…）"


def baseline_from_wave(wave) -> Baseline:
    """The baseline a wave would freeze to, computed in memory (nothing written)."""
    files, manifest = _baseline_files(Wave.of(wave))
    return _baseline_from_files(files, manifest, manifest_sha256=None, folder=None)


def freeze_baseline(survey, folder: str | Path, *, overwrite: bool = False, stage: Staging | None = None) -> Path:
    """Write a wave's results as a frozen baseline; return the path of its ``manifest.json``.

    Parameters
    ----------
    survey
        A :class:`~ppp_survey.compare.wave.Wave` (:func:`load_wave`), an analysed
        :class:`~ppp_survey.analysis.Survey` (:func:`~ppp_survey.analysis.load_survey`) or an
        :class:`~ppp_survey.analysis.Analysis`: its published, pooled estimates are frozen as they
        are (nothing is pooled or weighted again).
    folder
        Where to write ``indicators.csv``, ``response_rates.csv``, ``codebook.yaml`` and
        ``manifest.json`` (e.g. ``data/processed/baseline_r7``).
    overwrite
        A folder that already holds a different frozen baseline is refused unless True (freezing
        the same results again is a no-op).
    stage
        A run's :class:`~ppp_survey.files.Staging`: the files are staged through it
        (:meth:`~ppp_survey.files.Staging.place`: inside its output folder, or beside ``folder``)
        and switched in by its commit together with the run's other outputs; the path returned is
        then the staged manifest. Without it the baseline is a switch of its own: staged beside
        ``folder`` (``.<name>.ppp_survey_staging``, same disk) and moved in by one journaled commit
        under the folder's lock, so a reader never finds half a baseline (:func:`load_baseline`
        completes or undoes a switch a killed process left, :func:`~ppp_survey.files.settle`).

    The files are the same bytes for the same published results (no time stamps, no absolute paths,
    no hash of the response export), so the manifest hash names the results, not the moment they
    were written nor the individual answers behind them.
    """
    files, manifest = _baseline_files(Wave.of(survey))
    data = _manifest_bytes(manifest)
    target = Path(folder)
    if stage is not None:
        if _frozen_already(target, files, data, overwrite=overwrite):
            return target / "manifest.json"
        return _write_baseline(stage.place(target), files, data)
    with output_lock(target, beside=True), Staging(target, beside=True) as own:
        if not _frozen_already(target, files, data, overwrite=overwrite):
            _write_baseline(own.new, files, data)
            own.commit([])
    return target / "manifest.json"


def _frozen_already(target: Path, files: dict[str, bytes], data: bytes, *, overwrite: bool) -> bool:
    """Whether ``target`` holds this baseline already; a different one is refused unless ``overwrite``."""
    settle(target)
    existing = target / "manifest.json"
    if not existing.is_file():
        return False
    if existing.read_bytes() == data and all(
        (target / n).is_file() and (target / n).read_bytes() == b for n, b in files.items()
    ):
        return True
    if not overwrite:
        raise BaselineError(
            f"基準値フォルダ {target.name}: このフォルダには別の凍結済み基準値がある（manifest.json の SHA-256 "
            f"{sha256_file(existing)[:12]}…、場所: {target}）。別のフォルダを指定する"
        )
    return False


def _write_baseline(folder: Path, files: dict[str, bytes], data: bytes) -> Path:
    for name, content in files.items():
        with atomic_output(folder / name) as tmp:
            tmp.write_bytes(content)
    with atomic_output(folder / "manifest.json") as tmp:  # last: a folder with a manifest is complete
        tmp.write_bytes(data)
    return folder / "manifest.json"


def load_baseline(folder: str | Path) -> Baseline:
    """Read a frozen baseline (folder or its ``manifest.json``), checking every file's SHA-256."""
    path = Path(folder)
    manifest_path = path if path.name == "manifest.json" else path / "manifest.json"
    root = manifest_path.parent
    settle(root)  # a switch a killed run left half done is completed or undone before reading
    if not manifest_path.is_file():
        what = "フォルダが見つからない" if not root.is_dir() else "フォルダに manifest.json がない"
        raise BaselineError(
            f"基準値フォルダ {root.name}: {what}（場所: {root}）。--compare には前回の調査で"
            "「python -m ppp_survey.report --freeze-baseline フォルダ」が書いたフォルダを指定する"
        )
    data = manifest_path.read_bytes()
    try:
        manifest = json.loads(data.decode("utf-8"))
    except ValueError as exc:
        raise BaselineError(
            f"基準値フォルダ {root.name} の manifest.json: JSONとして読めない（{exc}）。"
            "ファイルを元に戻すか、前回の調査で基準値を凍結し直す"
        ) from None
    if manifest.get("format") != "ppp_survey baseline" or manifest.get("format_version") != BASELINE_FORMAT:
        raise BaselineError(
            f"基準値フォルダ {root.name} の manifest.json: ppp_survey の基準値（形式 {BASELINE_FORMAT}）ではない"
            f"（format: {manifest.get('format')}、format_version: {manifest.get('format_version')}）。"
            "--freeze-baseline が書いたフォルダを指定する"
        )
    files = {}
    for entry in manifest.get("files", []):
        p = root / entry["path"]
        if not p.is_file():
            raise BaselineError(
                f"基準値フォルダ {root.name}: {entry['path']} がない（manifest.json には載っている）。"
                "ファイルを元に戻すか、前回の調査で基準値を凍結し直す"
            )
        content = p.read_bytes()
        if hashlib.sha256(content).hexdigest() != entry["sha256"]:
            raise BaselineError(
                f"基準値フォルダ {root.name}: {entry['path']} の中身が manifest.json の SHA-256 と合わない"
                "（凍結した基準値は編集できない）。ファイルを元に戻すか、前回の調査で基準値を凍結し直す"
            )
        files[entry["path"]] = content
    return _baseline_from_files(files, manifest, manifest_sha256=hashlib.sha256(data).hexdigest(), folder=root)


def _baseline_files(wave: Wave) -> tuple[dict[str, bytes], dict]:
    analysis = wave.analysis
    cb = wave.codebook
    labels = analysis.codebook.stratum.labels  # the published 職域 (pools under their label)
    indicators = wave_indicators(wave, groups={lab: lab for lab in labels}, order=labels)
    rates = analysis.rates.assign(domain=lambda t: t["domain"].astype(str))
    name, codebook_bytes = codebook_source(cb)
    files = {
        "indicators.csv": csv_bytes(indicators),
        "response_rates.csv": csv_bytes(rates),
        "codebook.yaml": codebook_bytes,
    }
    s = cb.survey
    pools = wave.pools
    manifest = {
        "format": "ppp_survey baseline",
        "format_version": BASELINE_FORMAT,
        "package": "ppp_survey",
        "version": __version__,
        "survey": {
            "id": s.id,
            "wave": s.wave,
            "title": s.title,
            "fielded_from": s.fielded_from.isoformat(),
            "fielded_to": s.fielded_to.isoformat(),
        },
        "synthetic": bool(wave.synthetic),
        "source_note": wave.note,
        "method": _method(wave),
        **({"pools": {label: list(members) for label, members in pools.items()}} if pools else {}),
        "inputs": {role: {"file": f.file, "sha256": f.sha256} for role, f in wave.inputs.items()},
        "files": [{"path": n, "sha256": hashlib.sha256(b).hexdigest()} for n, b in files.items()],
    }
    return files, manifest


def _method(wave: Wave) -> dict:
    """How the baseline's estimates were made (the manifest's ``method``)."""
    if not wave.raked_to:
        estimates = "stratified by 職域, weights N_h/n_h, 95% logit intervals"
        raked: dict = {}
    else:
        columns = list(wave.raked_to)
        estimates = f"stratified by 職域, weights raked to 職域 and {', '.join(columns)}, 95% logit intervals"
        raked = {"raked_to": columns, **({"bounds": list(wave.bounds)} if wave.bounds else {})}
    return {
        "estimates": estimates,
        **raked,
        "se": "with finite population correction",
        "se_nofpc": "without it",
        "min_group": int(wave.analysis.min_group),
    }


def _baseline_from_files(files: dict[str, bytes], manifest: dict, *, manifest_sha256, folder) -> Baseline:
    survey_name = f"{folder / 'codebook.yaml'}" if folder else "(baseline) codebook.yaml"
    cb = parse_codebook(load_yaml(files["codebook.yaml"].decode("utf-8-sig")), name=survey_name)
    ind = _read_csv(
        files["indicators.csv"],
        {"indicator": str, "question": str, "kind": str, "label": str, "group": str, "code": "Int64"},
    )
    ind["question"] = ind["question"].fillna("")
    ind["suppressed"] = ind["suppressed"].astype(bool)
    rates = _read_csv(files["response_rates.csv"], {"domain": str})
    return Baseline(
        codebook=cb,
        indicators=ind[list(INDICATOR_COLUMNS)],
        rates=rates,
        manifest=manifest,
        manifest_sha256=manifest_sha256,
        folder=folder,
    )


def _read_csv(content: bytes, dtype: dict) -> pd.DataFrame:
    # frozen numbers carry 12 significant digits (files.CSV_FLOAT_FORMAT) and are read back as written
    return pd.read_csv(io.BytesIO(content), encoding="utf-8-sig", dtype=dtype, keep_default_na=False, na_values=[""])


def _manifest_bytes(manifest: dict) -> bytes:
    return (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


# ------------------------------------------------------------------------------- comparison
