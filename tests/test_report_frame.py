"""Safe defaults (issue 17 item 3): a real export is never weighted by the illustrative staff frame
without saying so. ``--data`` without ``--frame`` stops; the illustrative frame given explicitly
labels every output 架空データ and the run says so on screen."""

from __future__ import annotations

import shutil

import pytest

from conftest import BASELINE, FRAME, REPO
from ppp_survey.report.cli import main
from ppp_survey.report.options import build_parser, illustrative_frame, options_from_args


def options(*argv):
    return options_from_args(build_parser().parse_args(list(argv)))


@pytest.fixture
def real_named(tmp_path):
    """The bundled export under a name that does not say it is synthetic (as a real export's would)."""
    path = tmp_path / "回答_R7.xlsx"
    shutil.copyfile(BASELINE, path)
    return path


def test_data_without_frame_stops_with_one_line(real_named, tmp_path, capsys):
    assert main(["--data", str(real_named), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("エラー: --data を指定したときは")
    for part in ("--frame", "職域,職員数", "例示（架空）", "data/raw/staff_frame_r7.csv", "架空データ"):
        assert part in err
    assert not (tmp_path / "out").exists()  # refused before anything is made


def test_bare_run_keeps_the_bundled_inputs(tmp_path, monkeypatch):
    monkeypatch.setenv("PPP_SURVEY_ROOT", str(REPO))
    opts = options()
    assert opts.data == REPO / "data/raw/synthetic_r7_responses.xlsx"
    assert opts.frame == REPO / "data/raw/staff_frame_r7.csv"
    assert opts.synthetic and opts.illustrative_frame
    # --frame alone (the bundled data) is fine too
    assert options("--frame", str(FRAME)).synthetic


def test_the_bundled_frames_say_they_are_illustrative():
    for name in ("staff_frame_r7.csv", "staff_frame_r8.csv"):
        line, text = illustrative_frame(REPO / "data" / "raw" / name)
        assert line in (2, 3) and "架空" in text


def test_explicit_illustrative_frame_labels_outputs(real_named, tmp_path):
    opts = options("--data", str(real_named), "--frame", str(FRAME), "--out", str(tmp_path))
    assert opts.synthetic and opts.illustrative_frame


def test_a_real_frame_is_not_labelled(real_named, tmp_path):
    """A frame made from the bundled one: once its comment lines about 架空 are gone it is real."""
    frame = tmp_path / "職員数.csv"
    lines = FRAME.read_text(encoding="utf-8").splitlines()
    frame.write_text("\n".join(x for x in lines if not x.startswith("#")) + "\n", encoding="utf-8")
    assert illustrative_frame(frame) is None
    opts = options("--data", str(real_named), "--frame", str(frame), "--out", str(tmp_path))
    assert not opts.synthetic and not opts.illustrative_frame
    # a frame that cannot be read is left to load_frame's message
    assert illustrative_frame(tmp_path / "none.csv") is None


@pytest.mark.report
def test_run_with_the_illustrative_frame_says_so(real_named, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PPP_SURVEY_JOBS", "1")  # one process: the same files, no forking
    out = tmp_path / "out"
    assert main(["--data", str(real_named), "--frame", str(FRAME), "--out", str(out), "--no-paper"]) == 0
    err = capsys.readouterr().err
    assert "注意: 職員数フレーム staff_frame_r7.csv の職員数は例示（架空）です（3行目の注記）" in err
    assert (out / "data" / "processed" / "集計表_架空データ.xlsx").is_file()
    assert not (out / "data" / "processed" / "集計表.xlsx").exists()
    page = (out / "figures" / "2-08_政策マトリクス.html").read_text(encoding="utf-8")
    assert "架空データ" in page


@pytest.mark.report
def test_illustrative_margins_label_outputs_too(real_named, tmp_path, capsys, monkeypatch):
    """Issue 19: a real export and a real frame raked to the bundled (illustrative) margins are
    labelled 架空データ, with a notice naming the margins file; real margins are not."""
    monkeypatch.setenv("PPP_SURVEY_JOBS", "1")  # one process: the same files, no forking
    frame = tmp_path / "職員数.csv"
    lines = FRAME.read_text(encoding="utf-8").splitlines()
    frame.write_text("\n".join(x for x in lines if not x.startswith("#")) + "\n", encoding="utf-8")
    margins = REPO / "data" / "raw" / "staff_margins_r7.csv"
    assert illustrative_frame(margins) is not None
    opts = options("--data", str(real_named), "--frame", str(frame), "--margins", str(margins), "--calibrate")
    assert opts.synthetic and opts.illustrative_margins and not opts.illustrative_frame
    real = tmp_path / "周辺分布.csv"
    real.write_text(
        "\n".join(x for x in margins.read_text(encoding="utf-8").splitlines() if not x.startswith("#")) + "\n",
        encoding="utf-8",
    )
    assert not options("--data", str(real_named), "--frame", str(frame), "--margins", str(real)).synthetic
    out = tmp_path / "out"
    argv = ["--data", str(real_named), "--frame", str(frame), "--margins", str(margins), "--calibrate"]
    assert main([*argv, "--out", str(out), "--tables-only"]) == 0
    err = capsys.readouterr().err
    assert "注意: 職員数の周辺分布 staff_margins_r7.csv の職員数は例示（架空）です" in err and "--margins" in err
    assert (out / "data" / "processed" / "集計表_架空データ.xlsx").is_file()


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--bogus"], "知らないオプションや値「--bogus」"),
        (["--rake-bounds"], "--rake-bounds の後に値が1つ必要"),
        (["--marks", "nope"], "--marks の値「nope」は使えない"),
        (["--min-group", "abc"], "--min-group の値「abc」は整数ではない"),
        (["check"], "--data の指定が必要"),
    ],
)
def test_usage_errors_are_one_japanese_line(argv, said, tmp_path, capsys):
    """A mistyped option is a user error: exit 2, one Japanese line, no English usage text."""
    assert main([*argv, "--out", str(tmp_path / "out")] if argv[0] != "check" else argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("エラー: ") and err.count("\n") == 1 and said in err and "usage" not in err, err
