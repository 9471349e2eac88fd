"""`make download`: the competition's CSVs through the kaggle client, the images from a configurable source.

The competition itself ships only train.csv and sample_submission.csv; the images come
from a Kaggle dataset slug (`owner/name`), a local zip or a local folder. Everything is
unpacked into the competition layout (train/<emotion>/, test_kaggle/, the two CSVs); a re-run skips what is already complete.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from pathlib import Path

from solution.core import atomic
from solution.core.config import COMPETITION
from solution.core.errors import DISK_ERRNOS, UserError
from solution.core.kaggle_cli import KaggleCli
from solution.data.dataset import SUBMISSION_CSV, TEST_DIR, TRAIN_CSV, TRAIN_DIR
from solution.data.images import IMAGE_SUFFIXES

COMPLETE_MARKER = ".download-complete"
DATASET_SLUG = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")


def _has_images(folder: Path) -> bool:
    return folder.is_dir() and any(p.suffix.lower() in IMAGE_SUFFIXES for p in folder.rglob("*"))


def images_complete(data_dir: Path) -> bool:
    return _has_images(data_dir / TRAIN_DIR) and _has_images(data_dir / TEST_DIR)


def csvs_complete(data_dir: Path) -> bool:
    return all((data_dir / name).is_file() for name in COMPETITION.own_files)


def _open_zip(archive: Path) -> zipfile.ZipFile:
    fix = f"delete {archive} and run `make download` again"
    try:
        bundle = zipfile.ZipFile(archive)
        broken = bundle.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise UserError(f"{archive}: archive is corrupt ({error}); {fix}") from None
    if broken is not None:
        raise UserError(f"{archive}: archive is corrupt (bad CRC in {broken}); {fix}")
    return bundle


# An archive is someone else's file: its entries may name paths outside the target (absolute, "..", links) or expand
# far beyond their size (a zip bomb). Image archives barely compress (JPEGs are compressed already).
MAX_ARCHIVE_BYTES = 64 * 2**30  # uncompressed, in all: the competition's images are a few GB
MAX_COMPRESSION_RATIO = 100  # uncompressed / compressed over the archive


def check_archive(bundle: zipfile.ZipFile, archive: Path) -> None:
    """Refuse an archive with an entry that leads outside the folder it is extracted into, a link, or a total
    size or compression ratio no image archive has; one line naming the entry."""
    total = packed = 0
    for info in bundle.infolist():
        name = info.filename
        parts = Path(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts:
            raise UserError(f"{archive}: refused: entry {name!r} leads outside the folder it unpacks into; use plain relative paths")
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            raise UserError(f"{archive}: refused: entry {name!r} is a symbolic link; use an archive of plain files")
        total += info.file_size
        packed += info.compress_size
    if total > MAX_ARCHIVE_BYTES or total > MAX_COMPRESSION_RATIO * max(packed, 1) and total > 2**20:
        raise UserError(
            f"{archive}: refused: it unpacks to {total / 2**20:,.0f} MB from {packed / 2**20:,.1f} MB (a zip bomb?); "
            f"image archives stay under {MAX_ARCHIVE_BYTES // 2**30} GB and {MAX_COMPRESSION_RATIO}x"
        )


def _root_of(names: list[str], entry: str) -> str | None:
    """The prefix under which file or folder `entry` sits in an archive ('data/' for 'data/train/...')."""
    for name in names:
        if name == entry or name.endswith("/" + entry):
            return name[: len(name) - len(entry)]
        padded = "/" + name
        marker = "/" + entry + "/"
        if marker in padded:
            return padded[1 : padded.index(marker) + 1]
    return None


def _extract(archive: Path, data_dir: Path, wanted: tuple[str, ...]) -> list[str]:
    """Extract the `wanted` entries (folders or files, wherever they sit) into data_dir; return those found."""
    with _open_zip(archive) as bundle:
        check_archive(bundle, archive)
        names = [info.filename for info in bundle.infolist() if not info.is_dir()]
        found = []
        staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=data_dir))
        try:
            for entry in wanted:
                root = _root_of(names, entry)
                if root is None:
                    continue
                inside = root + entry
                for name in names:
                    if name == inside or name.startswith(inside + "/"):
                        bundle.extract(name, staging)
                target = data_dir / entry
                if target.is_dir():
                    shutil.rmtree(target)
                (staging / inside).replace(target)
                found.append(entry)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return found


def _copy_folder(source: Path, data_dir: Path) -> None:
    for entry in (TRAIN_DIR, TEST_DIR, TRAIN_CSV, SUBMISSION_CSV):
        origin = next((p for p in [source / entry, *source.glob(f"*/{entry}")] if p.exists()), None)
        target = data_dir / entry
        if origin is None or target.exists():
            continue
        staging = data_dir / f".{entry}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(origin, staging) if origin.is_dir() else shutil.copy2(origin, staging)
        staging.rename(target)


def _fetch_images(source: str, data_dir: Path, cli: KaggleCli) -> None:
    local = Path(source).expanduser()
    if local.is_dir():
        _copy_folder(local, data_dir)
    elif local.is_file():
        _extract(local, data_dir, (TRAIN_DIR, TEST_DIR))
    elif DATASET_SLUG.match(source):
        with tempfile.TemporaryDirectory(dir=data_dir) as tmp:
            cli.run("datasets", "download", "-d", source, "-p", tmp, "--quiet")
            archives = sorted(Path(tmp).glob("*.zip"))
            if not archives:
                raise UserError(f"kaggle datasets download -d {source}: no zip came back; check the dataset name")
            _extract(archives[0], data_dir, (TRAIN_DIR, TEST_DIR))
    else:
        raise UserError(f"--images {source}: not a folder, a zip file or a Kaggle dataset slug (owner/name)")
    if not images_complete(data_dir):
        raise UserError(f"--images {source}: no {TRAIN_DIR}/ and {TEST_DIR}/ image folders inside; check the source")


def download(data_dir: Path, images: str | None = None, cli: KaggleCli | None = None) -> list[str]:
    """Bring the competition data into `data_dir`; return one line per step, saying what was done. A disk that
    refuses a file deep in an archive's extraction is one line naming `data_dir`, the folder the user chose."""
    try:
        return _download(Path(data_dir), images, cli)
    except OSError as error:
        if error.errno in DISK_ERRNOS:
            raise atomic.unwritable(Path(data_dir), error) from None
        raise


