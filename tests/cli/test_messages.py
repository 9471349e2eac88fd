"""Messages that name what the user gave and say the right fix for what actually happened."""

from __future__ import annotations

import errno
import zipfile

import pytest

from solution.cli import build_parser, main
from solution.core.errors import DISK_ADVICE, UserError, disk_refusal, one_line
from solution.data import download
from tests.ensembling.test_ensemble import N, _confident, _write_run


def test_each_refusal_of_the_disk_gets_its_own_fix():
    lines = {code: disk_refusal("out/x.csv", OSError(code, "said")) for code in DISK_ADVICE}
    assert len({line.split("; ", 1)[1] for line in lines.values()}) >= 6, "one piece of advice for every errno"
    assert "free some space" in lines[errno.ENOSPC] and "free some space" not in lines[errno.EROFS]
    assert "read-only" in lines[errno.EROFS] and "a file stands where a folder" in lines[errno.ENOTDIR]
    assert "a folder stands where that file" in lines[errno.EISDIR] and "permissions" in lines[errno.EACCES]
    assert all(line.startswith("out/x.csv: cannot write it (said)") for line in lines.values())


def test_a_user_error_is_one_line_whatever_it_quotes():
    assert str(UserError("a.yaml: key 'x\ny' is bad\r")) == "a.yaml: key 'x\\ny' is bad\\r"
    assert one_line("tab\there") == "tab\\there"


def test_a_full_disk_during_download_names_the_data_folder(tmp_path, sample_dir, monkeypatch):
    archive = tmp_path / "images.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in list(sample_dir.rglob("*.jpg"))[:20]:
            bundle.write(path, path.relative_to(sample_dir).as_posix())

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")  # as zipfile's write says it: no file name

    monkeypatch.setattr(zipfile.ZipFile, "extract", full)
    target = tmp_path / "competition"
    (target).mkdir()
    (target / "train.csv").write_text("image_path,emotion\n")
    (target / "sample_submission.csv").write_text("image_path,emotion\n")
    with pytest.raises(UserError) as caught:
        download.download(target, images=str(archive))
    assert str(caught.value).startswith(f"{target}: cannot write it (No space left on device); free some space")


def test_video_out_naming_a_folder_says_so(tmp_path):
    from solution.demo.demo_app import annotate_video

    video = tmp_path / "clip.mp4"
    video.write_bytes(b"")
    (tmp_path / "out").mkdir()
    with pytest.raises(UserError, match=r"out: is a folder; pass --out a file name, e\.g\. --out .*out/annotated\.mp4") as caught:
        annotate_video(None, video, tmp_path / "out", tmp_path / "faces.csv")
    assert ".tmp" not in str(caught.value) and "/." not in str(caught.value), "no hidden temporary file named"


@pytest.mark.parametrize("value", ["nan", "-5", "0", "inf", "fast"])
def test_a_budget_that_is_no_budget_is_refused_by_the_parser(value, capsys):
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(["ensemble", "--name", "b", "--budget-ms", value])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "not a positive number of milliseconds" in err and "raise --budget-ms" not in err


@pytest.fixture
def two_runs(tmp_path, monkeypatch):
    import numpy as np

    truth = np.random.default_rng(5).integers(0, 9, N)
    rng = np.random.default_rng(6)
    for k in range(2):
        _write_run(tmp_path / "runs", f"net{k}", truth, _confident(truth, np.arange(N) % 2 != k, rng), 30.0)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_export_of_a_fold_the_run_lacks_names_its_folds(two_runs, capsys):
    assert main(["export", "--run", "runs/net0", "--fold", "7", "--out", "model"]) == 2
    err = capsys.readouterr().err
    assert "--fold 7: runs/net0 has folds 0, 1, 2, 3, 4; pass one of them" in err and "finish the run" not in err


