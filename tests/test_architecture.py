"""The package's shape: layers import one way, and no module reaches into another's private names.

The layers, lowest first (README.en.md, section Layout, draws the same picture)::

    errors, constants                   base: user errors; labels and limits
    files, text, workers                safe files in and out; number and text formatting; forked work
    spec/                               data files and their schema (codebook, frame, mapping, matrix)
    ingest/, synth/                     an export in (bytes → cells → rows) / synthetic exports out
    survey/                             design, estimators, tests, tallies, rates, disclosure control
    analysis                            the orchestrator: every estimate of a run, computed once
    compare/, policy/                   wave changes / the policy matrix judged (computation only)
    outputs/                            charts, sheets, pages people read (no estimation)
    report/                             the command line and its pipeline

A module may import from a lower layer or from its own subpackage, never from a higher layer or a
sibling subpackage of the same layer (compare ↔ policy, ingest ↔ synth).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "ppp_survey"

LAYERS = {
    "errors": 0,
    "constants": 0,
    "files": 1,
    "text": 1,
    "workers": 1,
    "spec": 2,
    "ingest": 3,
    "synth": 3,
    "survey": 4,
    "analysis": 5,
    "compare": 6,
    "policy": 6,
    "outputs": 7,
    "report": 8,
}
TOP = 9  # ppp_survey/__init__.py and __main__.py: the public face, above everything


def _modules() -> dict[str, Path]:
    return {
        ".".join(p.relative_to(PACKAGE).with_suffix("").parts): p
        for p in PACKAGE.rglob("*.py")
        if "__pycache__" not in p.parts
    }


def _unit(module: str) -> str:
    """The layer unit of a module path relative to the package: its subpackage or top-level module."""
    return module.split(".")[0]


def _rank(module: str) -> int:
    unit = _unit(module)
    if unit in ("__init__", "__main__"):
        return TOP
    if unit not in LAYERS:
        raise AssertionError(f"ppp_survey/{unit}: not in a layer; add it to LAYERS and to README.en.md's Layout")
    return LAYERS[unit]


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, imported ppp_survey module relative to the package, names) for every import in the file,
    including imports inside functions."""
    return _imports_of(ast.parse(path.read_text(encoding="utf-8")))


def _imports_of(tree: ast.Module) -> list[tuple[int, str, list[str]]]:
    """:func:`_imports` of a parsed module."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "ppp_survey":
                found.append((node.lineno, "__init__", [a.name for a in node.names]))
            elif node.module.startswith("ppp_survey."):
                found.append((node.lineno, node.module.removeprefix("ppp_survey."), [a.name for a in node.names]))
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            found.append((node.lineno, "<relative>", [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("ppp_survey."):
                    found.append((node.lineno, a.name.removeprefix("ppp_survey."), []))
    return found


MODULES = _modules()


def test_every_module_is_in_a_layer():
    for module in MODULES:
        _rank(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down(module):
    here = _rank(module)
    wrong = []
    for line, target, names in _imports(MODULES[module]):
        if target == "<relative>":
            wrong.append(f"line {line}: relative import (use ppp_survey.… so the layer is visible)")
            continue
        if target == "__init__":
            if set(names) != {"__version__"}:  # the version is the one thing any layer may read from the top
                wrong.append(f"line {line}: imports {names} from the package's public face")
            continue
        if _unit(target) == _unit(module):
            continue  # within one subpackage
        if _rank(target) >= here:
            wrong.append(f"line {line}: {target} (layer {_rank(target)}) from layer {here}")
    assert not wrong, f"ppp_survey.{module} imports upward or sideways: " + "; ".join(wrong)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle of ``graph`` (module → modules it imports), each as the path that closes it."""
    found, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                found.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def _module_of(target: str) -> str | None:
    """The module an import names (``outputs.committee_pdf``; a package's ``__init__`` as its name)."""
    if target in MODULES:
        return target
    return f"{target}.__init__" if f"{target}.__init__" in MODULES else None


