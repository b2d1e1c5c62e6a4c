"""One conformance kit for artifact stores, run on local folders and on S3 (moto server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopml.errors import NotFoundError, StoreError, ValidationError
from loopml.store.artifacts import ArtifactStore, FsspecArtifactStore, _fs, open_artifact_store


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path) -> ArtifactStore:
    if request.param == "local":
        return open_artifact_store(str(tmp_path / "root" / "run" / "artifacts"))
    return open_artifact_store(request.getfixturevalue("s3_root") + "/run/artifacts")


@pytest.fixture
def tree(tmp_path) -> Path:
    src = tmp_path / "src"
    (src / "sub" / "deep").mkdir(parents=True)
    (src / "a.txt").write_text("alpha")
    (src / "sub" / "b.bin").write_bytes(b"\x00\x01\x02")
    (src / "sub" / "deep" / "c.json").write_text('{"c": 3}')
    return src


def test_log_file_and_read(store, tree):
    assert store.log_file(tree / "a.txt") == "a.txt"
    assert store.log_file(tree / "a.txt", "nested/dir") == "nested/dir/a.txt"
    assert store.read_bytes("a.txt") == b"alpha"
    assert store.read_bytes("nested/dir/a.txt") == b"alpha"
    listing = store.list()
    assert [(f.path, f.is_dir, f.file_size) for f in listing] == [
        ("a.txt", False, 5),
        ("nested", True, None),
    ]
    assert [f.path for f in store.list("nested")] == ["nested/dir"]


def test_log_dir_nested_and_download(store, tree, tmp_path):
    written = store.log_dir(tree, "model")
    assert written == ["model/a.txt", "model/sub/b.bin", "model/sub/deep/c.json"]
    assert [f.path for f in store.list("model/sub")] == ["model/sub/b.bin", "model/sub/deep"]
    out = Path(store.download("model", tmp_path / "dl"))
    assert (out / "a.txt").read_text() == "alpha"
    assert (out / "sub" / "deep" / "c.json").read_text() == '{"c": 3}'
    single = Path(store.download("model/sub/b.bin", tmp_path / "one"))
    assert single.read_bytes() == b"\x00\x01\x02"


def test_write_bytes_overwrites_atomically(store):
    store.write_bytes("notes/readme.md", b"v1")
    store.write_bytes("notes/readme.md", b"v2")
    assert store.read_bytes("notes/readme.md") == b"v2"
    assert [f.path for f in store.list("notes")] == ["notes/readme.md"]


def test_delete(store, tree):
    store.log_dir(tree)
    store.delete("sub")
    assert [f.path for f in store.list()] == ["a.txt"]
    store.delete()
    assert store.list() == []


def test_bad_paths_are_refused(store, tree, tmp_path):
    for bad in ("../escape", "/abs/path", "a/../../x"):
        with pytest.raises(ValidationError, match="leaves the artifact root"):
            store.log_file(tree / "a.txt", bad)
    with pytest.raises(NotFoundError, match="does not exist"):
        store.log_file(tmp_path / "missing.txt")
    with pytest.raises(NotFoundError, match="does not exist"):
        store.read_bytes("nothing-here")
    with pytest.raises(NotFoundError):
        store.download("nothing-here", tmp_path / "x")
    assert store.list() == []


def test_failed_log_dir_leaves_nothing(store, tree, monkeypatch):
    store.write_bytes("keep.txt", b"kept")
    calls = {"n": 0}
    original = FsspecArtifactStore._put

    def flaky(self, local, relative):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise StoreError("network dropped")
        original(self, local, relative)

    monkeypatch.setattr(FsspecArtifactStore, "_put", flaky)
    with pytest.raises(StoreError, match="network dropped"):
        store.log_dir(tree, "model")
    monkeypatch.setattr(FsspecArtifactStore, "_put", original)
    assert [f.path for f in store.list()] in (["keep.txt"], ["keep.txt", "model"])
    assert store.list("model") == [] or all(f.is_dir for f in store.list("model"))
    found = []
    for entry in store.list("model"):
        found += store.list(entry.path)
    assert not [f for f in found if not f.is_dir]


def test_local_temp_files_are_hidden(tmp_path):
    root = tmp_path / "r"
    store = open_artifact_store(str(root))
    store.write_bytes("x.txt", b"1")
    (root / f"{_fs.TMP_PREFIX}abc-x.txt").write_bytes(b"partial")
    assert [f.path for f in store.list()] == ["x.txt"]


def test_missing_s3_extra_names_the_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_s3fs(name, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name == "s3fs":
            raise ImportError("no s3fs")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_s3fs)
    with pytest.raises(StoreError, match=r"pip install 'loopml\[s3\]'"):
        open_artifact_store("s3://bucket/x")
