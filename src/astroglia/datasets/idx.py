"""Reading and writing IDX files, the format of MNIST and Fashion-MNIST.

An IDX file is a big-endian header followed by a dense array::

    bytes 0-1   0x0000
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte  3     number of dimensions d
    4 d bytes   the d dimension sizes, uint32 big-endian
    payload     prod(sizes) elements, big-endian, C order

Read as one 32-bit big-endian integer, the first four bytes are the *magic number*: ``0x00000803`` for an
image file (uint8, shape ``(n, rows, cols)``) and ``0x00000801`` for a label file (uint8, shape ``(n,)``).
Files may be gzip-compressed; compression is detected from the gzip magic bytes ``1f 8b``, not from the file
name. The header is checked against the payload size, so a truncated or padded file is reported, with the
number of bytes expected and found, instead of being read as a wrong array.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from astroglia.errors import DataError

__all__ = [
    "IDX_IMAGES_MAGIC",
    "IDX_LABELS_MAGIC",
    "is_gzip",
    "parse_idx",
    "read_idx",
    "read_idx_bytes",
    "read_idx_images",
    "read_idx_labels",
    "write_idx",
]

IDX_IMAGES_MAGIC = 0x00000803
"""Magic number of an IDX image file: uint8 elements, 3 dimensions ``(n, rows, cols)``."""
IDX_LABELS_MAGIC = 0x00000801
"""Magic number of an IDX label file: uint8 elements, 1 dimension ``(n,)``."""

GZIP_MAGIC = b"\x1f\x8b"

# IDX element type code -> big-endian NumPy dtype.
_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_DTYPE_CODES: dict[np.dtype, int] = {dt.newbyteorder("="): code for code, dt in _IDX_DTYPES.items()}


def is_gzip(data: bytes) -> bool:
    """Whether ``data`` starts with the gzip magic bytes ``1f 8b``."""
    return data[:2] == GZIP_MAGIC


def read_idx_bytes(path: str | os.PathLike[str]) -> bytes:
    """Return the uncompressed bytes of an IDX file, gunzipping it when it starts with the gzip magic.

    Raises:
        DataError: the file cannot be read, or it is a gzip stream that is truncated or corrupt.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read IDX file {path}: {exc}") from exc
    if not is_gzip(raw):
        return raw
    try:
        # wbits=31: gzip container; one zlib call is faster than the gzip module's streaming reader.
        dec = zlib.decompressobj(wbits=31)
        data = dec.decompress(raw)
        if not dec.eof:
            raise DataError(
                f"IDX file {path} is a truncated gzip stream: its {len(raw)} compressed bytes end before the "
                f"end-of-stream marker ({len(data)} bytes decompressed so far); download it again"
            )
        if dec.unused_data:
            # Concatenated gzip members are legal; let the gzip module handle this rare case.
            data = gzip.decompress(raw)
    except (zlib.error, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"IDX file {path} is a corrupt gzip stream ({exc}); download it again") from exc
    return data


def _magic_text(magic: int) -> str:
    return f"0x{magic:08X}"