def _download(data_dir: Path, images: str | None, cli: KaggleCli | None) -> list[str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    cli = cli or KaggleCli()
    steps = []
    if csvs_complete(data_dir):
        steps.append(f"competition files: already in {data_dir}")
    else:
        with tempfile.TemporaryDirectory(dir=data_dir) as tmp:
            cli.run("competitions", "download", "-c", COMPETITION.slug, "-p", tmp, "--quiet")
            archives = sorted(Path(tmp).glob("*.zip"))
            if archives:
                _extract(archives[0], data_dir, (*COMPETITION.own_files, TRAIN_DIR, TEST_DIR))
            for loose in Path(tmp).glob("*.csv"):
                shutil.move(str(loose), data_dir / loose.name)
        if not csvs_complete(data_dir):
            raise UserError(
                f"kaggle competitions download -c {COMPETITION.slug}: train.csv or sample_submission.csv missing in what came back"
            )
        steps.append(f"competition files: downloaded to {data_dir}")
    if images_complete(data_dir):
        steps.append(f"images: already in {data_dir}")
    elif images is None:
        raise UserError(
            "the competition files hold no images: pass their source, `make download IMAGES=owner/dataset` "
            "(a Kaggle dataset), IMAGES=path/to/images.zip or IMAGES=path/to/folder"
        )
    else:
        _fetch_images(images, data_dir, cli)
        steps.append(f"images: from {images} into {data_dir}")
    atomic.write_text(data_dir / COMPLETE_MARKER, f"images: {images or 'competition archive'}\n")
    return steps
