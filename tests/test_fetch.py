import hashlib
import http.server
import io
import json
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

from mtbert.data import contents
from mtbert.data.download import available, download_all, manifest_path
from mtbert.data.fetch import (ChecksumError, FetchRecord, MissingSourceError, UnsafeArchiveError, fetch, safe_extract,
                               verify)
from mtbert.data.sources import RemoteFile, resolve

DEAD_URL = "http://127.0.0.1:9/nothing-listens-here/{}"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _mirror(tmp_path: Path, rel: str, data: bytes) -> Path:
    root = tmp_path / "mirror"
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_bytes(data)
    return root


def test_mirror_copy_is_used_and_verified_by_its_checksum(tmp_path):
    mirror = _mirror(tmp_path, "x/a.txt", b"hello\n")
    rf = RemoteFile("x/a.txt", DEAD_URL.format("a.txt"), mirror_sha256=sha(b"hello\n"))
    rec = fetch(rf, tmp_path / "raw", mirror)
    verify(rf, tmp_path / "raw" / "x/a.txt", rec)
    assert rec.origin == "mirror ($MTL_MIRROR/x/a.txt)"
    assert rec.verified_by == ["sha256 (offline mirror's rebuilt copy)"]


def test_checksum_mismatch_is_refused_with_both_checksums(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"tampered")
    rf = RemoteFile("a.txt", "u", sha256=("0" * 64,))
    with pytest.raises(ChecksumError, match=rf"a\.txt: sha256 {sha(b'tampered')} matches none.*{'0' * 64}"):
        verify(rf, path, FetchRecord("a.txt", "ok"))


def test_published_file_with_unknown_checksum_is_accepted_by_its_content(tmp_path):
    # An online download of a rebuilt-in-the-mirror archive: its checksum is neither known one, its content is right.
    path = tmp_path / "trees.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("trees/train.txt", "(1 a)\n(2 b)\n")
    rf = RemoteFile("trees.zip", "u", mirror_sha256="f" * 64, check=contents.archive_lines({"trees/train.txt": 2}))
    rec = FetchRecord("trees.zip", "ok")
    verify(rf, path, rec)
    assert rec.verified_by == ["content"]


def test_wrong_content_is_refused_when_no_checksum_vouches(tmp_path):
    path = tmp_path / "trees.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("trees/train.txt", "(1 a)\n")
    rf = RemoteFile("trees.zip", "u", mirror_sha256="f" * 64, check=contents.archive_lines({"trees/train.txt": 2}))
    with pytest.raises(contents.ContentError, match="has 1 lines, expected 2"):
        verify(rf, path, FetchRecord("trees.zip", "ok"))


def test_md5_only_sources_are_checked_by_md5(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"imdb")
    rec = FetchRecord("f.bin", "ok")
    verify(RemoteFile("f.bin", "u", md5=hashlib.md5(b"imdb").hexdigest()), path, rec)
    assert rec.verified_by == ["md5 (published file)"]


