"""Versioned persistence of a fitted :class:`~astroglia.rhythmic.estimator.RhythmicSharingReservoir`.

One ``.npz`` file (no pickle): the arrays of the network and the readout, plus a ``meta`` entry holding a JSON
document with the format name and version, the hyperparameters and the scalar fitted attributes. Loading
checks the format and version and rebuilds an identical estimator (same predictions, bit for bit).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from astroglia.errors import DataError
from astroglia.rhythmic._base import check_is_fitted
from astroglia.rhythmic.estimator import RhythmicSharingReservoir
from astroglia.rhythmic.network import Network

__all__ = ["FORMAT", "FORMAT_VERSION", "load_reservoir", "save_reservoir"]

FORMAT = "astroglia.rhythmic.RhythmicSharingReservoir"
FORMAT_VERSION = 1
_ARRAYS = ("readout_", "R_", "mean_phase_", "train_predictions_", "data_low_", "data_high_")


def save_reservoir(model: RhythmicSharingReservoir, path: str | Path) -> Path:
    """Write a fitted ``model`` to ``path`` (``.npz`` added when missing); return the path written."""
    check_is_fitted(model)
    p = Path(path)
    if p.suffix != ".npz":
        p = p.with_name(p.name + ".npz")
    meta: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "params": model.get_params(),
        "seed_": int(model.seed_),
        "n_features_in_": int(model.n_features_in_),
        "segment_lengths_": list(model.segment_lengths_),
    }
    arrays = {f"network.{name}": np.asarray(getattr(model.network_, name)) for name in Network._fields}
    arrays.update({name: np.asarray(getattr(model, name)) for name in _ARRAYS})
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("wb") as fh:
        np.savez(fh, meta=np.array(json.dumps(meta)), **arrays)
    return p


def load_reservoir(path: str | Path) -> RhythmicSharingReservoir:
    """Read a model written by :func:`save_reservoir`.

    Raises:
        DataError: the file is missing, is not such a model, or has a newer format version.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"model file {p} does not exist")
    try:
        with np.load(p, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            arrays = {k: np.array(data[k]) for k in data.files if k != "meta"}
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(f"{p} is not a saved Rhythmic Sharing model: {exc}") from exc
    if meta.get("format") != FORMAT:
        raise DataError(f"{p} holds format {meta.get('format')!r}, expected {FORMAT!r}")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise DataError(
            f"{p} has format version {version}, newer than this astroglia reads ({FORMAT_VERSION}); "
            "upgrade astroglia"
        )
    model = RhythmicSharingReservoir(**meta["params"])
    network = Network(**{name: arrays[f"network.{name}"] for name in Network._fields})
    model.network_ = network
    model.W_ = network.adjacency()
    model.seed_ = int(meta["seed_"])
    model.n_features_in_ = int(meta["n_features_in_"])
    model.segment_lengths_ = [int(v) for v in meta["segment_lengths_"]]
    for name in _ARRAYS:
        setattr(model, name, arrays[name])
    return model
