"""Context-sensing metrics (specs/evaluation.md, "Context sensing"): switch latency and frame-wise accuracy.

Pure functions of a synchrony or phase signature (e.g. the Rhythmic Sharing order parameter R(t) and mean
phase <Phi>(t)) and the known switch times and context labels of the generated series.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["ContextAccuracy", "cluster_signature", "context_accuracy", "switch_latency"]


def switch_latency(
    signal: np.ndarray,
    switch_indices: Sequence[int],
    directions: Sequence[str] | str,
    *,
    down_threshold: float = 0.9,
    up_threshold: float = 0.95,
) -> list[int | None]:
    """Detection latency of each switch, in steps.

    For the switch at index ``s_i`` (the index of the first sample under the new context, e.g.
    :attr:`astroglia.systems.Series.switch_indices`), the latency is ``k - s_i`` for the first ``k`` in
    ``[s_i, s_{i+1})`` (the end of the signal for the last switch) with ``signal[k] < down_threshold`` when
    the direction is ``"down"``, or ``signal[k] > up_threshold`` when it is ``"up"``; ``None`` when no such
    ``k`` exists before the next switch. A signal already past the threshold at ``s_i`` has latency 0.

    Args:
        signal: (T,) scalar signal, e.g. the synchrony R(t) (one sample per data step).
        switch_indices: K strictly increasing indices in ``[0, T)``.
        directions: K values ``"down"``/``"up"``, or one string used for every switch.
        down_threshold: level a falling signal must go below.
        up_threshold: level a rising signal must go above.

    Returns:
        K latencies in steps (multiply by the sampling step for time units), ``None`` where not detected.
    """
    x = np.asarray(signal, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"signal must be 1-D (T,), got shape {x.shape}")
    idx = [int(i) for i in switch_indices]
    if any(b <= a for a, b in zip(idx[:-1], idx[1:], strict=True)):
        raise ValueError(f"switch_indices must be strictly increasing, got {idx}")
    if idx and (idx[0] < 0 or idx[-1] >= x.size):
        raise ValueError(f"switch_indices must lie in [0, {x.size}), got {idx}")
    dirs = [directions] * len(idx) if isinstance(directions, str) else list(directions)
    if len(dirs) != len(idx):
        raise ValueError(f"got {len(dirs)} directions for {len(idx)} switches; give one per switch")
    bad = [d for d in dirs if d not in ("down", "up")]
    if bad:
        raise ValueError(f"directions must be 'down' or 'up', got {bad}")
    ends = idx[1:] + [x.size]
    out: list[int | None] = []
    for s, e, d in zip(idx, ends, dirs, strict=True):
        window = x[s:e]
        hit = window < down_threshold if d == "down" else window > up_threshold
        k = np.flatnonzero(hit)
        out.append(int(k[0]) if k.size else None)
    return out


def _features(signature: np.ndarray, angular_columns: Sequence[int]) -> np.ndarray:
    s = np.asarray(signature, dtype=float)
    if s.ndim == 1:
        s = s[:, None]
    if s.ndim != 2 or s.shape[0] < 2:
        raise ValueError(f"signature must have shape (T,) or (T, F) with T >= 2, got {np.shape(signature)}")
    if not np.all(np.isfinite(s)):
        raise ValueError("signature contains NaN or inf")
    ang = {int(c) % s.shape[1] for c in angular_columns}
    cols = []
    for j in range(s.shape[1]):
        if j in ang:
            cols += [np.cos(s[:, j]), np.sin(s[:, j])]
        else:
            cols.append(s[:, j])
    f = np.stack(cols, axis=1)
    std = f.std(axis=0)
    return (f - f.mean(axis=0)) / np.where(std > 0, std, 1.0)


def _two_means_1d(v: np.ndarray) -> np.ndarray:
    """Exact 2-means in one dimension: the threshold minimising the within-cluster sum of squares."""
    order = np.argsort(v, kind="stable")
    sv = v[order]
    n = sv.size
    c1, c2 = np.cumsum(sv), np.cumsum(sv**2)
    k = np.arange(1, n)  # size of the low cluster
    low_ss = c2[:-1] - c1[:-1] ** 2 / k
    high_ss = (c2[-1] - c2[:-1]) - (c1[-1] - c1[:-1]) ** 2 / (n - k)
    split = int(np.argmin(low_ss + high_ss)) + 1
    labels = np.empty(n, dtype=int)
    labels[order[:split]] = 0
    labels[order[split:]] = 1
    return labels


def _kmeans(f: np.ndarray, k: int, max_iter: int = 300) -> np.ndarray:
    """Lloyd's k-means from a deterministic start (k equal-count groups along the first principal axis)."""
    _, _, vt = np.linalg.svd(f, full_matrices=False)
    order = np.argsort(f @ vt[0], kind="stable")
    centroids = np.stack([f[g].mean(axis=0) for g in np.array_split(order, k)])
    labels = np.full(f.shape[0], -1)
    for _ in range(max_iter):
        d2 = ((f[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
        new = np.argmin(d2, axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
        for j in range(k):
            if np.any(labels == j):
                centroids[j] = f[labels == j].mean(axis=0)
    return labels


def cluster_signature(
    signature: np.ndarray, *, n_clusters: int = 2, angular_columns: Sequence[int] = ()
) -> np.ndarray:
    """Label each time step by unsupervised clustering of its signature; no context labels are used.

    Rule: columns listed in ``angular_columns`` (e.g. the mean phase <Phi>, in radians) are replaced by their
    cosine and sine; every feature column is then z-scored (a constant column becomes 0). With one feature
    and two clusters the split is the exact 2-means optimum, i.e. the threshold minimising the within-cluster
    sum of squares (Otsu's rule), cluster 0 being the low side. Otherwise Lloyd's k-means runs from a
    deterministic start (the samples sorted along the first principal component, cut into ``n_clusters``
    equal-count groups) until the assignment stops changing. Same input, same labels.

    Args:
        signature: (T,) or (T, F) finite signature, e.g. R(t) or the columns (R(t), <Phi>(t)).
        n_clusters: number of clusters (>= 2).
        angular_columns: indices of columns holding angles.

    Returns:
        (T,) int cluster ids in ``0 .. n_clusters - 1``.
    """
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, int) or n_clusters < 2:
        raise ValueError(f"n_clusters must be an integer >= 2, got {n_clusters!r}")
    f = _features(signature, angular_columns)
    if n_clusters > f.shape[0]:
        raise ValueError(f"n_clusters={n_clusters} exceeds the number of samples {f.shape[0]}")
    if f.shape[1] == 1 and n_clusters == 2:
        return _two_means_1d(f[:, 0])
    return _kmeans(f, n_clusters)


@dataclass(frozen=True)
class ContextAccuracy:
    """Result of :func:`context_accuracy`.

    Attributes:
        accuracy: fraction of time steps whose matched cluster equals the true label, in [0, 1].
        predicted: (T,) the label assigned to each step through the matching (steps in a cluster left
            unmatched, when there are more clusters than labels, hold ``unmatched``).
        cluster_to_label: the one-to-one matching, cluster id -> label.
        clusters: (T,) raw cluster ids from :func:`cluster_signature`.
    """

    accuracy: float
    predicted: np.ndarray
    cluster_to_label: dict
    clusters: np.ndarray


def context_accuracy(
    signature: np.ndarray,
    labels: np.ndarray,
    *,
    n_clusters: int | None = None,
    angular_columns: Sequence[int] = (),
    unmatched: object = -1,
) -> ContextAccuracy:
    """Frame-wise context accuracy of an unsupervised labelling of the signature.

    The signature is clustered by :func:`cluster_signature` without the labels; clusters are then matched one
    to one to the true labels so as to maximise the number of agreeing time steps (Hungarian algorithm on the
    contingency table), and the accuracy is the fraction of steps whose matched label is correct. Chance
    level is therefore at least the share of the largest context, not 1 / n_contexts.

    Args:
        signature: (T,) or (T, F) signature, e.g. R(t) or (R(t), <Phi>(t)).
        labels: (T,) true context labels (any comparable values, e.g. ``Series.context_labels()``).
        n_clusters: clusters to fit; the number of distinct labels when ``None`` (at least 2).
        angular_columns: indices of signature columns holding angles (radians).
        unmatched: the label written for steps in clusters left unmatched (more clusters than labels).

    Returns:
        :class:`ContextAccuracy`.
    """
    y = np.asarray(labels)
    f = np.asarray(signature)
    if y.ndim != 1 or y.shape[0] != f.shape[0]:
        raise ValueError(f"labels must have shape ({f.shape[0]},) to match the signature, got {y.shape}")
    classes, y_idx = np.unique(y, return_inverse=True)
    k = max(2, classes.size) if n_clusters is None else n_clusters
    clusters = cluster_signature(f, n_clusters=k, angular_columns=angular_columns)
    table = np.zeros((k, classes.size), dtype=int)
    np.add.at(table, (clusters, y_idx), 1)
    rows, cols = linear_sum_assignment(table, maximize=True)
    mapping = {int(r): classes[c].item() for r, c in zip(rows, cols, strict=True)}
    correct = int(table[rows, cols].sum())
    predicted = np.array([mapping.get(int(c), unmatched) for c in clusters])
    acc = correct / y.size
    return ContextAccuracy(
        accuracy=float(acc), predicted=predicted, cluster_to_label=mapping, clusters=clusters
    )
