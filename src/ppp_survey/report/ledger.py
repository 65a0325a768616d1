"""The publication record: every publication of a wave, kept internally, checked before the next.

One run cannot see what another published. A first run rejects a late answer (a 職域 of 9,
pooled); a second, with the fielding window widened, accepts it (10, published alone): subtracting
the first run's tables from the second's gives the late respondent's answers and the 9-person
group's counts, although each run on its own passed the disclosure audit. The same holds for a
frozen baseline made by the first run.

So each publication records, internally, the survey and wave, a salted fingerprint of its
respondent set (one keyed hash per respondent id, no answers; the salt is random and lives only in
the record) and the pooling used: in :data:`LEDGER_NAME` beside the internal folder of the output
folder (or ``--ledger PATH``: one record per survey, wherever its outputs go) and, for a real
export, also beside the export, so that publishing it again into another output folder or with
another ``--ledger`` is checked too (:func:`record_paths`). A new publication of a wave already
published whose respondent set differs by fewer respondents than the anonymity threshold, or whose
pooling differs, stops (:class:`PublicationError`, one line) with two ways on:

* ``--hold-new-respondents``: publish the earlier set again; the respondents who were not in it are
  held back (counted on screen and in the internal manifest) until they are enough;
* ``--publish-anyway``: publish the new set with the earlier pooling kept, the manifest stating how
  many respondents the difference discloses.

Republishing the same respondents with the same pooling is allowed and changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import numpy as np

from ppp_survey.errors import PublicationError
from ppp_survey.files import atomic_output
from ppp_survey.report.options import ReportOptions
from ppp_survey.survey.privacy import POOL_JOIN

if TYPE_CHECKING:  # annotations only: the analysis is imported where the record is checked
    from ppp_survey.analysis import Analysis
    from ppp_survey.ingest.load import LoadResult

__all__ = ["LEDGER_NAME", "Ledger", "Publication", "PublicationError", "Records", "Risk", "record_paths"]

LEDGER_NAME = "公表記録_内部用.json"
LEDGER_FORMAT = "ppp_survey publication record"


@dataclass(frozen=True)
class Publication:
    """One publication of a wave: its survey id and wave, the respondents' salted fingerprints, the
    pooling (``{attribute id: {pool label: members}}``), each published group's respondents
    (``{attribute id: {group label: fingerprints}}``; empty in a record written before groups were
    kept) and the threshold it was made with."""

    survey: str
    wave: str
    respondents: frozenset[str]
    pools: dict[str, dict[str, list[str]]]
    min_group: int
    where: str = ""
    groups: dict[str, dict[str, frozenset[str]]] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "survey": self.survey,
            "wave": self.wave,
            "respondents": sorted(self.respondents),
            "pools": self.pools,
            "groups": {a: {g: sorted(m) for g, m in sorted(by.items())} for a, by in sorted(self.groups.items())},
            "min_group": self.min_group,
            "where": self.where,
        }

    @classmethod
    def from_json(cls, entry: dict) -> Publication:
        return cls(
            survey=str(entry["survey"]),
            wave=str(entry.get("wave", "")),
            respondents=frozenset(entry["respondents"]),
            pools={a: {k: list(v) for k, v in p.items()} for a, p in entry.get("pools", {}).items()},
            min_group=int(entry.get("min_group", 0)),
            where=str(entry.get("where", "")),
            groups={a: {g: frozenset(m) for g, m in by.items()} for a, by in entry.get("groups", {}).items()},
        )


@dataclass(frozen=True)
class Risk:
    """How a new publication differs from an earlier one of the same wave: in its respondents
    (``added``, ``removed``), in its pooling (``pools_differ``), or in one published group
    (``group``: the attribute's label, the earlier group, the new one, and how many respondents
    tell them apart)."""

    earlier: Publication
    added: int  # respondents in the new set only
    removed: int  # respondents in the earlier set only
    pools_differ: bool
    group: tuple[str, str, str, int] | None = None

    @property
    def difference(self) -> int:
        return self.group[3] if self.group is not None else self.added + self.removed


def _categories(label: str) -> frozenset[str]:
    """The categories a published group holds: a pool's members (「上下水道局＋教育委員会」), or itself."""
    return frozenset(label.split(POOL_JOIN))


