"""The blob format of recording and result chunks: named numpy arrays, exact, compressed.

Layout (all little-endian)::

    b"GRC1" | header length (uint32) | header (JSON) | zlib stream

The header lists the arrays in order: ``{"name", "dtype", "shape", "filter"}``. Before
compression each array goes through its filter and a byte shuffle:

* ``"delta"`` (integer arrays: sequence numbers, device µs clocks, counts): differences along
  the first axis (the first row kept as is), wrapping in the array's own integer type, so
  decoding is exact for every value;
* ``"none"`` (floats): unchanged.

The shuffle writes byte 0 of every element, then byte 1, and so on: slowly changing values
then leave long runs of equal bytes, which zlib compresses well. Decoding undoes each step, so
``decode(encode(arrays))`` is bit-for-bit the input (tested).
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

MAGIC = b"GRC1"
#: zlib level: 1, the fastest; the size it gives is the storage per minute that
#: `python -m benchmarks recorder` reports (docs/benchmarks.md).
LEVEL = 1
_LENGTH = struct.Struct("<I")


class CodecError(ValueError):
    """A blob that is not a valid chunk."""


def _shuffle(raw: bytes, itemsize: int) -> bytes:
    if itemsize == 1 or not raw:
        return raw
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, itemsize).T.tobytes()


def _unshuffle(raw: bytes, itemsize: int) -> bytes:
    if itemsize == 1 or not raw:
        return raw
    return np.frombuffer(raw, dtype=np.uint8).reshape(itemsize, -1).T.tobytes()


def encode(arrays: Mapping[str, npt.ArrayLike], level: int = LEVEL) -> bytes:
    """One blob holding ``arrays`` (name -> array of ints, floats or bools; any shape)."""
    header = []
    parts = []
    for name, values in arrays.items():
        array = np.asarray(values)
        if array.dtype.kind not in "iufb":
            raise CodecError(f"{name}: cannot store dtype {array.dtype}")
        # (not ascontiguousarray: it turns a 0-d array into a 1-d one)
        array = array.astype(array.dtype.newbyteorder("<"), order="C", copy=False)
        delta = array.dtype.kind in "iu" and array.ndim >= 1 and array.shape[0] > 1
        if delta:
            array = array.copy()
            array[1:] = np.diff(array, axis=0)  # wraps in the integer type: exact both ways
        header.append({"name": name, "dtype": array.dtype.str, "shape": list(array.shape),
                       "filter": "delta" if delta else "none"})
        parts.append(_shuffle(array.tobytes(), array.dtype.itemsize))
    text = json.dumps(header, separators=(",", ":")).encode()
    return MAGIC + _LENGTH.pack(len(text)) + text + zlib.compress(b"".join(parts), level)


def decode(blob: bytes) -> dict[str, np.ndarray]:
    """The arrays of a blob made by :func:`encode`, in their order (writable, native order)."""
    if blob[:4] != MAGIC:
        raise CodecError("not a gaitrig chunk (bad magic)")
    try:
        (length,) = _LENGTH.unpack_from(blob, 4)
        header = json.loads(blob[8:8 + length])
        stream = zlib.decompressobj()
        payload = stream.decompress(blob[8 + length:])
    except (struct.error, ValueError, zlib.error) as exc:
        raise CodecError(f"corrupt chunk: {exc}") from exc
    if not stream.eof or stream.unused_data:
        raise CodecError("corrupt chunk: the compressed data is cut short or has bytes after it")
    try:
        entries = [(str(e["name"]), np.dtype(e["dtype"]), tuple(int(d) for d in e["shape"]),
                    e["filter"]) for e in header]
    except (KeyError, TypeError, ValueError) as exc:
        raise CodecError(f"corrupt chunk header: {exc!r}") from exc
    arrays: dict[str, np.ndarray] = {}
    offset = 0
    for name, dtype, shape, filter_name in entries:
        size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if offset + size > len(payload):
            raise CodecError(f"corrupt chunk: {name} runs past the end")
        raw = _unshuffle(payload[offset:offset + size], dtype.itemsize)
        offset += size
        array = np.frombuffer(raw, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))
        if filter_name == "delta":
            np.cumsum(array, axis=0, dtype=array.dtype, out=array)
        arrays[name] = array
    if offset != len(payload):
        raise CodecError("corrupt chunk: bytes left over")
    return arrays