def parse_idx(data: bytes, *, name: str = "<bytes>", expected_magic: int | None = None) -> np.ndarray:
    """Parse the uncompressed bytes of an IDX file into an array.

    Args:
        data: the whole file, uncompressed.
        name: file name used in error messages.
        expected_magic: if given, the magic number the file must have (e.g. :data:`IDX_IMAGES_MAGIC`).

    Returns:
        A writable array in native byte order with the shape stated by the header; ``uint8`` for image and
        label files.

    Raises:
        DataError: wrong or unknown magic number, header shorter than stated, or payload size different from
            ``prod(shape) * itemsize`` (truncated or with trailing bytes).
    """
    if len(data) < 4:
        raise DataError(
            f"IDX file {name} is truncated: {len(data)} bytes, shorter than the 4-byte magic number"
        )
    magic = int.from_bytes(data[:4], "big")
    if expected_magic is not None and magic != expected_magic:
        raise DataError(
            f"IDX file {name} has magic number {_magic_text(magic)}, expected {_magic_text(expected_magic)} "
            f"({_describe_magic(expected_magic)}); is it the right file, and not compressed with something "
            "other than gzip?"
        )
    type_code, ndim = data[2], data[3]
    if data[:2] != b"\x00\x00" or type_code not in _IDX_DTYPES or ndim == 0:
        raise DataError(
            f"IDX file {name} has magic number {_magic_text(magic)}, which is not an IDX magic number "
            "(expected 0x0000TTDD with type code TT in 08, 09, 0B, 0C, 0D, 0E and DD >= 1 dimensions, "
            f"e.g. {_magic_text(IDX_IMAGES_MAGIC)} for images or {_magic_text(IDX_LABELS_MAGIC)} for labels)"
        )
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DataError(
            f"IDX file {name} is truncated: its header needs {header_size} bytes for {ndim} dimensions, "
            f"but the file has {len(data)} bytes"
        )
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = _IDX_DTYPES[type_code]
    count = int(np.prod(shape, dtype=np.int64))
    expected = count * dtype.itemsize
    actual = len(data) - header_size
    if actual != expected:
        what = "truncated" if actual < expected else "longer than its header states"
        raise DataError(
            f"IDX file {name} is {what}: header says shape {shape} of {dtype.name} = {expected} payload "
            f"bytes (file {header_size + expected} bytes), found {actual} payload bytes "
            f"(file {len(data)} bytes)"
        )
    array = np.frombuffer(data, dtype=dtype, count=count, offset=header_size).reshape(shape)
    # A native-order copy: writable, and independent of the (immutable) input bytes.
    return array.astype(dtype.newbyteorder("="), copy=True)


def _describe_magic(magic: int) -> str:
    if magic == IDX_IMAGES_MAGIC:
        return "IDX images: uint8, shape (n, rows, cols)"
    if magic == IDX_LABELS_MAGIC:
        return "IDX labels: uint8, shape (n,)"
    return "IDX"


def read_idx(path: str | os.PathLike[str], *, expected_magic: int | None = None) -> np.ndarray:
    """Read an IDX file, gzip-compressed or not, into a NumPy array.

    Args:
        path: the file; gzip compression is detected from its first two bytes, whatever its name.
        expected_magic: if given, the magic number the file must have.

    Returns:
        A writable array in native byte order with the shape and element type stated by the header.

    Raises:
        DataError: the message names the file and, for a wrong magic number, the magic found and the one
            expected; for a truncated file, the byte counts expected and found.
    """
    return parse_idx(read_idx_bytes(path), name=str(path), expected_magic=expected_magic)


def read_idx_images(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX image file (magic ``0x00000803``): ``uint8`` array of shape ``(n, rows, cols)``."""
    return read_idx(path, expected_magic=IDX_IMAGES_MAGIC)


def read_idx_labels(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX label file (magic ``0x00000801``): ``uint8`` array of shape ``(n,)``."""
    return read_idx(path, expected_magic=IDX_LABELS_MAGIC)


def write_idx(path: str | os.PathLike[str], array: np.ndarray, *, compress: bool = False) -> Path:
    """Write ``array`` as an IDX file (gzip-compressed when ``compress``); returns the path.

    The element type must be one of uint8, int8, int16, int32, float32 or float64, and the array must have at
    least one dimension. A uint8 array of shape ``(n, rows, cols)`` gets magic ``0x00000803``, one of shape
    ``(n,)`` gets ``0x00000801``. The gzip header carries no file name or time stamp, so the output is
    deterministic.
    """
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _DTYPE_CODES or array.ndim == 0 or array.ndim > 255:
        raise DataError(
            f"cannot write an array of dtype {array.dtype} and {array.ndim} dimensions as IDX: supported "
            "types are uint8, int8, int16, int32, float32, float64, with 1 to 255 dimensions"
        )
    code = _DTYPE_CODES[native]
    header = bytes([0, 0, code, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    payload = np.ascontiguousarray(array, dtype=_IDX_DTYPES[code]).tobytes()
    data = header + payload
    if compress:
        data = gzip.compress(data, mtime=0)
    path = Path(path)
    path.write_bytes(data)
    return path