def closest_groups(
    old: dict[str, dict[str, frozenset[str]]], new: dict[str, dict[str, frozenset[str]]], threshold: int
) -> tuple[str, str, str, int] | None:
    """The pair of published groups pooled differently (one attribute, one group of each
    publication, not the same categories: a pool against one of its members published alone, or
    pooled with another) whose respondents differ by the fewest, more than none and fewer than
    ``threshold``: subtracting one group's counts from the other's would give those respondents'
    answers. ``(attribute, earlier group, new group, difference)``, or None. Groups of the same
    categories (「消防」 and 「消防」, a pool listed in another order) are the whole set's rule: they
    differ by the respondents the two sets differ by (:meth:`Ledger.risk`)."""
    best = None
    for attribute in sorted(old.keys() & new.keys()):
        for a, members_a in old[attribute].items():
            for b, members_b in new[attribute].items():
                if _categories(a) == _categories(b) or members_a.isdisjoint(members_b):
                    continue
                d = len(members_a ^ members_b)
                if 0 < d < threshold and (best is None or d < best[3]):
                    best = (attribute, a, b, d)
    return best


def normalised_pools(pools: dict[str, dict[str, Iterable[str]]]) -> dict[str, dict[str, list[str]]]:
    """Pools as the record keeps them (sorted keys, lists), so that two runs' pooling compare equal."""
    return {a: {k: list(v) for k, v in sorted(p.items())} for a, p in sorted(pools.items()) if p}