def _runtime_imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """:func:`_imports` without those under ``if TYPE_CHECKING:`` (annotations only, never run)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if isinstance(block, list):
                kept = [n for n in block if not (isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")]
                setattr(node, field, kept)
    return _imports_of(tree)


def test_no_module_imports_itself_back():
    """No import cycle between modules, imports inside functions included (a cycle hidden in a
    function is still two modules that cannot be read one without the other)."""
    graph = {
        module: {m for _, target, _ in _runtime_imports(path) if (m := _module_of(target)) and m != module}
        for module, path in MODULES.items()
    }
    assert not _cycles(graph), _cycles(graph)
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]  # the check can fail


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_name_crosses_a_module(module):
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    crossing = [
        f"line {line}: {target}.{name}"
        for line, target, names in _imports(path)
        for name in names
        if name.startswith("_") and not name.startswith("__")
    ]
    imported_modules = {
        a.asname or a.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ppp_survey")
        for a in node.names
        if f"{node.module}.{a.name}".removeprefix("ppp_survey.") in MODULES
    }
    crossing += [
        f"line {node.lineno}: {node.value.id}.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in imported_modules
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
    ]
    assert not crossing, f"ppp_survey.{module} uses another module's private names: " + "; ".join(crossing)


def test_the_checks_can_fail(tmp_path):
    """The two checks above catch what they are for (an upward import; a private name)."""
    bad = tmp_path / "bad.py"
    bad.write_text("from ppp_survey.report.cli import main\nfrom ppp_survey.survey.kernels import _hidden\n")
    found = _imports(bad)
    assert [(t, n) for _, t, n in found] == [("report.cli", ["main"]), ("survey.kernels", ["_hidden"])]
    assert _rank("report.cli") > _rank("survey.tables")
    assert any(n.startswith("_") for _, _, names in found for n in names)


#: What the comparison must never do itself (issue 26): pool groups, weight or rake, read inputs. A
#: wave is the report's Analysis; compare/ estimates on its weights and reads a frozen baseline.
NOT_IN_COMPARE = {
    "survey.privacy": {"protect", "with_blank_groups", "plan_pools"},
    "survey.calibration": {"rake", "Calibration"},
    "survey.raking": None,  # nothing of it
    "survey.tables": {"make_design"},
    "survey.design": {"StratifiedDesign"},
    "analysis": {"analyse"},
    "ingest.load": {"load_responses"},
    "spec.frame": {"load_frame"},
    "spec.margins": {"load_margins"},
}


def test_compare_does_not_pool_rake_or_reload():
    found = []
    for module, path in MODULES.items():
        if _unit(module) != "compare":
            continue
        for line, target, names in _imports(path):
            banned = NOT_IN_COMPARE.get(target, set())
            hits = names or [target] if banned is None else [n for n in names if n in (banned or set())]
            found += [f"{module} line {line}: {target}.{n}" for n in hits]
    assert not found, found


def test_modules_stay_small():
    """No module over ~500 lines (a few over, for a stated reason, are listed here)."""
    allowed: dict[str, int] = {}
    long = {
        m: n for m, p in MODULES.items() if (n := len(p.read_text(encoding="utf-8").splitlines())) > allowed.get(m, 520)
    }
    assert not long, long


# Rules written once: a second copy anywhere in the package is how two outputs come to disagree.
ONE_OWNER = {
    '"p < 0.001"': "text",  # the p-value text (text.p_text)
    '"higher_is_worse"': "spec.codebook",  # polarity's values (spec.codebook.Polarity)
    "scored[:2]": None,  # the top-2 box is survey.indicators.top2, never a slice of scored choices
    '"職域による事後層化"': "text",  # how estimates were weighted: text.weights_text
    "事後層化ウェイト（": "text",
    "未満は参考値（検定": "text",  # the minimum base's rule: text.reference_note, from the run's min_base
    "参考値（基数30": "text",  # text.reference_verdict(min_base) (its docstring's example), never a typed 30
    "基数30未満": "text",
}


@pytest.mark.parametrize("literal", sorted(ONE_OWNER))
def test_one_owner_per_rule(literal):
    owners = sorted(m for m, p in _modules().items() if literal in p.read_text(encoding="utf-8"))
    expected = [] if ONE_OWNER[literal] is None else [ONE_OWNER[literal]]
    assert owners == expected, f"{literal} written in {owners}; it belongs to {expected or 'no module'}"


#: The estimation layers return typed facts (a WeightsMethod, a minimum base, a mark rule, a Coverage);
#: the captions, legends and notes made from them are outputs/ (ppp_survey.outputs.captions), which
#: call the one wording of each rule in ppp_survey.text.
ESTIMATION = ("survey", "analysis", "policy")
WORDINGS = {"weights_text", "reference_note", "reference_verdict", "source_note", "ROUNDING_NOTE"}
CAPTION_NAME = re.compile(r"(?i)^_?(display_\w+|\w+_(notes?|legend|caption|label)|(\w+_)?(note|legend|caption)s?)$")
#: Names that match but are not captions: display names of data that the results' own columns carry.
NOT_CAPTIONS = {
    "survey.associations.key_label",  # a model term's name from the codebook (職位, 2-(6) 肯定的回答)
    "analysis.result.Analysis.term_labels",  # the same for every term of the association model
    "survey.indicators.MEASURE_LABEL",  # the measures' names (肯定的回答, 否定的回答, 平均点)
    "survey.rates.TOTAL_LABEL",  # the total row's group value (全体)
}
#: Notes still made in an estimation layer; each is to move to ppp_survey.outputs.captions.
NOT_YET_MOVED: set[str] = set()


def _caption_makers(module: str, tree: ast.Module) -> list[str]:
    """Functions, methods, properties and module constants of ``module`` named like a caption, legend,
    note or display table (``*_note``, ``*_legend``, ``*_label``, ``display_*``, ``DESIGN_NOTE``)."""
    found = []

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{module}.{prefix}{node.name}"
                if CAPTION_NAME.match(node.name) and name not in NOT_CAPTIONS | NOT_YET_MOVED:
                    found.append(f"line {node.lineno}: def {prefix}{node.name}")
            elif isinstance(node, ast.Assign | ast.AnnAssign) and not prefix:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if not (isinstance(target, ast.Name) and target.id.isupper() and CAPTION_NAME.match(target.id)):
                        continue
                    if f"{module}.{target.id}" not in NOT_CAPTIONS | NOT_YET_MOVED:
                        found.append(f"line {node.lineno}: {target.id}")

    visit(tree.body, "")
    return found


def _caption_text_in(module: str, source: str) -> list[str]:
    """What of ``source`` (the module ``module``) makes caption text: an import of a wording of
    ppp_survey.text or of outputs/, or a caption-like name."""
    tree = ast.parse(source)
    found = [
        f"line {line}: imports {target}.{name}"
        for line, target, names in _imports_of(tree)
        for name in names
        if (target == "text" and name in WORDINGS)
        or _unit(target) == "outputs"
        or (CAPTION_NAME.match(name) and f"{target}.{name}" not in NOT_CAPTIONS | NOT_YET_MOVED)
    ]
    return found + _caption_makers(module, tree)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _unit(m) in ESTIMATION))
def test_estimation_layers_make_no_captions(module):
    """survey/, analysis/ and policy/ return typed facts; every caption, legend and note is made in
    outputs/ from them (through ppp_survey.text's wordings), never in an estimation layer."""
    found = _caption_text_in(module, MODULES[module].read_text(encoding="utf-8"))
    assert not found, f"ppp_survey.{module} makes report text (belongs in ppp_survey.outputs.captions): {found}"


def test_the_caption_check_can_fail():
    """The check above catches what the estimation layers held before the captions moved to outputs/:
    a legend, a method note and its constant, display tables, a weights label, a source note."""
    bad = """
from ppp_survey.text import ROUNDING_NOTE, WeightsMethod, reference_note, weights_text

DESIGN_NOTE = weights_text(WeightsMethod(), "note")

def mark_legend(rule): ...
def design_note(weights): ...
def display_tally(table, item): ...
def table_notes(ct=None): ...

class Analysis:
    @property
    def weights_label(self): ...
    def source_note(self, *, synthetic): ...
    def term_labels(self): ...
    def weights(self): ...
"""
    found = _caption_text_in("analysis.result", bad)
    assert [f.split(": ", 1)[1] for f in found] == [
        "imports text.ROUNDING_NOTE",
        "imports text.reference_note",
        "imports text.weights_text",
        "DESIGN_NOTE",
        "def mark_legend",
        "def design_note",
        "def display_tally",
        "def table_notes",
        "def Analysis.weights_label",
        "def Analysis.source_note",
    ]
    assert _caption_text_in("policy.assess", "from ppp_survey.survey.tables import DESIGN_NOTE, design_note\n") == [
        "line 1: imports survey.tables.DESIGN_NOTE",
        "line 1: imports survey.tables.design_note",
    ]
    assert not _caption_text_in("survey.tables", "from ppp_survey.text import WeightsMethod, round_half_up\n")


# How each runtime dependency shows in the package's source (import name, or the name pandas /
# importlib is given): a dependency the package never uses is not a runtime dependency.
USED_AS = {
    "fonttools": "from fontTools",
    "pillow": "from PIL import",
    "pyyaml": "import yaml",
    "matplotlib-fontja": '"matplotlib_fontja"',
    "python-calamine": '"calamine"',
    "python-pptx": "from pptx",
}


def test_every_runtime_dependency_is_used():
    import re
    import tomllib

    project = tomllib.loads((PACKAGE.parents[1] / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    source = "\n".join(p.read_text(encoding="utf-8") for p in _modules().values())
    unused = []
    for requirement in project["dependencies"]:
        name = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower()
        needle = USED_AS.get(name, f"import {name}")
        if needle not in source and f"from {name}" not in source:
            unused.append(name)
    assert not unused, f"declared but never used by the package: {unused}"


def test_the_product_names_no_issue_numbers():
    """Docstrings, comments and packaged data say what the code does, not which ticket asked for it
    (the tracker keeps that history)."""
    import re

    pattern = re.compile(r"\b[Ii]ssue \d+|\(#\d+\)")
    files = [*PACKAGE.rglob("*.py"), *PACKAGE.rglob("*.yaml")]
    found = [
        f"{p.relative_to(PACKAGE)}:{i}"
        for p in files
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1)
        if pattern.search(line)
    ]
    assert not found, found


#: Exceptions defined outside ppp_survey.errors, each for a stated reason.
OWN_EXCEPTIONS = {
    "workers.WorkerDied",  # a forked process died: an internal RuntimeError, never the user's doing
}


def _exception_classes(sources: dict[str, str]) -> list[str]:
    """``module.Class`` of every class in ``sources`` (module → source) that derives from an exception:
    a built-in one, one whose name says so (``…Error``, ``…Exception``, ``…Warning``), or, through any
    number of steps, another class found here (``class MarginsError(FrameError)``)."""
    import builtins

    known = {n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)}
    classes = [
        (module, node)
        for module, source in sources.items()
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ClassDef)
    ]

    def base_name(base: ast.expr) -> str:
        return base.attr if isinstance(base, ast.Attribute) else base.id if isinstance(base, ast.Name) else ""

    def is_exception(name: str) -> bool:
        return name in known or name.endswith(("Error", "Exception", "Warning"))

    found: dict[str, str] = {}
    while True:
        new = {
            f"{module}.{node.name}": node.name
            for module, node in classes
            if any(is_exception(base_name(b)) for b in node.bases) and f"{module}.{node.name}" not in found
        }
        if not new:
            return sorted(found)
        found.update(new)
        known.update(new.values())


