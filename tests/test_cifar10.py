"""Tests of the CIFAR-10 loader on tiny files written in the official format (pickled batch dicts)."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch

import astroglia.datasets.cifar10 as c10
from astroglia.datasets import (
    CIFAR10_CLASS_NAMES,
    cifar10_available,
    find_cifar10,
    load_cifar10,
    load_dataset,
    to_tensors,
)
from astroglia.errors import DataError

N_TRAIN_BATCH = 4  # images per tiny training batch
N_TEST = 3


def _batch(seed: int, n: int) -> dict[bytes, object]:
    rng = np.random.default_rng(seed)
    return {
        b"batch_label": f"batch {seed}".encode(),
        b"labels": [int(v) for v in rng.integers(0, 10, size=n)],
        b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
        b"filenames": [f"img_{seed}_{i}.png".encode() for i in range(n)],
    }


def _meta() -> dict[bytes, object]:
    return {
        b"num_cases_per_batch": 10000,
        b"label_names": [name.encode() for name in CIFAR10_CLASS_NAMES],
        b"num_vis": 3072,
    }


def _write(path: Path, obj: object, protocol: int = 2) -> None:
    path.write_bytes(pickle.dumps(obj, protocol=protocol))


def _make_batches(directory: Path, *, n_train: int = N_TRAIN_BATCH, n_test: int = N_TEST) -> dict[str, dict]:
    """Write the six tiny batches and batches.meta into ``directory``; return the dicts written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for i, name in enumerate(c10.TRAIN_FILES, start=1):
        written[name] = _batch(i, n_train)
        # the official files were written by Python 2 (protocol 2); write one with the current default too
        _write(directory / name, written[name], protocol=2 if i % 2 else pickle.DEFAULT_PROTOCOL)
    written["test_batch"] = _batch(99, n_test)
    _write(directory / "test_batch", written["test_batch"])
    _write(directory / "batches.meta", _meta())
    return written


def _make_archive(batches_dir: Path, archive: Path) -> None:
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(batches_dir, arcname=c10.BATCHES_DIR)


