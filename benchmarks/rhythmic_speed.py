"""Steps per second of the Rhythmic Sharing kernels, against the NumPy reference and a ReservoirPy ESN.

One run prints one table:
- N = 100 (spec network: k = 10, k_Phi = 50): the compiled kernel vs the plain NumPy reference loop.
- N = 1000 (k = 10, k_Phi = 50): the compiled kernel vs a ReservoirPy ``Reservoir`` of the same size and
  degree (a static-link ESN, which does far less work per step: no link phases, whose coupling costs
  L * k_Phi = 500,000 gathers per step), and the same kernel as a static ESN (m = 0, phases frozen).
  ReservoirPy is in the optional ``bench`` extra; without it those rows say so.

All runs are teacher-forced on a random 3-D input, single-threaded, best of ``--repeat`` timings, after a
warm-up call (numba compilation is cached and excluded).

Usage: python benchmarks/rhythmic_speed.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from astroglia.rhythmic.kernel import Params, State, drive, drive_reference
from astroglia.rhythmic.network import build_network


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def _net(n: int, seed: int = 0):
    net = build_network(
        np.random.default_rng(seed),
        n_nodes=n,
        n_inputs=3,
        degree=10,
        spectral_radius=0.6,
        sigma_in=1.2,
        k_phi=50,
        omega0=0.01,
    )
    rng = np.random.default_rng(1)
    return net, State(np.zeros(n), rng.uniform(0, 2 * np.pi, net.n_links))


def _reservoirpy_rate(n: int, u: np.ndarray, repeat: int) -> float | None:
    try:
        from reservoirpy.nodes import Reservoir
    except ImportError:
        return None
    res = Reservoir(units=n, sr=0.6, lr=1.0, rc_connectivity=10 / n, input_scaling=1.2, seed=0)
    res.run(u[:10])  # initialise
    return u.shape[0] / _best(lambda: res.run(u), repeat)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(2)
    p = Params()
    rows = []

    net, s0 = _net(100)
    u = rng.normal(size=(20000, 3))
    drive(net, p, s0, u[:10])
    fast = 20000 / _best(lambda: drive(net, p, s0, u), args.repeat)
    ref = 1000 / _best(lambda: drive_reference(net, p, s0, u[:1000]), args.repeat)
    rows.append(("100", f"{net.n_links}", "numba kernel", fast, "NumPy reference", ref))

    net, s0 = _net(1000)
    u = rng.normal(size=(3000, 3))
    drive(net, p, s0, u[:10])
    fast = 3000 / _best(lambda: drive(net, p, s0, u), args.repeat)
    rpy = _reservoirpy_rate(1000, u, args.repeat)
    rows.append(("1000", f"{net.n_links}", "numba kernel", fast, "ReservoirPy Reservoir (ESN)", rpy))
    p0 = Params(m=0.0)
    static = 3000 / _best(lambda: drive(net, p0, s0, u, evolve_phases=False), args.repeat)
    rows.append(
        ("1000", f"{net.n_links}", "numba, static links (m=0, no phases)", static, "ReservoirPy ESN", rpy)
    )

    cpu = platform.processor() or platform.machine()
    print(f"machine: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("| N | links L | ours | steps/s | baseline | steps/s | ratio |")
    print("|---|---|---|---|---|---|---|")
    for n, links, a, ra, b, rb in rows:
        if rb is None:
            print(f"| {n} | {links} | {a} | {ra:,.0f} | {b} | not installed (pip install reservoirpy) | – |")
        else:
            print(f"| {n} | {links} | {a} | {ra:,.0f} | {b} | {rb:,.0f} | {ra / rb:.1f}x |")


if __name__ == "__main__":
    main()
