"""The report's manifests: the published ``manifest.json`` (inputs with SHA-256, version, options,
coverage, the disclosure audit's summary, the baseline compared with, every published output) and
the internal one beside the 公開禁止 files. Paths are relative to the output folder: a published
manifest never carries the folders of the machine that wrote it."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from ppp_survey import __version__
from ppp_survey.compare.changes import ChangeTable
from ppp_survey.files import atomic_output, sha256_file
from ppp_survey.report.options import ReportOptions

__all__ = ["public_option", "relative_path", "write_internal_manifest", "write_manifest"]


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
    """JSON record of inputs (with SHA-256), package version, options and every published output
    written, by its path relative to the first of ``roots`` (default ``opts.out``) that holds it."""
    inputs = {"data": opts.data, "frame": opts.frame}
    for key in ("codebook", "matrix", "mapping", "margins"):
        value = getattr(opts, key)
        if value is not None and Path(value).is_file():
            inputs[key] = value
    manifest = {
        "package": "ppp_survey",
        "version": __version__,
        "synthetic": opts.synthetic,
        "inputs": {k: {"file": Path(v).name, "sha256": sha256_file(v)} for k, v in inputs.items()},
        "codebook": "packaged codebook_r7.yaml" if opts.codebook is None else Path(opts.codebook).name,
        "matrix": "packaged policy_matrix_r7.yaml" if opts.matrix is None else Path(opts.matrix).name,
        "options": {k: public_option(v) for k, v in asdict(opts).items() if k != "out"},
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


def write_internal_manifest(outputs: list[Path], published: Path, path: Path, roots: tuple[Path, ...]) -> Path:
    """JSON record of the internal files (公開禁止), kept in the internal folder beside them: what
    they are and their SHA-256. The published manifest, named here, does not list them."""
    manifest = {
        "package": "ppp_survey",
        "version": __version__,
        "note": "内部用・公開禁止: 除外した行の生の値や自由記述を含みうるため公表しない",
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


def public_option(value) -> str:
    """An option as the manifest publishes it: paths by file or folder name only."""
    return Path(value).name if isinstance(value, Path) else str(value)