def test_ensemble_says_which_latency_reading_it_priced_and_refuses_one_the_runs_lack(two_runs, capsys):
    assert main(["ensemble", "--runs", "runs", "--name", "pair", "--out", "ensembles", "--method", "mean"]) == 0
    assert "ms/image on the CPU (budget 330)" in capsys.readouterr().out
    assert main(["ensemble", "--runs", "runs", "--name", "pair", "--out", "ensembles", "--latency-on", "gpu"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: runs/net0: no one-GPU latency reading") and err.count("\n") == 1, err


def test_a_remade_recipe_says_what_it_is_never_nan(two_runs, capsys):
    assert main(["ensemble", "--runs", "runs", "--name", "pair", "--out", "ensembles", "--method", "mean"]) == 0
    first = capsys.readouterr().out
    assert "cross-validated 0." in first
    for _ in range(2):  # a recipe, then the recipe that re-making wrote
        assert main(["ensemble", "--recipe", "ensembles/pair.yaml", "--out", "ensembles"]) == 0
        out = capsys.readouterr().out
        assert "nan" not in out and "cross-validated 0." in out, out


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["ensemble", "--runs", "runs", "--name", "pair", "--out", "ensembles"], "nothing was half-written"),
        (["export", "--runs", "runs", "--out", "model"], "nothing was half-written"),
        (["train", "--data", "data", "--backbone", "convlstm", "--runs", "runs"], "finished folds are saved"),
    ],
)
def test_ctrl_c_says_what_this_command_leaves(two_runs, monkeypatch, capsys, argv, said):
    import solution.cli as cli

    def interrupted(args):
        raise KeyboardInterrupt

    parser = cli.build_parser()
    real = parser.parse_args

    def parse(argv=None):
        args = real(argv)
        args.handler = interrupted
        return args

    monkeypatch.setattr(parser, "parse_args", parse)
    monkeypatch.setattr(cli, "build_parser", lambda *given: parser)
    assert main(argv) == 130
    err = capsys.readouterr().err
    assert said in err and (said == "finished folds are saved") == ("resume" in err)


def test_a_writer_that_only_says_no_still_gets_the_disks_reason(tmp_path):
    from solution.core import atomic

    (tmp_path / "a-file").write_text("a file, not a folder")
    refusal = atomic.refusal_at(tmp_path / "a-file" / "clip.mp4")
    assert refusal is not None and str(refusal).startswith(f"{tmp_path / 'a-file' / 'clip.mp4'}: cannot write it")
    assert "a file stands where a folder" in str(refusal)
    assert atomic.refusal_at(tmp_path / "fine" / "clip.mp4") is None and not list((tmp_path / "fine").iterdir())


def test_video_that_opencv_cannot_write_names_the_users_file_not_a_temporary_one(tmp_path, monkeypatch):
    import cv2

    from solution.demo import demo_app
    from solution.standins.media import write_moving_face_video

    video = write_moving_face_video(tmp_path / "clip.mp4", 4)

    class Refusing:
        def __init__(self, *args):
            pass

        def isOpened(self):  # noqa: N802 (OpenCV's name)
            return False

    monkeypatch.setattr(cv2, "VideoWriter", Refusing)
    out = tmp_path / "annotated.mp4"
    with pytest.raises(UserError) as caught:
        demo_app.annotate_video(None, video, out, tmp_path / "faces.csv", progress=False)
    assert str(caught.value).startswith(f"{out}: OpenCV cannot write") and "/." not in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"], "no temporary file left"


def test_a_listing_whose_reader_stopped_reading_ends_quietly():
    """`python -m solution plan | head`: once head exits, every write fails (EPIPE); that is no error of the kit's."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line
    try:
        done = subprocess.run(
            [sys.executable, "-m", "solution", "plan"], cwd=REPO, stdout=write_end, stderr=subprocess.PIPE, text=True, check=False
        )
    finally:
        os.close(write_end)
    assert done.returncode == 0 and "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
