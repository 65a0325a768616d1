"""Shared fixtures: the repository's bundled inputs, the packaged codebook, a seeded rng."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

REPO = Path(__file__).resolve().parents[1]  # tests may locate the repo; library code may not
BASELINE = REPO / "data" / "raw" / "synthetic_r7_responses.xlsx"
FRAME = REPO / "data" / "raw" / "staff_frame_r7.csv"
SHARED = Path(os.environ.get("PPP_SURVEY_SHARED", REPO.parent / "shared"))


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
