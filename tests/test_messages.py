"""Every message a user can see is Japanese, in one line, naming the file: the catalogue's guarantee.

Issue 17 item 1 asks for the messages "from one message catalogue". They are kept beside their
checks instead: each message is built where the check has the file, the place (line, key path such
as ``questions[3].choices[2]``, 設問番号) and the value in hand, so that it can say all of them and
what to do; a separate module of format strings would carry the same text one step away from the
values it needs and from the rule that decides it, and would be one more file to keep in step with
every check. What one catalogue would guarantee — no user-facing message left in English — this
scan guarantees instead: it reads the package's source (ast) and finds

- every ``raise X(...)`` where ``X`` is a :class:`~ppp_survey.errors.PppSurveyError` subclass (the
  classes are found by importing the package's modules and checking ``issubclass``; a validator's
  ``raise self.error(...)`` and ``read_yaml``'s ``raise error(...)`` count too),
- every ``.fail(...)`` call of the YAML schema validators (:class:`~ppp_survey.spec.schema.FileChecker`),

and fails, listing file:line, when the literal text of the message (the call's string literals,
and those of a message held in a name or built by a function of the same module) has no Japanese
character, or still holds an English phrase (four English words in a row outside 「」 and ``{}``).
A new check written in English fails here. Programming errors (``TypeError``/``ValueError``/
``KeyError`` of a wrong API call) are not user errors and may stay English.

The end-to-end checks below run :func:`ppp_survey.report.cli.main` as a user would and read the
one stderr line.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
import io
import pkgutil
import re
import shutil
from functools import cache
from pathlib import Path

import pytest
import yaml

import ppp_survey
from conftest import BASELINE, FRAME, REPO
from ppp_survey.errors import PppSurveyError

PACKAGE = Path(ppp_survey.__file__).parent
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff01-\uff5e]")
# four English words in a row (an untranslated sentence), once quoted text and code are removed
ENGLISH_PHRASE = re.compile(r"[A-Za-z]{2,}(?:[ ,;'()-]+[A-Za-z]{2,}){3,}")

# Files whose messages another change is still rewriting; they may be listed here only while they
# fail, each with the reason. (Every file passes at the time of writing: the list is empty.)
ALLOWED: dict[str, str] = {}


@cache
def error_names() -> frozenset[str]:
    """Names of the package's PppSurveyError subclasses (imported, so re-exports resolve too)."""
    names = {"error"}  # FileChecker's `self.error`, read_yaml's `error` argument
    for info in pkgutil.walk_packages(ppp_survey.__path__, "ppp_survey."):
        if info.name.rsplit(".", 1)[-1] == "__main__":
            continue  # runs the command line on import
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, PppSurveyError):
                names.add(name)
    return frozenset(names)


def _called_name(call: ast.Call) -> str | None:
    fn = call.func
    return fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else None