def test_errors_are_defined_in_one_place():
    """Every exception the package raises is defined in ppp_survey.errors (with a docstring saying
    when it is raised); the modules that raise one import it from there."""
    sources = {module: path.read_text(encoding="utf-8") for module, path in MODULES.items()}
    outside = [c for c in _exception_classes(sources) if not c.startswith("errors.") and c not in OWN_EXCEPTIONS]
    assert not outside, f"exceptions defined outside ppp_survey.errors: {outside}"
    errors = ast.parse(sources["errors"])
    undocumented = [n.name for n in errors.body if isinstance(n, ast.ClassDef) and not ast.get_docstring(n)]
    assert not undocumented, f"say when each is raised: {undocumented}"


def test_the_exception_check_can_fail():
    """The check above finds what the package held before the errors moved: an error on the package's
    base, one on a sibling error (margins on the frame's), one on a built-in, one on a class found in
    another module, and nothing that is not an exception."""
    sources = {
        "spec.mapping": "from ppp_survey.errors import PppSurveyError\nclass MappingError(PppSurveyError): ...\n",
        "spec.margins": "from ppp_survey.errors import FrameError\nclass MarginsError(FrameError): ...\n",
        "workers": "class WorkerDied(RuntimeError): ...\n",
        "report.x": "class Refused(Base): ...\nclass Plain: ...\n",
        "report.y": "class Base(KeyError): ...\n",
    }
    assert _exception_classes(sources) == [
        "report.x.Refused",
        "report.y.Base",
        "spec.mapping.MappingError",
        "spec.margins.MarginsError",
        "workers.WorkerDied",
    ]
