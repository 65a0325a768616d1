"""Shared fixtures: the repository's bundled inputs, the packaged codebook, a seeded rng."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from hypothesis import settings

matplotlib.use("Agg")

REPO = Path(__file__).resolve().parents[1]  # tests may locate the repo; library code may not
BASELINE = REPO / "data" / "raw" / "synthetic_r7_responses.xlsx"
FRAME = REPO / "data" / "raw" / "staff_frame_r7.csv"

# Property-based tests: CI (CI=true) replays the same derandomised examples on every run, so a
# submission never lands or fails by luck; a developer's run explores new examples (and keeps the
# ones that failed in .hypothesis/). A failure found locally becomes a plain regression test.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture
def rng():
    return np.random.default_rng(20250718)


@pytest.fixture(scope="session")
def codebook():
    from ppp_survey import load_codebook

    return load_codebook()


@pytest.fixture(scope="session")
def frame(codebook):
    from ppp_survey import load_frame

    return load_frame(FRAME, codebook)


@pytest.fixture(scope="session")
def baseline(codebook):
    """The bundled synthetic baseline, loaded once per test session."""
    from ppp_survey import load_responses

    return load_responses(BASELINE, codebook)


@pytest.fixture(scope="session")
def synthetic(codebook):
    from ppp_survey import generate

    return generate(codebook)