class _Module:
    """One source file: its message calls and what its names and functions hold."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tree = ast.parse(path.read_text(encoding="utf-8"))
        self.assigned: dict[str, list[ast.AST]] = {}
        self.functions: dict[str, ast.FunctionDef] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        self.assigned.setdefault(target.id, []).append(node.value)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
                self.assigned.setdefault(node.target.id, []).append(node.value)
            elif isinstance(node, ast.FunctionDef):
                self.functions[node.name] = node

    def messages(self) -> list[tuple[int, ast.Call]]:
        # the validators' `fail` only puts "{kind} {file} {place}: " before its message; the words
        # are those of each `.fail(...)` call, scanned where it is written
        composer = {id(n) for f in self.functions.values() if f.name == "fail" for n in ast.walk(f)}
        found = []
        for node in ast.walk(self.tree):
            if id(node) in composer:
                continue
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                if _called_name(node.exc) in error_names():
                    found.append((node.lineno, node.exc))
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "fail":
                found.append((node.lineno, node))
        return found

    def literals(self, node: ast.AST, seen: frozenset[str] = frozenset()) -> list[str]:
        """The literal text of a message expression: its string constants (an f-string's placeholders
        as ``{}``), following a name that holds the message and a same-module function that returns it
        (``raise LoadError(_EMPTY.format(p=p))``, ``raise LoadError(missing_message(...))``)."""
        if isinstance(node, ast.Constant):
            return [node.value] if isinstance(node.value, str) else []
        if isinstance(node, ast.JoinedStr):
            return ["".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)]
        if isinstance(node, ast.BinOp):
            return self.literals(node.left, seen) + self.literals(node.right, seen)
        if isinstance(node, ast.IfExp):
            return self.literals(node.body, seen) + self.literals(node.orelse, seen)
        if isinstance(node, ast.Name) and node.id not in seen:
            out = []
            for value in self.assigned.get(node.id, []):
                out += self.literals(value, seen | {node.id})
            if node.id in self.functions:
                for sub in ast.walk(self.functions[node.id]):
                    if isinstance(sub, ast.Return) and sub.value is not None:
                        out += self.literals(sub.value, seen | {node.id})
            return out
        if isinstance(node, ast.Call):  # msg.format(...), "、".join(...), a message-building function
            head = node.func.value if isinstance(node.func, ast.Attribute) else node.func
            return self.literals(head, seen)
        return []


def _problem(texts: list[str]) -> str | None:
    text = "{}".join(t for t in texts if t.strip())
    if not text:
        return "no message text found (a message from another module? name it here)"
    if not JAPANESE.search(text):
        return f"no Japanese: {text[:80]!r}"
    plain = re.sub(r"「[^」]*」|\{[^}]*\}|`[^`]*`|--[\w-]+|python -m [\w.]+", " ", text)
    english = ENGLISH_PHRASE.search(plain)
    if english:
        return f"an English phrase: {english.group(0)!r}"
    return None


def scan() -> list[str]:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        module = _Module(path)
        for line, call in module.messages():
            texts: list[str] = []
            for arg in [*call.args, *(k.value for k in call.keywords)]:
                texts += module.literals(arg)
            problem = _problem(texts)
            if problem:
                problems.append(f"{rel}:{line}: {problem}")
    return problems


def test_every_user_error_message_is_japanese():
    problems = [p for p in scan() if p.split(":", 1)[0] not in ALLOWED]
    assert not problems, "user-facing messages not in Japanese:\n" + "\n".join(problems)


def test_the_scan_finds_the_messages():
    """The scan sees the checks it guards: validators' fail calls, errors raised in every layer."""
    seen = {path.relative_to(PACKAGE).as_posix(): len(_Module(path).messages()) for path in PACKAGE.rglob("*.py")}
    assert (
        seen["spec/codebook.py"] >= 20
        and seen["spec/matrix_file.py"] + seen["spec/matrix_refs.py"] >= 40
        and seen["spec/mapping.py"] + seen["spec/mapping_choices.py"] >= 25
    )
    assert seen["compare/baseline.py"] >= 6 and seen["survey/design.py"] >= 10 and seen["spec/frame.py"] >= 8
    assert {"CodebookError", "MappingError", "MatrixError", "BaselineError", "DesignError"} <= error_names()