@pytest.fixture
def nowhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No CIFAR-10 in any default place, and no network: any download attempt fails at once."""
    monkeypatch.delenv(c10.ENV_DIR, raising=False)
    cache_root = tmp_path / "cache-root"
    monkeypatch.setenv(c10.ENV_CACHE, str(cache_root))

    def offline(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(c10.urllib.request, "urlopen", offline)
    return cache_root / "cifar-10"


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[Path, dict[str, dict]]:
    batches = tmp_path / "data" / c10.BATCHES_DIR
    return batches, _make_batches(batches)


def test_reads_tiny_batches_with_exact_pixel_layout(nowhere: Path, tiny: tuple[Path, dict]) -> None:
    batches, written = tiny
    ds = load_cifar10(batches, verify=False)
    assert ds.name == "cifar-10" and ds.source == "full"
    assert ds.x_train.shape == (5 * N_TRAIN_BATCH, 32, 32, 3) and ds.x_train.dtype == np.uint8
    assert ds.x_test.shape == (N_TEST, 32, 32, 3)
    assert ds.y_train.dtype == np.int64 and ds.y_train.shape == (20,)
    assert ds.class_names == CIFAR10_CLASS_NAMES and ds.n_classes == 10 and ds.n_channels == 3
    assert ds.image_shape == (32, 32)
    # labels in batch order 1..5
    expected_labels = sum((written[name][b"labels"] for name in c10.TRAIN_FILES), [])
    assert ds.y_train.tolist() == expected_labels
    assert ds.y_test.tolist() == written["test_batch"][b"labels"]
    # row layout: 1024 red, then green, then blue, each row-major over 32 x 32
    row = written["data_batch_2"][b"data"][1]
    image = ds.x_train[N_TRAIN_BATCH + 1]
    for r, c, ch in [(0, 0, 0), (0, 1, 0), (1, 0, 0), (31, 31, 2), (5, 17, 1)]:
        assert image[r, c, ch] == row[ch * 1024 + r * 32 + c]
    assert "not the official size" in ds.train_split
    assert ds.origin == str(batches)


def test_to_tensors_gives_nchw(nowhere: Path, tiny: tuple[Path, dict]) -> None:
    batches, written = tiny
    ds = load_cifar10(batches, verify=False)
    x_train, y_train, x_test, y_test = to_tensors(ds, dtype=torch.float64)
    assert x_train.shape == (20, 3, 32, 32) and x_test.shape == (N_TEST, 3, 32, 32)
    assert x_train.is_contiguous()
    raw = written["data_batch_1"][b"data"].reshape(-1, 3, 32, 32) / 255.0
    np.testing.assert_array_equal(x_train[:N_TRAIN_BATCH].numpy(), raw)
    assert y_train.dtype == torch.int64 and y_test.tolist() == written["test_batch"][b"labels"]
    assert ds.metadata()["n_channels"] == 3


def test_parent_folder_archive_and_env_var(
    nowhere: Path, tiny: tuple[Path, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches, _ = tiny
    reference = load_cifar10(batches, verify=False)
    # a folder holding cifar-10-batches-py
    assert find_cifar10(batches.parent) == batches
    # an archive, given as a file or as the folder holding it
    archive_dir = tmp_path / "archive"
    archive_dir.mkdir()
    archive = archive_dir / c10.ARCHIVE_NAME
    _make_archive(batches, archive)
    for place in (archive, archive_dir):
        ds = load_cifar10(place, verify=False)
        np.testing.assert_array_equal(ds.x_train, reference.x_train)
        np.testing.assert_array_equal(ds.y_test, reference.y_test)
        assert ds.origin == str(archive)
    # the environment variable is used when no data_dir is given
    assert not cifar10_available()
    monkeypatch.setenv(c10.ENV_DIR, str(archive))
    assert cifar10_available()
    assert load_cifar10(verify=False).origin == str(archive)


def test_cache_dir_is_searched(nowhere: Path) -> None:
    _make_batches(nowhere / c10.BATCHES_DIR)
    assert find_cifar10() == nowhere / c10.BATCHES_DIR
    assert load_cifar10(verify=False).n_train == 20


def test_verify_rejects_unofficial_files(nowhere: Path, tiny: tuple[Path, dict], tmp_path: Path) -> None:
    batches, _ = tiny
    with pytest.raises(DataError, match=r"data_batch_1 holds 4 images.*10,000.*verify=False"):
        load_cifar10(batches)
    archive = tmp_path / c10.ARCHIVE_NAME
    _make_archive(batches, archive)
    with pytest.raises(DataError, match=rf"{archive.name} is not the official.*{c10.ARCHIVE_MD5}"):
        load_cifar10(archive)


def test_official_sizes_are_described_as_official(
    nowhere: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(c10, "N_PER_BATCH", 2)
    batches = tmp_path / "b"
    _make_batches(batches, n_train=2, n_test=2)
    ds = load_cifar10(batches)  # verify=True: every batch holds N_PER_BATCH images
    assert ds.train_split.startswith("official training split (10 images")
    assert ds.test_split.startswith("official test split (2 images")


# -- corrupt files: each raises DataError naming the file ----------------------------------------------


def _corrupt(batches: Path, name: str, payload: bytes) -> None:
    (batches / name).write_bytes(payload)


class _Evil:
    def __reduce__(self) -> tuple:
        return (os.system, ("echo pwned",))


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("data_batch_3", lambda good: pickle.dumps(good)[:200], "data_batch_3: not a readable CIFAR-10"),
        ("data_batch_1", lambda good: b"not a pickle at all", "data_batch_1: not a readable"),
        ("test_batch", lambda good: pickle.dumps([1, 2, 3]), "test_batch: expected a pickled dict"),
        ("data_batch_2", lambda good: pickle.dumps({b"data": good[b"data"]}), "data_batch_2: no 'labels'"),
        (
            "data_batch_4",
            lambda good: pickle.dumps({**good, b"data": good[b"data"].astype(np.int32)}),
            r"data_batch_4: 'data' must be uint8 of shape \(n, 3072\), found int32",
        ),
        (
            "data_batch_5",
            lambda good: pickle.dumps({**good, b"data": good[b"data"][:, :3000]}),
            r"found uint8 of shape \(4, 3000\)",
        ),
        (
            "data_batch_1",
            lambda good: pickle.dumps({**good, b"data": good[b"data"].tolist()}),
            "'data' must be a NumPy array, found list",
        ),
        (
            "data_batch_1",
            lambda good: pickle.dumps({**good, b"labels": good[b"labels"][:-1]}),
            "data_batch_1: 4 images but 3 labels",
        ),
        (
            "test_batch",
            lambda good: pickle.dumps({**good, b"labels": [0, 10, 3]}),
            r"test_batch: labels must lie in 0..9, found 0..10",
        ),
        (
            "data_batch_2",
            lambda good: pickle.dumps({**good, b"labels": [0.0, 1.0, 2.0, 3.0]}),
            "'labels' must hold integers only",
        ),
        (
            "data_batch_2",
            lambda good: pickle.dumps({**good, b"labels": np.zeros(4, dtype=np.float32)}),
            "must hold integers, found an array of float32",
        ),
        (
            "data_batch_2",
            lambda good: pickle.dumps({**good, b"labels": "0123"}),
            "'labels' must be a list of integers, found str",
        ),
        ("data_batch_1", lambda good: pickle.dumps({**good, b"x": _Evil()}), "refusing to load the global"),
    ],
)
def test_corrupt_batches_raise_data_error_naming_the_file(
    nowhere: Path, tiny: tuple[Path, dict], name: str, make, message: str
) -> None:
    batches, written = tiny
    _corrupt(batches, name, make(written[name]))
    with pytest.raises(DataError, match=message) as info:
        load_cifar10(batches, verify=False)
    assert str(batches / name) in str(info.value)


def test_corrupt_meta_and_archive(nowhere: Path, tiny: tuple[Path, dict], tmp_path: Path) -> None:
    batches, _ = tiny
    _write(batches / "batches.meta", {b"label_names": [b"apple"] * 10})
    with pytest.raises(DataError, match="batches.meta: label names .* are not CIFAR-10's"):
        load_cifar10(batches, verify=False)
    _write(batches / "batches.meta", {b"label_names": 3})
    with pytest.raises(DataError, match="'label_names' must be a list of strings"):
        load_cifar10(batches, verify=False)
    (batches / "batches.meta").unlink()  # optional: the names are known
    assert load_cifar10(batches, verify=False).n_test == N_TEST

    truncated = tmp_path / "trunc" / c10.ARCHIVE_NAME
    truncated.parent.mkdir()
    _make_archive(batches, tmp_path / "whole.tar.gz")
    truncated.write_bytes((tmp_path / "whole.tar.gz").read_bytes()[:3000])
    with pytest.raises(DataError, match=f"{truncated}: not a readable tar archive"):
        load_cifar10(truncated, verify=False)

    partial = tmp_path / "partial.tar.gz"
    with tarfile.open(partial, "w:gz") as tar:
        tar.add(batches / "data_batch_1", arcname=f"{c10.BATCHES_DIR}/data_batch_1")
    with pytest.raises(DataError, match="the archive lacks data_batch_2, .*test_batch"):
        load_cifar10(partial, verify=False)


# -- lookup failures, download -------------------------------------------------------------------------


def test_not_found_lists_places_and_remedies(nowhere: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        load_cifar10(download=False)
    text = str(info.value)
    assert f"${c10.ENV_DIR}: not set" in text
    assert f"{nowhere} (download cache): no such file or directory" in text
    assert "not attempted (download=False)" in text
    assert c10.OFFICIAL_URL in text and c10.ARCHIVE_MD5 in text and "download=True" in text

    half = tmp_path / "half" / c10.BATCHES_DIR
    half.mkdir(parents=True)
    _write(half / "data_batch_1", _batch(1, 2))
    with pytest.raises(DataError, match=r"is missing data_batch_2, .*test_batch") as info:
        load_cifar10(half.parent)
    assert "data_dir given; pass download=True" in str(info.value)


def test_offline_download_is_reported(nowhere: Path) -> None:
    with pytest.raises(DataError, match="download from .* failed: .*network disabled in tests"):
        load_cifar10()  # download=None: tries the cache download, which fails at once


class _FakeResponse(io.BytesIO):
    headers: dict[str, str] = {}

    def __enter__(self) -> _FakeResponse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def test_download_checks_md5_and_fills_the_cache(
    nowhere: Path, tiny: tuple[Path, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches, _ = tiny
    archive = tmp_path / "served.tar.gz"
    _make_archive(batches, archive)
    payload = archive.read_bytes()
    calls: list[tuple[str, float]] = []

    def serve(url: str, timeout: float) -> _FakeResponse:
        calls.append((url, timeout))
        return _FakeResponse(payload)

    monkeypatch.setattr(c10.urllib.request, "urlopen", serve)
    # the official checksum does not match the tiny archive: rejected, nothing left behind
    with pytest.raises(DataError, match="does not match the official file"):
        load_cifar10(verify=False)
    assert not list(nowhere.glob("*"))
    monkeypatch.setattr(c10, "ARCHIVE_MD5", hashlib.md5(payload).hexdigest())
    ds = load_cifar10(verify=False)
    assert calls[-1] == (c10.OFFICIAL_URL, c10.DOWNLOAD_TIMEOUT_S)
    assert ds.origin == str(nowhere / c10.ARCHIVE_NAME)
    assert (nowhere / c10.ARCHIVE_NAME).read_bytes() == payload
    # now found in the cache: no second download, and the archive passes verification of its checksum
    n_calls = len(calls)
    assert cifar10_available()
    with pytest.raises(DataError, match="holds 4 images"):  # md5 accepted, then the batch size check
        load_cifar10()
    assert len(calls) == n_calls


# -- load_dataset ---------------------------------------------------------------------------------------


def test_load_dataset_cifar10(nowhere: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(c10, "N_PER_BATCH", 2)
    batches = tmp_path / "b"
    _make_batches(batches, n_train=2, n_test=2)
    for name in ("cifar-10", "CIFAR10", "cifar_10"):
        ds = load_dataset(name, data_dir=batches)
        assert ds.name == "cifar-10" and ds.x_train.shape == (10, 32, 32, 3)
    with pytest.raises(DataError, match="cifar-10 has no embedded sample"):
        load_dataset("cifar-10", source="sample")
    # auto without local data: the not-found error, no fallback and no warning
    with pytest.raises(DataError, match="CIFAR-10 not found"):
        load_dataset("cifar-10")
