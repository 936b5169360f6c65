"""Tests of astroglia.datasets: IDX, Fashion-MNIST lookup and sample, load_dataset, parity, BatchStream."""

from __future__ import annotations

import gzip
import json
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest

import astroglia.datasets.fashion_mnist as fm
from astroglia.datasets import (
    CLASS_NAMES,
    BatchStream,
    Dataset,
    download_fashion_mnist,
    fashion_mnist_available,
    find_fashion_mnist,
    load_dataset,
    load_fashion_mnist,
    load_fashion_mnist_sample,
    parity,
    read_idx,
    read_idx_images,
    read_idx_labels,
    to_tensors,
    write_idx,
    xor,
)
from astroglia.datasets.make_sample import build_sample, write_npz
from astroglia.errors import ConfigError, DataError

FULL_AVAILABLE = fashion_mnist_available()
needs_full = pytest.mark.skipif(
    not FULL_AVAILABLE,
    reason="full Fashion-MNIST not found: apt-get install dataset-fashion-mnist "
    "or set ASTROGLIA_FASHION_MNIST",
)

# Label counts of the embedded sample (first 4,000 training / 2,000 test images of the official files).
SAMPLE_TRAIN_COUNTS = [373, 440, 404, 409, 395, 391, 400, 413, 380, 395]
SAMPLE_TEST_COUNTS = [200, 203, 214, 190, 219, 195, 197, 200, 194, 188]


@pytest.fixture(scope="module")
def full() -> Dataset:
    return load_fashion_mnist()


@pytest.fixture(scope="module")
def sample() -> Dataset:
    return load_fashion_mnist_sample()


@pytest.fixture
def nowhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Path]:
    """Point every default Fashion-MNIST location at an empty temporary place."""
    places = {"env": tmp_path / "env-dir", "debian": tmp_path / "debian", "cache": tmp_path / "cache-root"}
    places["env"].mkdir()
    monkeypatch.setenv("ASTROGLIA_FASHION_MNIST", str(places["env"]))
    monkeypatch.setenv("ASTROGLIA_CACHE", str(places["cache"]))
    monkeypatch.setattr(fm, "DEBIAN_DIR", places["debian"])
    return places


# ---------------------------------------------------------------------------------------------------- IDX


def _idx_bytes(magic: int, shape: tuple[int, ...], payload: bytes) -> bytes:
    return struct.pack(">I", magic) + struct.pack(f">{len(shape)}I", *shape) + payload


IMAGES = np.arange(24, dtype=np.uint8).reshape(3, 2, 4) * 10
LABELS = np.array([7, 0, 9], dtype=np.uint8)


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_images_and_labels_exact(tmp_path: Path, compress: bool) -> None:
    img = _idx_bytes(0x803, (3, 2, 4), IMAGES.tobytes())
    lab = _idx_bytes(0x801, (3,), LABELS.tobytes())
    if compress:
        img, lab = gzip.compress(img), gzip.compress(lab)
    (tmp_path / "img").write_bytes(img)  # no ".gz" in the name: compression is detected from the content
    (tmp_path / "lab").write_bytes(lab)
    x = read_idx_images(tmp_path / "img")
    y = read_idx_labels(tmp_path / "lab")
    assert x.dtype == np.uint8 and x.shape == (3, 2, 4)
    np.testing.assert_array_equal(x, IMAGES)
    np.testing.assert_array_equal(y, [7, 0, 9])
    assert x.flags.writeable


def test_read_idx_big_endian_types(tmp_path: Path) -> None:
    values = np.array([[1, -2], [300, -40000]], dtype=np.int32)
    path = tmp_path / "i32"
    path.write_bytes(_idx_bytes(0x0C02, (2, 2), values.astype(">i4").tobytes()))
    out = read_idx(path)
    assert out.dtype == np.int32 and out.dtype.isnative
    np.testing.assert_array_equal(out, values)


def test_write_idx_matches_format_and_round_trips(tmp_path: Path) -> None:
    raw = write_idx(tmp_path / "a", IMAGES)
    assert raw.read_bytes() == _idx_bytes(0x803, (3, 2, 4), IMAGES.tobytes())
    gz = write_idx(tmp_path / "b.gz", LABELS, compress=True)
    assert gzip.decompress(gz.read_bytes()) == _idx_bytes(0x801, (3,), LABELS.tobytes())
    floats = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "c", floats, compress=True)), floats)


def test_truncated_idx_names_file_and_sizes(tmp_path: Path) -> None:
    path = tmp_path / "short-images-idx3-ubyte"
    path.write_bytes(_idx_bytes(0x803, (3, 2, 4), IMAGES.tobytes()[:19]))
    with pytest.raises(DataError, match="truncated") as info:
        read_idx_images(path)
    message = str(info.value)
    assert str(path) in message
    assert "24 payload bytes" in message and "found 19 payload bytes" in message