def test_missing_required_file_names_file_url_and_mirror_path(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    rf = RemoteFile("cs224n/quora-train.csv", DEAD_URL.format("quora-train.csv"))
    with pytest.raises(MissingSourceError) as err:
        fetch(rf, tmp_path / "raw", mirror, timeout=2)
    text = str(err.value)
    assert "cs224n/quora-train.csv: not available" in text
    assert DEAD_URL.format("quora-train.csv") in text
    assert str(mirror / "cs224n/quora-train.csv") in text


def test_missing_optional_file_is_recorded_as_unavailable(tmp_path):
    rf = RemoteFile("q.csv", DEAD_URL.format("q.csv"), required=False)
    rec = fetch(rf, tmp_path / "raw", tmp_path, timeout=2)
    assert rec.status == "unavailable" and "$MTL_MIRROR/q.csv" in rec.tried[0]


@pytest.fixture
def http_root(tmp_path):
    """A loopback HTTP server standing in for a canonical URL."""
    root = tmp_path / "www"
    root.mkdir()
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(root), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_without_a_mirror_the_canonical_url_is_downloaded(tmp_path, http_root):
    root, base = http_root
    (root / "f.tsv").write_text("\tid\tsentence\n0\ta\tx\n")
    data = (root / "f.tsv").read_bytes()
    files = [RemoteFile("d/f.tsv", f"{base}/f.tsv", sha256=(sha(data),), check=contents.tsv_table(1, ("id", "sentence"))),
             RemoteFile("d/g.tsv", f"{base}/missing.tsv", required=False)]
    manifest = download_all(files, tmp_path / "raw", mirror=None, timeout=5)
    assert (tmp_path / "raw" / "d/f.tsv").read_bytes() == data
    assert manifest["files"][0]["origin"] == f"{base}/f.tsv"
    assert manifest["files"][0]["verified_by"] == ["sha256 (published file)", "content"]
    assert json.loads(manifest_path(tmp_path / "raw").read_text()) == manifest
    assert available(tmp_path / "raw", "d/f.tsv") and not available(tmp_path / "raw", "d/g.tsv")


def test_a_failed_download_leaves_no_half_written_directory(tmp_path):
    mirror = _mirror(tmp_path, "a.txt", b"ok")
    files = [RemoteFile("a.txt", "u", sha256=(sha(b"ok"),)), RemoteFile("b.txt", DEAD_URL.format("b"))]
    with pytest.raises(MissingSourceError):
        download_all(files, tmp_path / "raw", mirror, timeout=2)
    assert not (tmp_path / "raw").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["mirror"]


def _zip_with(name: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("ok.txt", "fine")
        zf.writestr(name, "evil")
    return buf.getvalue()


def _tar_with(member: tarfile.TarInfo, data: bytes = b"evil") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        member.size = len(data) if member.isfile() else 0
        tf.addfile(member, io.BytesIO(data) if member.isfile() else None)
    return buf.getvalue()


@pytest.mark.parametrize("kind, payload", [
    ("zip", lambda: _zip_with("../escape.txt")),
    ("zip", lambda: _zip_with("/abs/escape.txt")),
    ("tar", lambda: _tar_with(tarfile.TarInfo("../escape.txt"))),
    ("tar", lambda: _tar_with(tarfile.TarInfo("a/../../escape.txt"))),
])
def test_safe_extract_refuses_members_outside_the_target(tmp_path, kind, payload):
    archive = tmp_path / f"bad.{kind}"
    archive.write_bytes(payload())
    dest = tmp_path / "out" / "inner"
    with pytest.raises(UnsafeArchiveError, match="would be written outside"):
        safe_extract(archive, dest)
    assert not (tmp_path / "out" / "escape.txt").exists() and not list(dest.rglob("*"))


def test_safe_extract_refuses_links(tmp_path):
    link = tarfile.TarInfo("innocent")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    archive = tmp_path / "link.tar.gz"
    archive.write_bytes(_tar_with(link))
    with pytest.raises(UnsafeArchiveError, match="is a link"):
        safe_extract(archive, tmp_path / "out")


def test_safe_extract_unpacks_a_good_archive(tmp_path):
    archive = tmp_path / "good.tar.gz"
    archive.write_bytes(_tar_with(tarfile.TarInfo("dir/file.txt"), b"content"))
    assert safe_extract(archive, tmp_path / "out") == ["dir/file.txt"]
    assert (tmp_path / "out" / "dir" / "file.txt").read_bytes() == b"content"


def test_unknown_source_names_the_known_ones():
    with pytest.raises(KeyError, match=r"unknown data source\(s\) \['sst2'\]; known: \['cfimdb_cad'"):
        resolve(["sst2"], "sentence-transformers/all-MiniLM-L6-v2", "main")


def test_checkpoint_weights_check_compares_shapes_with_config(tmp_path):
    import numpy as np
    from safetensors.numpy import save_file

    (tmp_path / "config.json").write_text(json.dumps(
        {"model_type": "bert", "vocab_size": 10, "hidden_size": 4, "num_hidden_layers": 1, "num_attention_heads": 2,
         "intermediate_size": 8}))
    save_file({"bert.embeddings.word_embeddings.weight": np.zeros((10, 4), np.float32),
               "bert.encoder.layer.0.output.dense.weight": np.zeros((4, 8), np.float32)}, str(tmp_path / "model.safetensors"))
    assert contents.bert_weights(tmp_path / "model.safetensors") == "2 tensors, 1 layers"
    save_file({"embeddings.word_embeddings.weight": np.zeros((11, 4), np.float32)}, str(tmp_path / "model.safetensors"))
    with pytest.raises(contents.ContentError, match=r"shape \(11, 4\), expected \(10, 4\)"):
        contents.bert_weights(tmp_path / "model.safetensors")


def test_origins_order_is_honoured(tmp_path, http_root):
    root, base = http_root
    (root / "f.txt").write_bytes(b"from url")
    mirror = _mirror(tmp_path, "f.txt", b"from mirror")
    rf = RemoteFile("f.txt", f"{base}/f.txt")
    assert fetch(rf, tmp_path / "a", mirror, origins=("url", "mirror")).origin == f"{base}/f.txt"
    assert (tmp_path / "a" / "f.txt").read_bytes() == b"from url"
    assert fetch(rf, tmp_path / "b", mirror, origins=("mirror",)).origin.startswith("mirror")
    with pytest.raises(MissingSourceError, match="no mirror"):
        fetch(rf, tmp_path / "c", None, origins=("mirror",))