def test_the_scan_catches_english():
    assert _problem(["codebook ", ": file not found"]) is not None
    assert _problem(["コードブック ", ": the choice code is used twice"]) is not None  # half translated
    assert _problem(["コードブック ", " schema_version: ", "「schema_version: 1」と書く"]) is None
    assert ALLOWED.keys() <= {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")}


# ------------------------------------------------------------------------------ end to end, as a user runs it

R8_DATA = REPO / "data" / "raw" / "synthetic_r8_responses.xlsx"
R8_FRAME = REPO / "data" / "raw" / "staff_frame_r8.csv"
BASELINE_R7 = REPO / "data" / "processed" / "baseline_r7"
PACKAGED = PACKAGE / "data"


def run(*argv: str) -> tuple[int, list[str]]:
    from ppp_survey.report.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = main(list(argv))
    return status, err.getvalue().strip().splitlines()


def assert_one_japanese_line(status: int, lines: list[str], *names: str) -> str:
    assert status == 2
    last = lines[-1]
    assert last.startswith("エラー: ") and JAPANESE.search(last.removeprefix("エラー: "))
    assert not any("Traceback" in line for line in lines)
    for name in names:
        assert name in last, (name, last)
    assert _problem([last]) is None, last
    return last


def test_broken_codebook_yaml(tmp_path):
    text = (PACKAGED / "codebook_r7.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    raw["questions"][3]["choices"][2].pop("label")
    bad = tmp_path / "コードブック_壊れ.yaml"
    bad.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    status, lines = run("--data", str(BASELINE), "--frame", str(FRAME), "--codebook", str(bad), "--out", str(tmp_path))
    last = assert_one_japanese_line(status, lines, "コードブック_壊れ.yaml", "questions[3].choices[2]", "「label」")
    assert re.search(r"コードブック_壊れ\.yaml \d+行目 questions\[3\]\.choices\[2\]: ", last)
    assert str(tmp_path) not in last  # the file by its name, not the folders around it

    syntax = tmp_path / "syntax.yaml"
    syntax.write_text(text.replace("survey:\n", "survey: [\n", 1), encoding="utf-8")
    status, lines = run(
        "--data", str(BASELINE), "--frame", str(FRAME), "--codebook", str(syntax), "--out", str(tmp_path)
    )
    assert_one_japanese_line(status, lines, "syntax.yaml", "行目", "YAMLとして読めない")


def test_mapping_that_does_not_fit(tmp_path):
    raw = yaml.safe_load((PACKAGED / "mapping_r7_r8.yaml").read_text(encoding="utf-8"))
    raw["strata"] = []  # R8 renamed a 職域: the mapping must say so
    mapping = tmp_path / "対応表_r7_r8.yaml"
    mapping.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    status, lines = run(
        *("--data", str(R8_DATA), "--frame", str(R8_FRAME), "--codebook", "codebook_r8.yaml"),
        *("--compare", str(BASELINE_R7), "--mapping", str(mapping), "--out", str(tmp_path)),
    )
    last = assert_one_japanese_line(status, lines, "対応表 対応表_r7_r8.yaml ", "「企業（上下水道）」", "from:")
    assert re.search(r"対応表_r7_r8\.yaml \d+行目 strata: ", last)  # the file, the line and the key


def test_baseline_whose_files_do_not_match_the_manifest(tmp_path):
    copy = tmp_path / "基準値_R7"
    shutil.copytree(BASELINE_R7, copy)
    rates = copy / "response_rates.csv"
    assert rates.is_file()
    rates.write_bytes(rates.read_bytes() + b"\n")
    status, lines = run(
        *("--data", str(R8_DATA), "--frame", str(R8_FRAME), "--codebook", "codebook_r8.yaml"),
        *("--compare", str(copy), "--mapping", "mapping_r7_r8.yaml", "--out", str(tmp_path / "out")),
    )
    assert_one_japanese_line(status, lines, "基準値フォルダ 基準値_R7", "response_rates.csv", "SHA-256", "凍結し直す")


@pytest.mark.parametrize("what", ["folder", "manifest"])
def test_baseline_folder_missing_or_not_a_baseline(tmp_path, what):
    folder = tmp_path / "前回"
    if what == "manifest":
        folder.mkdir()
        (folder / "manifest.json").write_text('{"format": "something else"}', encoding="utf-8")
    status, lines = run(
        *("--data", str(R8_DATA), "--frame", str(R8_FRAME), "--codebook", "codebook_r8.yaml"),
        *("--compare", str(folder), "--mapping", "mapping_r7_r8.yaml", "--out", str(tmp_path / "out")),
    )
    assert_one_japanese_line(status, lines, "基準値フォルダ 前回", "--freeze-baseline")
