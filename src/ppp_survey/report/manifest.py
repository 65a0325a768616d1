"""The report's manifests: the published ``manifest.json`` (the codebook, frame, matrix, mapping and
margins files with SHA-256, version, options, coverage, the disclosure audit's summary, the baseline
compared with, every published output) and the internal one beside the 公開禁止 files (with the
response export's name and SHA-256, which nothing published carries). Paths are relative to the output folder: a published
manifest never carries the folders of the machine that wrote it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from ppp_survey import __version__
from ppp_survey.compare.changes import ChangeTable
from ppp_survey.files import atomic_output, sha256_file
from ppp_survey.report.options import ReportOptions

__all__ = ["input_files", "public_option", "relative_path", "write_internal_manifest", "write_manifest"]


#: Options a published manifest leaves out: where the outputs and the export are, and how the
#: publication record was consulted (internal choices; a republished set must give the same bytes).
INTERNAL_OPTIONS = ("out", "data", "ledger", "hold_new_respondents", "publish_anyway")


def write_manifest(
    opts: ReportOptions,
    outputs: list[Path],
    path: Path,
    *,
    changes: ChangeTable | None = None,
    coverage: dict | None = None,
    disclosure: dict | None = None,
    roots: tuple[Path, ...] | None = None,
) -> Path:
    """JSON record of the inputs a reader may know (codebook, frame, matrix, mapping and margins files
    with their SHA-256), package version, options and every published output written, by its path
    relative to the first of ``roots`` (default ``opts.out``) that holds it.

    The response export is not named: its SHA-256 is a function of every individual answer (swapping
    a small group's members with their pool partner's changes it and nothing else), and its name may
    say whose export it is. Both are in the internal manifest (:func:`write_internal_manifest`)."""
    manifest = {
        "package": "ppp_survey",
        "version": __version__,
        "synthetic": opts.synthetic,
        "inputs": input_files(opts),
        "options": {k: public_option(v) for k, v in asdict(opts).items() if k not in INTERNAL_OPTIONS},
        "outputs": [{"path": relative_path(p, *(roots or (opts.out,))), "sha256": sha256_file(p)} for p in outputs],
    }
    if coverage is not None:
        manifest["coverage"] = coverage
    if disclosure is not None:
        manifest["disclosure_audit"] = disclosure
    if changes is not None:
        manifest["baseline"] = {
            "description": changes.baseline_description,
            "manifest_sha256": changes.baseline,
            "mapping": changes.mapping,
            "mapping_sha256": changes.mapping_sha256,
            "fpc": changes.fpc,
            "adjust": changes.adjust,
        }
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def input_files(opts: ReportOptions) -> dict[str, dict[str, str]]:
    """The codebook, frame, matrix, mapping and margins a run read, by file name with their SHA-256
    (a packaged file by its name, marked 同梱); never the response export."""
    from importlib import resources

    out = {}
    packaged = {"codebook": "codebook_r7.yaml", "matrix": "policy_matrix_r7.yaml"}
    for key in ("codebook", "frame", "matrix", "mapping", "margins"):
        value = getattr(opts, key)
        if value is not None and Path(value).is_file():
            out[key] = {"file": Path(value).name, "sha256": sha256_file(value)}
        elif value is None and key in packaged:
            data = (resources.files("ppp_survey") / "data" / packaged[key]).read_bytes()
            out[key] = {"file": f"{packaged[key]}（同梱）", "sha256": hashlib.sha256(data).hexdigest()}
    return out


def write_internal_manifest(
    outputs: list[Path], published: Path, path: Path, roots: tuple[Path, ...], *, export: Path | None = None
) -> Path:
    """JSON record of the internal files (公開禁止), kept in the internal folder beside them: what
    they are and their SHA-256, and the response export read (name and SHA-256, which no published
    file carries). The published manifest, named here, does not list them."""
    manifest = {
        "package": "ppp_survey",
        "version": __version__,
        "note": "内部用・公開禁止: 除外した行の生の値や自由記述、回答ファイルの名前とSHA-256を含むため公表しない",
        **({"export": {"file": export.name, "sha256": sha256_file(export)}} if export is not None else {}),
        "published_manifest": relative_path(published, *roots),
        "outputs": [{"path": relative_path(p, *roots), "sha256": sha256_file(p)} for p in outputs],
    }
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def relative_path(path: Path, *roots: Path) -> str:
    """An output's path relative to the output folder (its name where it lies elsewhere): a
    published manifest never carries the folders of the machine that wrote it."""
    for root in roots:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            continue
    return path.name


def public_option(value) -> str | None:
    """An option as the manifest publishes it: paths by file or folder name only; an option not
    given is JSON null (never the string "None")."""
    if value is None:
        return None
    return Path(value).name if isinstance(value, Path) else str(value)
