"""`make download` with the kaggle client replaced by a fake: success paths and each failure's one line."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

from solution.core.errors import UserError
from solution.core.kaggle_cli import KaggleCli, credentials_source
from solution.data import download
from tests import fake_kaggle
from tests.conftest import run_cli


@pytest.fixture
def fake(tmp_path, monkeypatch, sample_dir):
    """A fake kaggle on $KAGGLE_CLI serving the sample, and credentials in a temporary home."""
    log = tmp_path / "calls.jsonl"
    home = tmp_path / "home"
    (home / ".kaggle").mkdir(parents=True)
    (home / ".kaggle" / "kaggle.json").write_text('{"username": "me", "key": "secret"}')
    (home / ".kaggle" / "kaggle.json").chmod(0o600)  # as README says: others cannot read it
    for name in ("KAGGLE_API_TOKEN", "KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_CONFIG_DIR", "KAGGLE_KERNEL_RUN_TYPE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KAGGLE_CLI", str(fake_kaggle.install(tmp_path / "bin")))
    monkeypatch.setenv("FAKE_KAGGLE_LOG", str(log))
    monkeypatch.setenv("FAKE_KAGGLE_DATA", str(sample_dir))
    return log


def test_slug_source_downloads_csvs_and_images_into_the_layout(fake, tmp_path):
    target = tmp_path / "competition"
    steps = download.download(target, images="someone/skillbox-faces")
    assert (target / "train.csv").is_file() and (target / "sample_submission.csv").is_file()
    assert (target / "train" / "anger" / "0.jpg").is_file() and (target / "test_kaggle" / "0.jpg").is_file()
    assert [call[:2] for call in fake_kaggle.calls(fake)] == [["competitions", "download"], ["datasets", "download"]]
    assert fake_kaggle.calls(fake)[0][:3] == ["competitions", "download", "-c"]
    assert fake_kaggle.calls(fake)[0][3] == "skillbox-computer-vision-project"
    assert fake_kaggle.calls(fake)[1][3] == "someone/skillbox-faces"
    assert len(steps) == 2
    assert not list(target.glob(".extract-*")) and not list(target.glob("tmp*"))


def test_a_rerun_downloads_nothing_again(fake, tmp_path):
    target = tmp_path / "competition"
    download.download(target, images="someone/skillbox-faces")
    before = len(fake_kaggle.calls(fake))
    steps = download.download(target, images="someone/skillbox-faces")
    assert len(fake_kaggle.calls(fake)) == before
    assert all("already" in step for step in steps)


def test_local_zip_and_local_folder_sources(fake, tmp_path, sample_dir):
    archive = tmp_path / "images.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in sample_dir.rglob("*.jpg"):
            bundle.write(path, f"nested/deeper/{path.relative_to(sample_dir).as_posix()}")
    from_zip = tmp_path / "a"
    download.download(from_zip, images=str(archive))
    assert len(list((from_zip / "test_kaggle").glob("*.jpg"))) == len(list((sample_dir / "test_kaggle").glob("*.jpg")))
    from_folder = tmp_path / "b"
    download.download(from_folder, images=str(sample_dir))
    assert (from_folder / "train" / "sad" / "3.jpg").read_bytes() == (sample_dir / "train" / "sad" / "3.jpg").read_bytes()


def test_no_credentials_is_one_line_naming_the_fix(fake, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "nobody"))
    assert credentials_source() is None
    with pytest.raises(UserError, match=r"kaggle\.json.*KAGGLE_API_TOKEN"):
        download.download(tmp_path / "c", images="someone/faces")
    assert fake_kaggle.calls(fake) == []


@pytest.mark.parametrize(
    ("server_says", "expected"),
    [
        ("403 Client Error: Forbidden for url", "accept the competition rules"),
        ("ConnectionError: Max retries exceeded with url (NameResolutionError)", "no network"),
        ("401 - Unauthorized", "rejected the credentials"),
    ],
)
def test_server_failures_become_one_clear_line(fake, tmp_path, monkeypatch, server_says, expected):
    monkeypatch.setenv("FAKE_KAGGLE_FAIL", server_says)
    with pytest.raises(UserError, match=expected) as error:
        download.download(tmp_path / "c", images="someone/faces")
    assert "\n" not in str(error.value)


def test_a_corrupt_archive_is_named_with_the_fix(fake, tmp_path):
    archive = tmp_path / "broken.zip"
    archive.write_bytes(b"PK\x03\x04 this is not really a zip")
    target = tmp_path / "c"
    with pytest.raises(UserError, match=r"broken\.zip: archive is corrupt.*make download"):
        download.download(target, images=str(archive))
    assert (target / "train.csv").is_file(), "finished work (the CSVs) must survive a failed image step"


def test_missing_image_source_says_how_to_pass_one(fake, tmp_path):
    with pytest.raises(UserError, match="IMAGES="):
        download.download(tmp_path / "c", images=None)


def test_the_cli_prints_one_line_and_exits_2(fake, tmp_path):
    finished = run_cli("download", "--out", str(tmp_path / "c"), "--images", "not a source")
    assert finished.returncode == 2
    assert finished.stderr.strip().count("\n") == 0 and finished.stderr.startswith("error: ")
    assert "Traceback" not in finished.stderr


def test_missing_kaggle_executable_says_run_setup(tmp_path, monkeypatch):
    monkeypatch.setenv("KAGGLE_USERNAME", "me")
    monkeypatch.setenv("KAGGLE_KEY", "k")
    with pytest.raises(UserError, match="make setup"):
        KaggleCli(executable=str(tmp_path / "no-such-kaggle")).run("competitions", "list")


def test_the_real_client_is_the_default_and_is_installed(monkeypatch):
    monkeypatch.delenv("KAGGLE_CLI", raising=False)
    # requirements.txt installs the CLI beside the interpreter, and that one is used even when
    # .venv/bin is not on PATH (make runs .venv/bin/python).
    assert (Path(sys.executable).parent / "kaggle").is_file()
    assert KaggleCli().executable == str(Path(sys.executable).parent / "kaggle")


def _zip_with(path: Path, entries: dict[str, bytes], link: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, content in entries.items():
            bundle.writestr(name, content)
        if link:
            info = zipfile.ZipInfo(link)
            info.external_attr = 0o120777 << 16  # a symbolic link entry
            bundle.writestr(info, "/etc")
    return path


@pytest.mark.parametrize(
    ("entries", "link", "expected"),
    [
        ({"../../train/happy/1.jpg": b"x", "test_kaggle/1.jpg": b"x"}, None, "leads outside"),
        ({"/abs/train/happy/1.jpg": b"x", "/abs/test_kaggle/1.jpg": b"x"}, None, "leads outside"),
        ({"train/happy/1.jpg": b"x", "test_kaggle/1.jpg": b"x"}, "train/happy/evil", "symbolic link"),
        ({"train/happy/1.jpg": bytes(8 * 2**20), "test_kaggle/1.jpg": b"x"}, None, "zip bomb"),
    ],
)
def test_a_hostile_archive_is_refused_and_moves_nothing_of_the_users(fake, tmp_path, entries, link, expected):
    """Entries that lead out, links and bombs are refused in one line; the user's own folders beside the target stay."""
    own = tmp_path / "work"
    for folder in ("train", "test_kaggle"):
        (own / folder).mkdir(parents=True)
        (own / folder / "mine.jpg").write_bytes(b"mine")
    target = own / "inputs" / "competition"
    archive = _zip_with(tmp_path / "hostile.zip", entries, link)
    with pytest.raises(UserError, match=rf"hostile\.zip: refused: .*{expected}") as caught:
        download.download(target, images=str(archive))
    assert "\n" not in str(caught.value)
    assert all((own / folder / "mine.jpg").read_bytes() == b"mine" for folder in ("train", "test_kaggle"))
    assert not (target / "train").exists() and not list(target.glob(".extract-*")), "nothing extracted, no staging left"