def test_truncated_gzip_stream(tmp_path: Path) -> None:
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(_idx_bytes(0x803, (3, 2, 4), IMAGES.tobytes()))[:-12])
    with pytest.raises(DataError, match="truncated gzip") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_trailing_bytes_rejected(tmp_path: Path) -> None:
    path = tmp_path / "long"
    path.write_bytes(_idx_bytes(0x801, (3,), LABELS.tobytes() + b"\x00"))
    with pytest.raises(DataError, match="longer than its header") as info:
        read_idx_labels(path)
    assert "3 payload bytes" in str(info.value) and "found 4" in str(info.value)


def test_wrong_magic_names_found_and_expected(tmp_path: Path) -> None:
    path = tmp_path / "labels-not-images"
    path.write_bytes(_idx_bytes(0x801, (3,), LABELS.tobytes()))
    with pytest.raises(DataError, match="magic") as info:
        read_idx_images(path)
    message = str(info.value)
    assert str(path) in message and "0x00000801" in message and "0x00000803" in message


def test_not_an_idx_file(tmp_path: Path) -> None:
    path = tmp_path / "archive.zip"
    path.write_bytes(b"PK\x03\x04" + bytes(20))
    with pytest.raises(DataError, match="0x504B0304, which is not an IDX magic"):
        read_idx(path)


# ------------------------------------------------------------------------------------------ lookup errors


def test_missing_data_lists_every_place(nowhere: dict[str, Path]) -> None:
    assert not fashion_mnist_available()
    with pytest.raises(DataError) as info:
        load_fashion_mnist(download=False)
    message = str(info.value)
    for place in (nowhere["env"], nowhere["debian"], nowhere["cache"] / "fashion-mnist"):
        assert str(place) in message
    assert "missing train-images-idx3-ubyte[.gz]" in message  # the env directory exists but is empty
    assert "apt-get install dataset-fashion-mnist" in message
    assert "ASTROGLIA_FASHION_MNIST" in message
    assert fm.OFFICIAL_URL in message
    assert "not attempted (download=False)" in message


def test_explicit_data_dir_is_the_only_place(nowhere: dict[str, Path], tmp_path: Path) -> None:
    partial = tmp_path / "partial"
    partial.mkdir()
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte", "t10k-images.idx3-ubyte"):
        (partial / name).write_bytes(b"")
    with pytest.raises(DataError) as info:
        load_fashion_mnist(partial)  # download=None does not download into a given directory
    looked = str(info.value).split("Get the data")[0]
    assert f"{partial} (data_dir argument): missing t10k-labels-idx1-ubyte[.gz]" in looked
    assert str(nowhere["debian"]) not in looked and str(nowhere["env"]) not in looked
    assert "pass download=True" in looked