class Ledger:
    """The publication record at ``path`` (created on the first publication)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._data = self._read()

    def _read(self) -> dict:
        if not self.path.is_file():
            return {"format": LEDGER_FORMAT, "salt": secrets.token_hex(16), "publications": []}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("format") != LEDGER_FORMAT or "salt" not in data:
                raise ValueError("not a publication record")
        except (OSError, ValueError) as exc:
            raise PublicationError(
                f"公表記録 {self.path.name}: 読めない（{exc}）。--ledger に ppp_survey が書いた公表記録を指定するか、"
                "ファイルを元に戻す"
            ) from None
        return data

    def fingerprint(self, respondent: object) -> str:
        """The keyed hash of a respondent id (no answers): the same id gives the same value in this record only."""
        return hmac.new(bytes.fromhex(self._data["salt"]), str(respondent).encode("utf-8"), hashlib.sha256).hexdigest()[
            :24
        ]

    def fingerprints(self, ids: Iterable[object]) -> frozenset[str]:
        """:meth:`fingerprint` of every id."""
        return frozenset(self.fingerprint(i) for i in ids)

    def publications(self, survey: str) -> list[Publication]:
        """Earlier publications of one survey (its codebook's ``survey.id``), oldest first."""
        return [Publication.from_json(e) for e in self._data["publications"] if e.get("survey") == survey]

    def risk(self, new: Publication) -> Risk | None:
        """The closest earlier publication of the same survey that ``new`` would disclose by
        difference (fewer than its threshold apart, not identical) or whose pooling differs; None
        when every earlier one is identical or far enough apart."""
        worst = None
        for old in self.publications(new.survey):
            added = len(new.respondents - old.respondents)
            removed = len(old.respondents - new.respondents)
            threshold = max(new.min_group, old.min_group)
            close = 0 < added + removed < threshold
            group = (
                None if close or not (old.groups and new.groups) else closest_groups(old.groups, new.groups, threshold)
            )
            # a record without groups: the pooling compared by its labels, as it was kept
            pools_differ = not (old.groups and new.groups) and added + removed < threshold and old.pools != new.pools
            if close or pools_differ or group is not None:
                risk = Risk(old, added, removed, pools_differ, group)
                if worst is None or risk.difference < worst.difference:
                    worst = risk
        return worst

    def record(self, new: Publication) -> None:
        """Add a publication (an identical one already recorded is not added twice)."""
        entry = new.to_json()
        entries = self._data["publications"]
        same = [
            e
            for e in entries
            if {k: v for k, v in e.items() if k != "where"} == {k: v for k, v in entry.items() if k != "where"}
        ]
        if not same:
            entries.append(entry)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(self.path) as tmp:
            tmp.write_text(json.dumps(self._data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        if os.name == "posix":
            os.chmod(self.path, 0o600)


def refusal(risk: Risk, label: str) -> str:
    """The one line that stops a publication: the risk and the two ways on."""
    earlier = f"（{risk.earlier.where}）" if risk.earlier.where else ""
    if risk.group is not None:
        attribute, a, b, d = risk.group
        what = (
            f"前回の公表{earlier}の{attribute}「{a}」と今回の「{b}」の回答者が{d}人だけ違うため、"
            "2つの集団を差し引くとその回答者の回答がわかる"
        )
    elif risk.difference and not risk.pools_differ:
        what = (
            f"前回の公表{earlier}と回答者が{risk.difference}人（追加{risk.added}人・除外{risk.removed}人）だけ違うため、"
            "2つの公表を差し引くとその回答者の回答がわかる"
        )
    elif risk.difference:
        what = (
            f"前回の公表{earlier}と回答者が{risk.difference}人だけ違い、匿名性のための統合も違うため、"
            "差し引くとその回答者と統合した集団の回答がわかる"
        )
    else:
        what = f"前回の公表{earlier}と同じ回答者を別の統合で公表すると、差し引いて小さな集団の回答がわかる"
    return (
        f"公表記録: {label}は{what}。前回と同じ回答者で公表し直すなら --hold-new-respondents（新しい回答者は人数が"
        "そろうまで内部で保留）、承知のうえ公表するなら --publish-anyway（前回の統合を保ち、開示しうる人数をマニフェストに記録）を付けて再実行する"
    )


def record_paths(opts: ReportOptions) -> tuple[Path, ...]:
    """The records a run checks and adds to: ``--ledger PATH``, else :data:`LEDGER_NAME` in the
    output folder (beside the internal folder, never inside a folder a run replaces); and, for an
    export that is not synthetic, the one beside the export too, whatever ``--ledger`` says: every
    output folder and every record it is published with meets the same record there. (Synthetic
    data have no respondents to protect, and the bundled inputs are never written to.)"""
    paths = [Path(opts.ledger) if opts.ledger is not None else opts.out / LEDGER_NAME]
    if not opts.synthetic:
        paths.append(Path(opts.data).parent / LEDGER_NAME)
    return tuple(dict.fromkeys(Path(os.path.abspath(p)) for p in paths))


class Records:
    """The publication records of a run (:func:`record_paths`), each with its own salt: a new
    publication is checked against every one and added to every one."""

    def __init__(self, paths: Iterable[Path]):
        self.ledgers = tuple(Ledger(p) for p in paths)

    def latest(self, survey: str) -> tuple[Ledger, Publication] | None:
        """The latest earlier publication of ``survey`` with its record: the export's record first
        (it holds the publications of every output folder), else the output folder's."""
        for ledger in reversed(self.ledgers):
            earlier = ledger.publications(survey)
            if earlier:
                return ledger, earlier[-1]
        return None

    def publications(self, opts: ReportOptions, analysis, responses) -> tuple[Publication, ...]:
        """This run's publication as each record fingerprints it (:func:`this_publication`)."""
        return tuple(this_publication(opts, ledger, analysis, responses) for ledger in self.ledgers)

    def risk(self, publications: tuple[Publication, ...]) -> Risk | None:
        """The closest risk any record finds (:meth:`Ledger.risk`)."""
        found = [r for ledger, p in zip(self.ledgers, publications) if (r := ledger.risk(p)) is not None]
        return min(found, key=lambda r: r.difference, default=None)

    def record(self, publications: tuple[Publication, ...], progress: Callable[[str], None]) -> None:
        """Add the publication to every record; a record beside the export that cannot be written
        (a read-only folder) is said on screen, the output folder's is required."""
        for i, (ledger, publication) in enumerate(zip(self.ledgers, publications)):
            try:
                ledger.record(publication)
            except OSError as exc:
                if i == 0:
                    raise
                progress(
                    f"        注意: 公表記録を回答データのフォルダに書けない（{exc.strerror}: {ledger.path.parent}）。"
                    "別の出力先への公表とは照合できないため、回答データを書き込めるフォルダに置くか、同じ公表記録を毎回 --ledger で指定する"
                )


def refuse(risk: Risk, label: str) -> NoReturn:
    """Stop the publication (:class:`PublicationError`, one line: :func:`refusal`)."""
    raise PublicationError(refusal(risk, label))


# ------------------------------------------------------------ the report's use of the record


def published_analysis(
    opts: ReportOptions, codebook, responses, frame, margins, records: Records, progress, *, model
) -> tuple[Analysis, tuple[Publication, ...], int | None]:
    """Every table of the run, checked against the earlier publications of the wave
    (:mod:`ppp_survey.report.ledger`): ``(analysis, publications, difference)`` (the publication as
    each record keeps it), ``difference`` the
    number of respondents an earlier publication differs by when published anyway, else None.
    A publication close to an earlier one stops (:class:`PublicationError`) unless
    ``--hold-new-respondents`` (the earlier set again) or ``--publish-anyway`` (the earlier pooling).
    ``model`` is the association model (response, terms) the matrix names."""
    from ppp_survey.analysis import analyse

    def analysed(keep_pools=None) -> Analysis:
        return analyse(
            responses,
            frame,
            codebook,
            min_group=opts.min_group,
            marks=opts.marks,
            margins=margins,
            calibrate=opts.calibrate,
            bounds=opts.rake_bounds,
            model=model,
            keep_pools=keep_pools,
            progress=progress,
        )

    analysis = analysed()
    publications = records.publications(opts, analysis, responses)
    risk = records.risk(publications)
    if risk is None:
        return analysis, publications, None
    if not opts.publish_anyway:
        refuse(risk, f"{codebook.survey.wave}の調査")
    progress(f"        公表記録: 前回と{risk.difference}人違う回答者で公表（--publish-anyway、前回の統合を保つ）")
    analysis = analysed(keep_pools=risk.earlier.pools)
    return analysis, records.publications(opts, analysis, responses), risk.difference


def hold_back(loaded, records: Records, survey: str, progress: Callable[[str], None]) -> LoadResult:
    """The export as the latest earlier publication of the survey had it (``--hold-new-respondents``):
    respondents it did not have are left out of every table and of the published row counts, as if
    not yet received; they stay in the export for a later publication."""
    latest = records.latest(survey)
    ids = loaded.responses["respondent_id"].astype(str)
    if latest is None:  # without an earlier publication nothing waits
        keep = np.ones(len(ids), dtype=bool)
    else:
        ledger, earlier = latest
        keep = ids.map(lambda i: ledger.fingerprint(i) in earlier.respondents).to_numpy(bool)
    held = int((~keep).sum())
    held_ids = set(ids[~keep])
    rows = loaded.report.rows
    report = replace(loaded.report, rows=rows[~rows["respondent_id"].astype(str).isin(held_ids)].reset_index(drop=True))
    free = loaded.free_text
    progress(f"        前回の公表と同じ回答者で公表: 新しい回答者{held:,}人は保留（公表しない）")
    return replace(
        loaded,
        responses=loaded.responses[keep].reset_index(drop=True),
        free_text=free[~free["respondent_id"].astype(str).isin(held_ids)].reset_index(drop=True),
        report=report,
    )


def this_publication(opts: ReportOptions, ledger: Ledger, analysis, responses) -> Publication:
    """What this run publishes of its wave, for the publication record: the respondents' keyed
    fingerprints and the pooling."""
    survey = (analysis.source_codebook or analysis.codebook).survey
    where = opts.out.name + (f"、基準値 {opts.freeze_baseline.name}" if opts.freeze_baseline else "")
    return Publication(
        survey=survey.id,
        wave=survey.wave or survey.id,
        respondents=ledger.fingerprints(responses["respondent_id"]),
        pools=normalised_pools(analysis.pools.by_attribute),
        min_group=opts.min_group,
        where=where,
        groups=published_groups(ledger, analysis),
    )


def published_groups(ledger: Ledger, analysis) -> dict[str, dict[str, frozenset[str]]]:
    """Each published group's respondents, by attribute (its label as the record names it: the
    attribute's Japanese label) and group label (pools and 無回答 included), as ``ledger`` fingerprints them."""
    shown = analysis.responses
    ids = shown["respondent_id"].astype(str)
    prints = ids.map(ledger.fingerprint)
    out: dict[str, dict[str, frozenset[str]]] = {}
    for attribute in analysis.codebook.attributes:
        labels = shown[attribute.id].astype(object)
        out[attribute.label] = {
            str(label): frozenset(prints[(labels == label).to_numpy()]) for label in labels.dropna().unique()
        }
    return out
