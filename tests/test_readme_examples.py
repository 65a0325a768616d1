"""The READMEs' Python examples run (issue 32).

Every ```python block of README.en.md and README.md is executed as written, in a fresh interpreter
whose working folder is a temporary one holding the repository's ``data/`` and ``tests/data/`` (as
links), so a block's relative paths (``data/raw/…``, ``tests/data/r-survey-api/…``) read the bundled
files and whatever it writes (``out/``) stays in the temporary folder. A block whose first line is a
comment starting ``# illustrative only:`` is not run; the comment must say why.

The apistrat example must print R's published numbers (``api.Rout.save`` of R's ``survey``, see
tests/data/r-survey-api/README.md) at R's printed precision.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from conftest import REPO

pytestmark = pytest.mark.report  # runs whole reports: left out of make quick (conftest.py)

READMES = ("README.en.md", "README.md")
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
ILLUSTRATIVE = "# illustrative only:"
# R: svymean(~api00, dstrat) 662.29 (SE 9.4089); svytotal(~enroll, dstrat, na.rm=TRUE) 3687178 (SE 114642)
R_PRINTED = ((662.29, 2), (9.4089, 4), (3687178, 0), (114642, 0))


def blocks() -> list[tuple[str, int, str]]:
    found = []
    for readme in READMES:
        text = (REPO / readme).read_text(encoding="utf-8")
        for match in BLOCK.finditer(text):
            found.append((readme, text.count("\n", 0, match.start()) + 1, match.group(1)))
    return found


def test_there_are_examples():
    assert sum(1 for readme, *_ in blocks() if readme == "README.en.md") >= 3  # paper, matrix, apistrat


@pytest.mark.parametrize(("readme", "line", "code"), blocks(), ids=[f"{r}:{n}" for r, n, _ in blocks()])
def test_readme_example_runs(readme, line, code, tmp_path):
    first = code.lstrip().splitlines()[0] if code.strip() else ""
    if first.startswith(ILLUSTRATIVE):
        reason = first[len(ILLUSTRATIVE) :].strip()
        assert len(reason) > 10, f"{readme}:{line}: say why the block is illustrative only"
        pytest.skip(f"{readme}:{line}: illustrative only: {reason}")
    (tmp_path / "data").symlink_to(REPO / "data", target_is_directory=True)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "data").symlink_to(REPO / "tests" / "data", target_is_directory=True)
    env = {**os.environ, "MPLBACKEND": "Agg", "PPP_SURVEY_ROOT": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, f"{readme}:{line}:\n{run.stderr[-3000:]}"
    if "apistrat" in code:
        printed = [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", run.stdout)]
        for value, digits in R_PRINTED:
            assert any(round(x, digits) == value for x in printed), (value, run.stdout)
