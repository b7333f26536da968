"""routellm_py._util: atomic writes, hashing, the text-hash uniform and the cache root."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from routellm_py._util import (
    CACHE_ENV,
    atomic_path,
    atomic_write,
    cache_root,
    json_object,
    sha256_file,
    text_uniform,
)


def test_atomic_write_text_and_bytes_leave_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    atomic_write(target, "héllo\n")
    assert target.read_bytes() == "héllo\n".encode()
    atomic_write(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_atomic_path_keeps_the_old_file_when_the_writer_fails(tmp_path: Path) -> None:
    target = tmp_path / "state.npz"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="disk full"), atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.endswith(".tmp")
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.npz"]


def test_atomic_path_replaces_a_directory_and_cleans_a_failed_one(tmp_path: Path) -> None:
    target = tmp_path / "model"
    with atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "config.json").write_text("{}")
    assert (target / "config.json").read_text() == "{}"
    with pytest.raises(OSError), atomic_path(tmp_path / "other") as tmp:
        tmp.mkdir()
        (tmp / "x").write_text("x")
        raise OSError("interrupted")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_sha256_file_matches_hashlib_across_chunks(tmp_path: Path) -> None:
    data = bytes(range(256)) * 1000
    f = tmp_path / "blob"
    f.write_bytes(data)
    assert sha256_file(f, chunk=1000) == hashlib.sha256(data).hexdigest()
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert sha256_file(empty) == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


def test_text_uniform_is_the_first_eight_digest_bytes_over_two_to_the_64() -> None:
    digest = hashlib.sha256(b"7\x00what is 2+2?").digest()
    assert text_uniform("what is 2+2?", 7) == int.from_bytes(digest[:8], "little") / 2.0**64
    draws = [text_uniform(f"prompt {i}", 0) for i in range(2000)]
    assert all(0.0 <= u < 1.0 for u in draws)
    assert abs(sum(draws) / len(draws) - 0.5) < 0.03  # uniform: mean 1/2, sd 0.0065
    assert text_uniform("a", 0) != text_uniform("a", 1)


def test_cache_root_follows_the_environment(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    assert cache_root() == tmp_path
    monkeypatch.delenv(CACHE_ENV)
    assert cache_root() == Path.home() / ".cache" / "routellm_py"


def test_json_object_names_the_place_and_the_problem() -> None:
    assert json_object('{"a": 1}', "cfg.json") == {"a": 1}
    assert json_object(b'{"b": [2]}', "cfg.json") == {"b": [2]}
    with pytest.raises(ValueError, match=r"^cfg.json: not valid JSON \(Expecting"):
        json_object("{nope", "cfg.json")
    with pytest.raises(KeyError, match=r"f.jsonl: line 3: expected a JSON object, got \[1, 2\]"):
        json_object("[1, 2]", "f.jsonl: line 3", KeyError)
    with pytest.raises(ValueError, match="not valid JSON"):
        json_object(b"\xff\xfe", "bin")
