"""Packaged data files (codebooks, mappings, policy matrices) and how a codebook argument resolves.

One resolver for the files shipped in ``ppp_survey/data``: a packaged name (``codebook_r8`` or
``codebook_r8.yaml``), a path, or a :class:`~ppp_survey.spec.codebook.Codebook` already loaded.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ppp_survey.errors import CodebookError
from ppp_survey.spec.codebook import Codebook, Item, load_codebook, parse_codebook
from ppp_survey.spec.schema import load_yaml, yaml_lines

__all__ = ["codebook_source", "dump_codebook", "packaged_codebook", "resolve_codebook"]


def resolve_codebook(ref: Codebook | str | Path | None) -> Codebook:
    """A codebook from a :class:`Codebook`, a YAML path, a packaged file name
    (``"codebook_r8.yaml"``) or ``None`` (the packaged R7 codebook)."""
    if isinstance(ref, Codebook):
        return ref
    if ref is None or Path(ref).is_file():
        return load_codebook(ref)
    return packaged_codebook(str(ref))


def packaged_codebook(name: str) -> Codebook:
    """A codebook shipped with the package, by file name (``"codebook_r8.yaml"``; the ``.yaml``
    may be left out)."""
    packaged = resources.files("ppp_survey") / "data" / name
    if not packaged.is_file() and not name.endswith((".yaml", ".yml")):
        name = f"{name}.yaml"
        packaged = resources.files("ppp_survey") / "data" / name
    if not packaged.is_file():
        raise CodebookError(
            f"コードブック {name}: ファイルが見つからない（パスにも同梱のコードブックにもない）。"
            "既存のYAMLファイルのパスか、同梱の名前（例: codebook_r8.yaml）を指定する"
        )
    text = packaged.read_text(encoding="utf-8")
    return parse_codebook(load_yaml(text), name=f"{name}（同梱）", packaged=name, lines=yaml_lines(text))


def codebook_source(codebook: Codebook) -> tuple[str, bytes]:
    """The file name and bytes a codebook was read from (a YAML dump when it came from no file)."""
    if codebook.packaged is not None:
        return codebook.packaged, (resources.files("ppp_survey") / "data" / codebook.packaged).read_bytes()
    path = codebook.path
    if path and Path(path).is_file():
        return Path(path).name, Path(path).read_bytes()
    return "codebook.yaml", dump_codebook(codebook).encode("utf-8")


def dump_codebook(cb: Codebook) -> str:
    """A codebook as schema_version 1 YAML (for codebooks that came from no file)."""

    def item(it: Item) -> dict:
        d: dict[str, Any] = {"id": it.id, "text": it.text, "type": str(it.type)}
        if it.role != "question":
            d["role"] = it.role
        d.update({"title": it.label, "number": it.number, "polarity": str(it.polarity), "aliases": list(it.aliases)})
        if it.other_text:
            d["other_text"] = it.other_text
        if it.choices:
            d["choices"] = [
                {
                    k: v
                    for k, v in {
                        "code": c.code,
                        "label": c.label,
                        "aliases": list(c.aliases) or None,
                        "score": c.score,
                        "exclusive": c.exclusive or None,
                        "other": c.other or None,
                    }.items()
                    if v is not None
                }
                for c in it.choices
            ]
        return d

    s = cb.survey
    raw = {
        "schema_version": 1,
        "survey": {
            "id": s.id,
            "title": s.title,
            "wave": s.wave,
            "fielded_from": s.fielded_from.isoformat(),
            "fielded_to": s.fielded_to.isoformat(),
            "population": s.population,
            "respondents": s.respondents,
            "source": s.source,
            "source_note": s.source_note,
            "reconstruction": s.reconstruction,
        },
        "missing": list(cb.missing),
        "id_column": list(cb.id_column),
        "attributes": [item(a) for a in cb.attributes],
        "questions": [item(q) for q in cb.questions],
    }
    return yaml.safe_dump(raw, allow_unicode=True, sort_keys=False)