def test_find_accepts_plain_gz_and_dotted_names(tmp_path: Path) -> None:
    names = [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte.gz",
        "t10k-images.idx3-ubyte",
        "t10k-labels.idx1-ubyte.gz",
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    found = find_fashion_mnist(tmp_path)
    assert [found[k].name for k in ("train_images", "train_labels", "test_images", "test_labels")] == names
    assert fashion_mnist_available(tmp_path)


def test_download_failure_and_corrupt_download(tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    (served / "train-images-idx3-ubyte.gz").write_bytes(b"not the official file")
    target = tmp_path / "dl"
    with pytest.raises(DataError, match="does not match the official file") as info:
        download_fashion_mnist(target, base_url=served.as_uri())
    assert "26421880 bytes with MD5 8d4fb7e6c68d591d4c3dfef9ec88bf0d" in str(info.value)
    assert list(target.iterdir()) == []  # the .part file was removed
    (served / "train-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataError, match="download of .*train-images-idx3-ubyte.gz failed"):
        download_fashion_mnist(target, base_url=served.as_uri())


# ---------------------------------------------------------------------------------------- embedded sample


def test_sample_shapes_classes_and_provenance(sample: Dataset) -> None:
    assert sample.source == "embedded-sample"
    assert sample.x_train.shape == (4000, 28, 28) and sample.x_train.dtype == np.uint8
    assert sample.y_train.shape == (4000,) and sample.y_train.dtype == np.int64
    assert sample.x_test.shape == (2000, 28, 28) and sample.x_test.dtype == np.uint8
    assert sample.y_test.shape == (2000,) and sample.y_test.dtype == np.int64
    assert sample.n_classes == 10 and sample.class_names == CLASS_NAMES
    assert sample.class_names[0] == "T-shirt/top" and sample.class_names[9] == "Ankle boot"
    assert np.bincount(sample.y_train, minlength=10).tolist() == SAMPLE_TRAIN_COUNTS
    assert np.bincount(sample.y_test, minlength=10).tolist() == SAMPLE_TEST_COUNTS
    assert sample.test_split.startswith("embedded sample of the official test split (2,000 images")
    # Real images: dark background corners, a bright object, many grey levels.
    assert sample.x_train[:, 0, 0].mean() < 5 and sample.x_train.max() == 255
    assert len(np.unique(sample.x_test)) == 256


def test_sample_notes_file_exists() -> None:
    notes = (Path(fm.__file__).parent / "data" / "fashion_mnist_sample.txt").read_text(encoding="utf-8")
    assert "Zalando SE" in notes and "MIT License" in notes
    assert "images 0..3999" in notes and "images 0..1999" in notes


@needs_full
def test_sample_matches_first_entries_of_full_set(sample: Dataset, full: Dataset) -> None:
    np.testing.assert_array_equal(sample.x_train, full.x_train[:4000])
    np.testing.assert_array_equal(sample.y_train, full.y_train[:4000])
    np.testing.assert_array_equal(sample.x_test, full.x_test[:2000])
    np.testing.assert_array_equal(sample.y_test, full.y_test[:2000])
    rebuilt = build_sample(full)
    np.testing.assert_array_equal(rebuilt["x_train"], sample.x_train)
    np.testing.assert_array_equal(rebuilt["test_indices"], np.arange(2000))


def test_write_npz_is_deterministic_and_loadable(tmp_path: Path) -> None:
    arrays = {"a": np.arange(12, dtype=np.uint8).reshape(3, 4), "b": np.array([1.5, -2.0])}
    write_npz(tmp_path / "one.npz", arrays)
    write_npz(tmp_path / "two.npz", arrays)
    assert (tmp_path / "one.npz").read_bytes() == (tmp_path / "two.npz").read_bytes()
    with np.load(tmp_path / "one.npz") as npz:
        np.testing.assert_array_equal(npz["a"], arrays["a"])
        np.testing.assert_array_equal(npz["b"], arrays["b"])


# -------------------------------------------------------------------------------------------- full loader


@needs_full
def test_full_set_official_split_and_balance(full: Dataset) -> None:
    assert full.source == "full"
    assert full.x_train.shape == (60000, 28, 28) and full.x_test.shape == (10000, 28, 28)
    assert full.y_train.dtype == np.int64
    assert np.bincount(full.y_train).tolist() == [6000] * 10
    assert np.bincount(full.y_test).tolist() == [1000] * 10
    assert full.test_split == "official test split (10,000 images)"
    assert full.metadata()["n_test"] == 10000


@needs_full
def test_full_loader_rejects_modified_file(full: Dataset, tmp_path: Path) -> None:
    files = find_fashion_mnist()
    for key in ("train_images", "test_images", "test_labels"):
        (tmp_path / files[key].name).symlink_to(files[key])
    labels = full.y_train.astype(np.uint8)
    labels[0] = (labels[0] + 1) % 10
    write_idx(tmp_path / "train-labels-idx1-ubyte", labels)
    with pytest.raises(DataError, match="not the official Fashion-MNIST train-labels-idx1-ubyte"):
        load_fashion_mnist(tmp_path)
    assert load_fashion_mnist(tmp_path, verify=False).y_train[0] == labels[0]


# ------------------------------------------------------------------------------------ load_dataset, tensors


def test_load_dataset_sample_and_unknown_name() -> None:
    ds = load_dataset("fashion_mnist", source="sample")
    assert ds.source == "embedded-sample" and ds.name == "fashion-mnist"
    with pytest.raises(DataError, match="known datasets: fashion-mnist"):
        load_dataset("cifar-100")
    with pytest.raises(DataError, match="source must be"):
        load_dataset("fashion-mnist", source="partial")  # type: ignore[arg-type]


def test_load_dataset_auto_falls_back_to_sample(nowhere: dict[str, Path]) -> None:
    with pytest.warns(UserWarning, match="using the embedded sample"):
        ds = load_dataset("fashion-mnist")
    assert ds.source == "embedded-sample"
    assert ds.test_split.startswith("embedded sample of the official test split")
    with pytest.raises(DataError, match="Fashion-MNIST not found"):
        load_dataset("fashion-mnist", source="full")


@needs_full
def test_load_dataset_auto_uses_full_set() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = load_dataset("fashion-mnist")
    assert ds.source == "full" and ds.n_test == 10000


def test_to_tensors_shapes_and_normalisation(sample: Dataset) -> None:
    torch = pytest.importorskip("torch")
    t = to_tensors(sample)
    assert t.x_train.shape == (4000, 1, 28, 28) and t.x_train.dtype == torch.float32
    assert t.y_test.dtype == torch.int64 and t.y_test.shape == (2000,)
    assert float(t.x_train.min()) == 0.0 and float(t.x_train.max()) == 1.0
    n, r, c = np.argwhere((sample.x_test > 0) & (sample.x_test < 255))[0]
    assert float(t.x_test[n, 0, r, c]) == pytest.approx(sample.x_test[n, r, c] / 255.0, rel=1e-6)
    np.testing.assert_array_equal(t.y_train.numpy(), sample.y_train)
    raw = to_tensors(sample, dtype=torch.float64, normalize=False)
    assert raw.x_test.dtype == torch.float64
    np.testing.assert_array_equal(raw.x_test[:, 0].numpy(), sample.x_test.astype(np.float64))


def test_dataset_rejects_inconsistent_arrays() -> None:
    x = np.zeros((3, 28, 28), np.uint8)
    with pytest.raises(DataError, match="labels must lie in 0..9"):
        Dataset("d", x, np.array([0, 1, 10]), x, np.zeros(3, np.int64), CLASS_NAMES, "full", "", "", "")
    with pytest.raises(DataError, match="same n"):
        Dataset("d", x, np.zeros(2, np.int64), x, np.zeros(3, np.int64), CLASS_NAMES, "full", "", "", "")


# ------------------------------------------------------------------------------------------------- parity


def test_parity3_exact_table() -> None:
    inputs, targets = parity(3)
    expected_inputs = [
        [0, 0, 0],
        [0, 0, 1],
        [0, 1, 0],
        [0, 1, 1],
        [1, 0, 0],
        [1, 0, 1],
        [1, 1, 0],
        [1, 1, 1],
    ]
    np.testing.assert_array_equal(inputs, expected_inputs)
    np.testing.assert_array_equal(targets, [0, 1, 1, 0, 1, 0, 0, 1])
    assert inputs.dtype == np.float64 and targets.shape == (8,)


def test_xor_and_larger_parity() -> None:
    inputs, targets = xor()
    np.testing.assert_array_equal(inputs, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(targets, [0, 1, 1, 0])
    x, y = parity(10, dtype=np.float32)
    assert x.shape == (1024, 10) and x.dtype == np.float32
    assert len({tuple(row) for row in x.tolist()}) == 1024  # every pattern once
    np.testing.assert_array_equal(y, x.sum(axis=1) % 2)
    with pytest.raises(ConfigError, match="n_bits"):
        parity(0)


# -------------------------------------------------------------------------------------------- BatchStream


def test_batchstream_covers_each_epoch_exactly_once() -> None:
    stream = BatchStream(n_samples=10, batch_size=3, seed=4)
    batches = [stream.next_indices() for _ in range(10)]  # 30 indices = 3 epochs
    assert all(b.shape == (3,) and b.dtype == np.int64 for b in batches)
    flat = np.concatenate(batches)
    epochs = flat.reshape(3, 10)
    for e, order in enumerate(epochs):
        assert sorted(order.tolist()) == list(range(10))
        np.testing.assert_array_equal(order, np.random.default_rng([4, e]).permutation(10))
    assert not np.array_equal(epochs[0], epochs[1]) and not np.array_equal(epochs[1], epochs[2])
    assert stream.epoch == 3 and stream.position == 0 and stream.samples_seen == 30
    other = BatchStream(10, 3, seed=5)
    assert not np.array_equal(np.concatenate([other.next_indices() for _ in range(4)]), flat[:12])


def test_batchstream_resumes_identically() -> None:
    reference = BatchStream(n_samples=50, batch_size=8, seed=123)
    for _ in range(11):  # stop mid-epoch (88 indices = epoch 1, position 38)
        reference.next_indices()
    state = json.loads(json.dumps(reference.state_dict()))
    assert state == {"seed": 123, "epoch": 1, "position": 38, "n_samples": 50, "batch_size": 8}
    expected = [reference.next_indices() for _ in range(20)]
    resumed = BatchStream(n_samples=50, batch_size=8, seed=0)
    resumed.load_state_dict(state)
    for want in expected:
        np.testing.assert_array_equal(resumed.next_indices(), want)
    with pytest.raises(ConfigError, match="n_samples=50"):
        BatchStream(49, 8, 0).load_state_dict(state)


def test_batchstream_validates_arguments() -> None:
    with pytest.raises(ConfigError, match="batch_size"):
        BatchStream(4, 5, 0)
    with pytest.raises(ConfigError, match="seed"):
        BatchStream(4, 2, -1)
    full_batch = BatchStream(4, 4, 0)
    assert sorted(next(iter(full_batch)).tolist()) == [0, 1, 2, 3]
