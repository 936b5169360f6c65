"""Construction of a Rhythmic Sharing network: recurrent links, link-to-link coupling, input weights.

The network is a plain, immutable record of arrays (:class:`Network`) built once by :func:`build_network`
from a NumPy ``Generator``; independent streams for each random part come from ``rng.spawn``, so changing,
say, the coupling degree ``k_phi`` does not change the recurrent matrix ``A`` drawn with the same seed.

Conventions (specs/rhythmic_sharing.md, section 2):

- ``A`` is an ``N x N`` sparse matrix in CSR form (``indptr``, ``indices``, ``weights``). Its non-zeros are
  the links ``l = 0..L-1`` in CSR order: link ``l`` sends from node ``j = indices[l]`` to node
  ``i = link_target[l]`` (the CSR row).
- ``A_Phi`` is an ``L x L`` binary matrix in CSR form (``phi_indptr``, ``phi_indices``): row ``l`` lists the
  links whose phases link ``l`` couples to. There is no self-coupling.
- The end-node incidence ``Q`` is implicit in the two end-node index arrays ``indices`` (j) and
  ``link_target`` (i); a self-loop has a single end node (``i == j``), so the mean of ``n*`` over the end
  nodes is ``(n*_i + n*_j) / 2`` in every case.
- ``W_in`` is dense ``N x D``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

__all__ = ["Network", "build_network", "spectral_radius"]


class Network(NamedTuple):
    """Fixed (untrained) arrays of a Rhythmic Sharing network.

    Attributes:
        indptr: int64 array, shape ``(N + 1,)``; CSR row pointer of ``A``.
        indices: int64 array, shape ``(L,)``; sending node ``j`` of each link.
        weights: float64 array, shape ``(L,)``; ``A_l`` of each link (after spectral-radius scaling).
        link_target: int64 array, shape ``(L,)``; receiving node ``i`` of each link (the CSR row).
        phi_indptr: int64 array, shape ``(L + 1,)``; CSR row pointer of ``A_Phi``.
        phi_indices: int64 array, shape ``(nnz(A_Phi),)``; coupled links of each link.
        w_in: float64 array, shape ``(N, D)``; input weights.
        omega: float64 array, shape ``(L,)``; natural frequencies in radians per step.
    """

    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    link_target: np.ndarray
    phi_indptr: np.ndarray
    phi_indices: np.ndarray
    w_in: np.ndarray
    omega: np.ndarray

    @property
    def n_nodes(self) -> int:
        """Number of nodes N."""
        return int(self.indptr.shape[0] - 1)

    @property
    def n_links(self) -> int:
        """Number of links L = nnz(A)."""
        return int(self.weights.shape[0])

    @property
    def n_inputs(self) -> int:
        """Input dimension D."""
        return int(self.w_in.shape[1])

    def adjacency(self) -> sp.csr_matrix:
        """``A`` as a SciPy CSR matrix, shape ``(N, N)``."""
        n = self.n_nodes
        return sp.csr_matrix((self.weights, self.indices, self.indptr), shape=(n, n))

    def phase_coupling(self) -> sp.csr_matrix:
        """``A_Phi`` as a SciPy CSR matrix of ones, shape ``(L, L)``."""
        n = self.n_links
        data = np.ones(self.phi_indices.shape[0])
        return sp.csr_matrix((data, self.phi_indices, self.phi_indptr), shape=(n, n))


def spectral_radius(a: sp.spmatrix | np.ndarray) -> float:
    """Largest absolute eigenvalue of a square matrix (dense solver up to 2000 rows, ARPACK above)."""
    n = a.shape[0]
    if n <= 2000:
        dense = a.toarray() if sp.issparse(a) else np.asarray(a)
        return float(np.max(np.abs(np.linalg.eigvals(dense))))
    vals = spla.eigs(sp.csr_matrix(a), k=1, which="LM", return_eigenvectors=False, tol=1e-10)
    return float(np.abs(vals[0]))


def _random_recurrent(rng: np.random.Generator, n: int, degree: float, rho: float) -> sp.csr_matrix:
    """Sparse ``n x n``: each entry non-zero with probability ``degree / n``, values U[-1, 1], radius rho."""
    density = min(1.0, degree / n)
    indptr = np.zeros(n + 1, dtype=np.int64)
    cols, vals = [], []
    for row in range(n):  # row by row: O(n) memory per row, so large N stays cheap in memory
        c = np.flatnonzero(rng.random(n) < density)
        cols.append(c)
        vals.append(rng.uniform(-1.0, 1.0, size=c.size))
        indptr[row + 1] = indptr[row] + c.size
    a = sp.csr_matrix((np.concatenate(vals), np.concatenate(cols), indptr), shape=(n, n))
    a.eliminate_zeros()
    a.sort_indices()
    if a.nnz == 0:
        raise ValueError(f"the recurrent matrix has no links (n_nodes={n}, degree={degree}); increase degree")
    radius = spectral_radius(a)
    if radius == 0.0:
        raise ValueError("the recurrent matrix is nilpotent (spectral radius 0); use another seed or degree")
    a = a * (rho / radius)
    return sp.csr_matrix(a)


def _random_coupling(rng: np.random.Generator, n_links: int, k_phi: float) -> tuple[np.ndarray, np.ndarray]:
    """Binary ``L x L`` coupling, no diagonal: each off-diagonal entry is 1 with probability k_phi/(L-1)."""
    if n_links == 1:
        return np.zeros(2, dtype=np.int64), np.zeros(0, dtype=np.int64)
    p = min(1.0, k_phi / (n_links - 1))
    indptr = np.zeros(n_links + 1, dtype=np.int64)
    rows = []
    for lnk in range(n_links):
        mask = rng.random(n_links) < p
        mask[lnk] = False
        cols = np.flatnonzero(mask)
        rows.append(cols)
        indptr[lnk + 1] = indptr[lnk] + cols.size
    return indptr, np.concatenate(rows).astype(np.int64)


def _input_weights(rng: np.random.Generator, n: int, d: int, sigma_in: float, kind: str) -> np.ndarray:
    """``N x D`` input weights: ``"block"`` (each input drives floor(N/D) own nodes) or ``"dense"``."""
    if kind == "dense":
        return rng.uniform(-sigma_in, sigma_in, size=(n, d))
    if kind != "block":
        raise ValueError(f"input_weights = {kind!r}: expected 'block' or 'dense'")
    block = n // d
    if block == 0:
        raise ValueError(f"block input weights need n_nodes >= n_inputs (got {n} nodes for {d} inputs)")
    w = np.zeros((n, d))
    for k in range(d):
        w[k * block : (k + 1) * block, k] = rng.uniform(-sigma_in, sigma_in, size=block)
    return w


def build_network(
    rng: np.random.Generator,
    *,
    n_nodes: int,
    n_inputs: int,
    degree: float,
    spectral_radius: float,
    sigma_in: float,
    k_phi: float,
    omega0: float,
    omega_spread: float = 0.0,
    input_weights: str = "block",
) -> Network:
    """Draw a Rhythmic Sharing network.

    Args:
        rng: source of randomness; four independent child streams are spawned from it (``A``, ``A_Phi``,
            ``W_in``, ``omega``), so it is advanced by the spawn only.
        n_nodes: N.
        n_inputs: D, the input dimension.
        degree: average number of non-zeros per row of ``A`` (density ``degree / N``).
        spectral_radius: rho, the largest absolute eigenvalue of ``A`` after scaling.
        sigma_in: input weights are uniform in ``[-sigma_in, sigma_in]``.
        k_phi: mean number of coupled links per link in ``A_Phi``.
        omega0: natural frequency of every link, radians per step.
        omega_spread: if positive, natural frequencies are ``omega0 + omega_spread * N(0, 1)``.
        input_weights: ``"block"`` (spec default) or ``"dense"``.

    Returns:
        The :class:`Network`.
    """
    s_a, s_phi, s_in, s_omega = rng.spawn(4)
    a = _random_recurrent(s_a, n_nodes, degree, spectral_radius)
    n_links = a.nnz
    link_target = np.repeat(np.arange(n_nodes, dtype=np.int64), np.diff(a.indptr))
    phi_indptr, phi_indices = _random_coupling(s_phi, n_links, k_phi)
    w_in = _input_weights(s_in, n_nodes, n_inputs, sigma_in, input_weights)
    omega = np.full(n_links, float(omega0))
    if omega_spread > 0:
        omega = omega + omega_spread * s_omega.standard_normal(n_links)
    return Network(
        indptr=a.indptr.astype(np.int64),
        indices=a.indices.astype(np.int64),
        weights=a.data.astype(np.float64),
        link_target=link_target,
        phi_indptr=phi_indptr,
        phi_indices=phi_indices,
        w_in=w_in,
        omega=omega,
    )
