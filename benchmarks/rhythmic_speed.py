"""Steps per second of the Rhythmic Sharing kernels, against the NumPy reference and a ReservoirPy ESN.

One run prints one table (teacher-forced runs on a random 3-D input, networks with k = 10, rho = 0.6):

- N = 100, k_Phi = 50 (the reference task's network): the compiled kernel on one thread vs the plain NumPy
  reference loop.
- N = 1000, k_Phi = 50 (the estimator's default coupling degree): the compiled kernel, on one thread and on
  all of numba's threads, vs a ReservoirPy ``Reservoir`` of the same size and degree (a static-link ESN:
  ``N k`` multiply-adds per step, against the model's ``L k_Phi`` coupling gathers, ``L = nnz(A)``).
- N = 1000, k_Phi = 500 (the spec's default ``N / 2``): the same, ten times the coupling work.
- N = 1000, static links: the compiled kernel with m = 0 and frozen phases (exactly an ESN) vs ReservoirPy.
- Equal work: a ReservoirPy ESN of N = 1000 with as many recurrent weights as the k_Phi = 50 model has links
  and couplings together (``nnz(W) ~ L + nnz(A_Phi)``), vs the model on one thread.

Every contender runs its whole series in one call (numba compilation and ReservoirPy initialisation happen
in a warm-up call first), records the node states, and is timed ``--rounds`` times; the contenders are
interleaved round by round so that a change in machine load hits all of them alike. Steps per second are
given as the median over rounds with the range (min-max); a ratio is the median (and range) of the
per-round ratios. ReservoirPy is in the optional ``bench`` extra; without it those rows say so.

Usage: python benchmarks/rhythmic_speed.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

import numba
import numpy as np

from astroglia.rhythmic.kernel import Params, State, drive, drive_reference
from astroglia.rhythmic.network import Network, build_network


def _net(n: int, k_phi: float, seed: int = 0) -> tuple[Network, State]:
    net = build_network(
        np.random.default_rng(seed),
        n_nodes=n,
        n_inputs=3,
        degree=10,
        spectral_radius=0.6,
        sigma_in=1.2,
        k_phi=k_phi,
        omega0=0.01,
    )
    rng = np.random.default_rng(1)
    return net, State(np.zeros(n), rng.uniform(0, 2 * np.pi, net.n_links))


def _reservoirpy(n: int, degree: float, u: np.ndarray) -> Callable[[], object] | None:
    """A warmed-up ``Reservoir.run`` over ``u``, or None without ReservoirPy."""
    try:
        from reservoirpy.nodes import Reservoir
    except ImportError:
        return None
    res = Reservoir(units=n, sr=0.6, lr=1.0, rc_connectivity=degree / n, input_scaling=1.2, seed=0)
    res.run(u[:10])  # initialise the weights
    return lambda: res.run(u)


def _fmt(rates: list[float]) -> str:
    return f"{statistics.median(rates):,.0f} ({min(rates):,.0f}-{max(rates):,.0f})"


def _fmt_ratio(a: list[float], b: list[float]) -> str:
    r = [x / y for x, y in zip(a, b, strict=True)]
    lo, med, hi = min(r), statistics.median(r), max(r)
    digits = 1 if med >= 0.95 else 3 if med < 0.1 else 2
    return f"{med:.{digits}f}x ({lo:.{digits}f}-{hi:.{digits}f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5, help="timed calls per contender, interleaved")
    args = ap.parse_args()
    rng = np.random.default_rng(2)
    p = Params()
    threads = numba.get_num_threads()

    net100, s100 = _net(100, 50)
    net50, s50 = _net(1000, 50)
    net500, s500 = _net(1000, 500)
    u100 = rng.normal(size=(20000, 3))
    u1k = rng.normal(size=(3000, 3))
    u_long = u1k[:300]
    equal_degree = (net50.n_links + net50.phi_indices.shape[0]) / 1000

    # name -> (callable, steps per call)
    contenders: dict[str, tuple[Callable[[], object] | None, int]] = {
        "ref100": (lambda: drive_reference(net100, p, s100, u100[:1000]), 1000),
        "fast100": (lambda: drive(net100, p, s100, u100, parallel=False), 20000),
        "fast50": (lambda: drive(net50, p, s50, u1k, parallel=False), 3000),
        "par50": (lambda: drive(net50, p, s50, u1k, parallel=True), 3000),
        "fast500": (lambda: drive(net500, p, s500, u_long, parallel=False), 300),
        "par500": (lambda: drive(net500, p, s500, u_long, parallel=True), 300),
        "static": (lambda: drive(net50, Params(m=0.0), s50, u1k, evolve_phases=False, parallel=False), 3000),
        "rpy": (_reservoirpy(1000, 10, u1k), 3000),
        "rpy_equal": (_reservoirpy(1000, equal_degree, u_long), 300),
    }
    live = {k: v for k, v in contenders.items() if v[0] is not None}
    for fn, _ in live.values():
        fn()  # warm-up: compilation (cached), first-call costs
    rates: dict[str, list[float]] = {k: [] for k in live}
    for _ in range(args.rounds):
        for name, (fn, steps) in live.items():
            t = time.perf_counter()
            fn()
            rates[name].append(steps / (time.perf_counter() - t))

    def row(n: int, net: Network, ours: str, a: str, base: str, b: str) -> str:
        cells = [str(n), f"{net.n_links:,}", f"{net.phi_indices.shape[0]:,}", ours, _fmt(rates[a]), base]
        if b not in rates:
            return "| " + " | ".join([*cells, "not installed (pip install reservoirpy)", "–"]) + " |"
        return "| " + " | ".join([*cells, _fmt(rates[b]), _fmt_ratio(rates[a], rates[b])]) + " |"

    cpu = platform.processor() or platform.machine()
    print(f"machine: {cpu}, {os.cpu_count()} cores, numba {numba.__version__} ({threads} threads), ", end="")
    print(f"Python {platform.python_version()}; {args.rounds} interleaved rounds: median (min-max)")
    print("| N | links L | couplings nnz(A_Phi) | ours | steps/s | baseline | steps/s | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    esn = "ReservoirPy ESN, N = 1000, k = 10"
    print(row(100, net100, "numba kernel, 1 thread", "fast100", "NumPy reference", "ref100"))
    print(row(1000, net50, "numba kernel, 1 thread", "fast50", esn, "rpy"))
    print(row(1000, net50, f"numba kernel, {threads} threads", "par50", esn, "rpy"))
    print(row(1000, net500, "numba kernel (k_Phi = N/2), 1 thread", "fast500", esn, "rpy"))
    print(row(1000, net500, f"numba kernel (k_Phi = N/2), {threads} threads", "par500", esn, "rpy"))
    print(row(1000, net50, "numba, static links (m = 0, no phases), 1 thread", "static", esn, "rpy"))
    equal = f"ReservoirPy ESN, N = 1000, k = {equal_degree:.0f} (equal work)"
    print(row(1000, net50, "numba kernel, 1 thread", "fast50", equal, "rpy_equal"))


if __name__ == "__main__":
    main()
