"""Fetch registry files from an offline mirror or their canonical URL, verify them, and unpack safely."""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from mtbert.data.sources import RemoteFile
from mtbert.io import atomic_path

MIRROR_ENV = "MTL_MIRROR"


class MissingSourceError(FileNotFoundError):
    """A required input that is neither in the mirror nor reachable at its URL."""


class ChecksumError(ValueError):
    """A file whose checksum matches neither the published file nor the mirror's copy."""


class UnsafeArchiveError(ValueError):
    """An archive member that would land outside the extraction directory."""


@dataclass
class FetchRecord:
    """What happened to one file: where it came from and how it was verified."""

    path: str
    status: str  # "ok" or "unavailable"
    origin: str = ""
    sha256: str = ""
    verified_by: list[str] = field(default_factory=list)
    content: str = ""
    extracted: list[str] = field(default_factory=list)
    tried: list[str] = field(default_factory=list)


def mirror_from_env() -> Path | None:
    value = os.environ.get(MIRROR_ENV)
    return Path(value).resolve() if value else None


def file_digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _from_url(rf: RemoteFile, dest: Path, timeout: float) -> None:
    import pooch

    downloader = pooch.HTTPDownloader(progressbar=True, timeout=timeout)
    with atomic_path(dest) as tmp:
        # pooch refuses to overwrite an existing path, so download next to the staging file
        got = pooch.retrieve(rf.url, known_hash=None, fname=tmp.name + ".dl", path=tmp.parent, downloader=downloader)
        os.replace(got, tmp)


ORIGINS = ("mirror", "url")


def _from_mirror(rf: RemoteFile, dest: Path, mirror: Path | None) -> str:
    if mirror is None:
        raise FileNotFoundError(f"no mirror (${MIRROR_ENV} unset)")
    candidate = mirror / rf.path
    if not candidate.is_file():
        raise FileNotFoundError(f"mirror path {candidate} (not there)")
    with atomic_path(dest) as tmp:
        shutil.copyfile(candidate, tmp)
    # a relative origin keeps the manifest (and so the DVC hash of data/raw) machine-independent
    return f"mirror (${MIRROR_ENV}/{rf.path})"


def fetch(rf: RemoteFile, root: Path, mirror: Path | None, timeout: float = 60.0,
          origins: tuple[str, ...] = ORIGINS) -> FetchRecord:
    """Place `rf` at `root/rf.path`, trying `origins` ("mirror", "url") in order."""
    dest = root / rf.path
    dest.parent.mkdir(parents=True, exist_ok=True)
    tried: list[str] = []
    for origin in origins:
        try:
            if origin == "mirror":
                return FetchRecord(rf.path, "ok", origin=_from_mirror(rf, dest, mirror))
            _from_url(rf, dest, timeout)
            return FetchRecord(rf.path, "ok", origin=rf.url)
        except FileNotFoundError as err:
            tried.append(str(err))
        except Exception as err:  # requests, pooch and OS errors all mean "not reachable here"
            tried.append(f"URL {rf.url} ({type(err).__name__}: {str(err)[:160]})")
    if rf.required:
        raise MissingSourceError(f"{rf.path}: not available; tried " + "; ".join(tried))
    portable = [t.replace(str(mirror), f"${MIRROR_ENV}") if mirror else t for t in tried]
    return FetchRecord(rf.path, "unavailable", tried=portable)


def verify(rf: RemoteFile, path: Path, record: FetchRecord) -> None:
    """Accept a file matching the published or the mirror checksum; otherwise its content must vouch for it."""
    sha = file_digest(path, "sha256")
    record.sha256 = sha
    if sha in rf.sha256:
        record.verified_by.append("sha256 (published file)")
    elif rf.mirror_sha256 and sha == rf.mirror_sha256:
        record.verified_by.append("sha256 (offline mirror's rebuilt copy)")
    elif rf.md5 and file_digest(path, "md5") == rf.md5:
        record.verified_by.append("md5 (published file)")
    elif rf.canonical_hash_known:
        expected = list(rf.sha256) + ([f"md5:{rf.md5}"] if rf.md5 else []) + ([rf.mirror_sha256] if rf.mirror_sha256 else [])
        raise ChecksumError(f"{path}: sha256 {sha} matches none of the accepted checksums {expected}")
    if rf.check is not None:
        record.content = rf.check(path)
        record.verified_by.append("content")
    if not record.verified_by:
        raise ChecksumError(f"{path}: no checksum or content check can vouch for this file")


def _member_target(dest: Path, name: str, archive: Path) -> Path:
    pure = PurePosixPath(name)
    target = (dest / pure).resolve()
    if pure.is_absolute() or ".." in pure.parts or not target.is_relative_to(dest.resolve()):
        raise UnsafeArchiveError(f"{archive}: member '{name}' would be written outside {dest}")
    return target


def safe_extract(archive: Path, dest: Path) -> list[str]:
    """Unpack a zip or tar into `dest`, refusing absolute paths, `..` and links; returns the file names."""
    dest.mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                _member_target(dest, info.filename, archive)
            for info in zf.infolist():
                zf.extract(info, dest)
                if not info.is_dir():
                    names.append(info.filename)
        return names
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            members = tf.getmembers()
            for m in members:
                _member_target(dest, m.name, archive)
                if m.issym() or m.islnk():
                    raise UnsafeArchiveError(f"{archive}: member '{m.name}' is a link; links are not extracted")
            tf.extractall(dest, members=members, filter="data")
            return [m.name for m in members if m.isfile()]
    raise UnsafeArchiveError(f"{archive}: neither a zip nor a tar archive")
