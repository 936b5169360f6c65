"""Train a simulated device in another process, in the loop, with MGD's black-box driver.

The "device" is a small network (Fashion-MNIST pooled to 7x7, dense 49-16-10, 970 parameters, NumPy float64)
running in a separate process. Like a chip, it can only be told a parameter vector and a batch of its own
stored samples, and answer one scalar cost; it knows nothing of MGD. The trainer talks to it over a
multiprocessing pipe, sending (request id, parameters, sample indices) and waiting for the answer with a
timeout. A simulated faulty device fails a fraction of its measurements: it reports an error, answers NaN,
or hangs past the timeout. The driver's failure policy retries, then skips; the failures are logged.

Run::

    python examples/device_in_the_loop.py                    # reliable device, in-process and remote
    python examples/device_in_the_loop.py --fail-rate 0.1    # 10 % of measurements fail

Same seed, same result: the remote run reaches exactly the in-process accuracy (checked in
tests/test_blackbox.py).
"""

from __future__ import annotations

import argparse
import itertools
import logging
import multiprocessing as mp
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from astroglia.datasets import load_dataset
from astroglia.datasets.stream import BatchStream
from astroglia.mgd import MGDConfig
from astroglia.mgd.blackbox import BlackBoxMGD, FailurePolicy, MeasurementFailed

HIDDEN = 16
N_IN = 49
N_CLASSES = 10
N_PARAMS = N_IN * HIDDEN + HIDDEN + HIDDEN * N_CLASSES + N_CLASSES  # 970


def load_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The embedded Fashion-MNIST sample, 4x4-average-pooled to 49 features, standardised (float64)."""
    d = load_dataset("fashion-mnist", source="sample")

    def pool(x: np.ndarray) -> np.ndarray:
        x = x.astype(np.float64) / 255.0
        return x.reshape(len(x), 7, 4, 7, 4).mean(axis=(2, 4)).reshape(len(x), N_IN)

    x_tr, x_te = pool(d.x_train), pool(d.x_test)
    mu, sd = x_tr.mean(0), x_tr.std(0) + 1e-8
    return (x_tr - mu) / sd, d.y_train.astype(np.int64), (x_te - mu) / sd, d.y_test.astype(np.int64)


def initial_parameters(seed: int) -> np.ndarray:
    """Uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) weights and biases, shape (970,)."""
    rng = np.random.default_rng(seed)
    parts = [
        rng.uniform(-1, 1, N_IN * HIDDEN + HIDDEN) / np.sqrt(N_IN),
        rng.uniform(-1, 1, HIDDEN * N_CLASSES + N_CLASSES) / np.sqrt(HIDDEN),
    ]
    return np.concatenate(parts)


def forward(theta: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Logits (n, 10) of the 49-16-10 ReLU network with flat parameters ``theta`` (970,)."""
    i = 0
    w1 = theta[i : i + N_IN * HIDDEN].reshape(N_IN, HIDDEN)
    i += N_IN * HIDDEN
    b1 = theta[i : i + HIDDEN]
    i += HIDDEN
    w2 = theta[i : i + HIDDEN * N_CLASSES].reshape(HIDDEN, N_CLASSES)
    i += HIDDEN * N_CLASSES
    b2 = theta[i : i + N_CLASSES]
    return np.maximum(x @ w1 + b1, 0.0) @ w2 + b2


class Device:
    """The simulated device: stores the data, measures the cost of a parameter vector on stored samples.

    Args:
        fail_rate: probability that a measurement fails (0: reliable). A failure is an error report (45 %),
            a NaN answer (45 %) or a hang of ``hang_s`` seconds (10 %), drawn from ``seed``.
        hang_s: how long a hanging measurement takes.
        seed: seed of the failures.
    """

    def __init__(self, fail_rate: float = 0.0, hang_s: float = 0.3, seed: int = 0) -> None:
        self.x_train, self.y_train, self.x_test, self.y_test = load_data()
        self.fail_rate = fail_rate
        self.hang_s = hang_s
        self.rng = np.random.default_rng(seed)

    def cost(self, theta: np.ndarray, indices: np.ndarray) -> float:
        """Mean cross-entropy of the network at ``theta`` on the stored training samples ``indices``."""
        if self.fail_rate > 0 and self.rng.random() < self.fail_rate:
            u = self.rng.random()
            if u < 0.45:
                raise RuntimeError("device readout error")
            if u < 0.9:
                return float("nan")
            time.sleep(self.hang_s)
        z = forward(theta, self.x_train[indices])
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-logp[np.arange(len(indices)), self.y_train[indices]].mean())

    def accuracy(self, theta: np.ndarray) -> float:
        """Test accuracy of the network at ``theta`` on the stored test split."""
        return float((forward(theta, self.x_test).argmax(1) == self.y_test).mean())


def serve(conn: Any, fail_rate: float, hang_s: float, seed: int) -> None:
    """The device process: answer ("cost", id, theta, indices) and ("accuracy", id, theta) until ("close",).

    Answers are (id, "ok", value) or (id, "error", message).
    """
    device = Device(fail_rate, hang_s, seed)
    conn.send(("ready",))
    while True:
        msg = conn.recv()
        if msg[0] == "close":
            return
        kind, rid, theta = msg[0], msg[1], msg[2]
        try:
            value = device.cost(theta, msg[3]) if kind == "cost" else device.accuracy(theta)
            conn.send((rid, "ok", value))
        except Exception as exc:  # reported, like a chip's error flag
            conn.send((rid, "error", f"{type(exc).__name__}: {exc}"))


class DeviceError(RuntimeError):
    """An error the device reported for one measurement."""


class RemoteDevice:
    """The trainer's side of the pipe: ``device(point, indices) -> cost`` with a timeout.

    Requests carry ids. After a timeout the device is still busy with the timed-out request; before the
    next request the client waits (up to ``recover_s``) for that late answer and discards it, so one hang
    costs one failed measurement, not a cascade of them.
    """

    def __init__(
        self,
        fail_rate: float = 0.0,
        hang_s: float = 0.3,
        seed: int = 0,
        timeout_s: float = 5.0,
        recover_s: float = 30.0,
    ) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=serve, args=(child, fail_rate, hang_s, seed), daemon=True)
        self.process.start()
        if not self.conn.poll(120) or self.conn.recv() != ("ready",):
            self.process.terminate()
            raise RuntimeError("the device process did not start")
        self.timeout_s = timeout_s
        self.recover_s = recover_s
        self._ids = itertools.count()
        self._late: set[int] = set()

    def _request(self, *msg: Any, timeout_s: float) -> float:
        while self._late and self.conn.poll(self.recover_s):  # let the device finish a timed-out request
            self._late.discard(self.conn.recv()[0])
        rid = next(self._ids)
        self.conn.send((msg[0], rid, *msg[1:]))
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self.conn.poll(left):
                self._late.add(rid)
                raise TimeoutError(f"no answer within {timeout_s} s")
            got, status, value = self.conn.recv()
            if got != rid:
                self._late.discard(got)
                continue  # the late answer to an earlier, timed-out request
            if status == "error":
                raise DeviceError(value)
            return value

    def __call__(self, point: np.ndarray, indices: np.ndarray) -> float:
        return self._request("cost", point, indices, timeout_s=self.timeout_s)

    def accuracy(self, theta: np.ndarray) -> float:
        return self._request("accuracy", theta, timeout_s=60.0)

    def close(self) -> None:
        self.conn.send(("close",))
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.terminate()


class IndexBatches:
    """Input stream of seeded, shuffled sample indices (the device holds the samples)."""

    def __init__(self, n: int, batch_size: int, seed: int) -> None:
        self.stream = BatchStream(n, batch_size, seed)

    def next(self) -> tuple[np.ndarray, int]:
        idx = self.stream.next_indices()
        return idx, len(idx)

    def state_dict(self) -> dict[str, Any]:
        return self.stream.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.stream.load_state_dict(state)


@dataclass
class Outcome:
    accuracy: float
    theta: np.ndarray
    failures: list
    evaluations: int
    skipped: int
    wall_s: float


def config(seed: int = 0, k: int = 8) -> MGDConfig:
    """K = 8 perturbations per minibatch of 200 and per update; effective SGD rate eta K / P = 0.04."""
    return MGDConfig(eta=5.0, delta_theta=0.1, tau_x=k, tau_theta=k, tau_p=1, seed=seed)


def train(
    measure: Any,
    accuracy: Any,
    steps: int,
    *,
    seed: int = 0,
    policy: FailurePolicy | None = None,
) -> Outcome:
    """Train from ``initial_parameters(seed)`` for ``steps`` MGD steps, measuring with ``measure``."""
    driver = BlackBoxMGD(
        initial_parameters(seed),
        config(seed),
        policy=policy,
        stream=IndexBatches(4000, 200, seed),
    )
    start = time.perf_counter()
    driver.run(measure, steps)
    wall = time.perf_counter() - start
    c = driver.engine.counters
    return Outcome(accuracy(driver.theta), driver.theta, driver.failures, c.evaluations, c.skipped, wall)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=4000, help="MGD steps (default 4000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of initialisation, data order, codes")
    parser.add_argument("--fail-rate", type=float, default=0.0, help="fraction of failing measurements")
    parser.add_argument("--retries", type=int, default=1, help="retries of a failed measurement")
    parser.add_argument("--timeout-s", type=float, default=0.1, help="measurement timeout, seconds")
    args = parser.parse_args()
    if not 0 <= args.fail_rate < 1:
        parser.error(
            f"--fail-rate {args.fail_rate}: must be in [0, 1) (a device that always fails cannot train)"
        )
    if not args.timeout_s > 0:
        parser.error(f"--timeout-s {args.timeout_s}: must be > 0")
    for name in ("steps", "retries", "seed"):
        low = 1 if name == "steps" else 0
        if getattr(args, name) < low:
            parser.error(f"--{name} {getattr(args, name)}: must be >= {low}")

    logging.getLogger("astroglia.mgd.blackbox").setLevel(logging.ERROR)  # summarised below instead
    local = Device()
    policy = FailurePolicy(retries=args.retries, on_failure="skip")
    ref = train(local.cost, local.accuracy, args.steps, seed=args.seed)
    print(f"in-process:     test accuracy {ref.accuracy:.4f}  ({ref.evaluations} evals, {ref.wall_s:.1f} s)")
    remote = RemoteDevice(args.fail_rate, hang_s=3 * args.timeout_s, seed=args.seed, timeout_s=args.timeout_s)
    try:
        out = train(remote, remote.accuracy, args.steps, seed=args.seed, policy=policy)
    except MeasurementFailed as exc:  # e.g. max_consecutive_failures in a row
        parser.exit(1, f"device process: training stopped: {exc}\n")
    finally:
        remote.close()
    print(f"device process: test accuracy {out.accuracy:.4f}  ({out.evaluations} evals, {out.wall_s:.1f} s)")
    if args.fail_rate == 0:
        print(f"identical parameters: {np.array_equal(out.theta, ref.theta)}")
    reasons = Counter(f.reason for f in out.failures)
    actions = Counter(f.action for f in out.failures)
    print(
        f"failures: {len(out.failures)} {dict(reasons)}; actions {dict(actions)}; skipped steps {out.skipped}"
    )
    for f in out.failures[:5]:
        print(f"  step {f.step} {f.kind} attempt {f.attempt}: {f.reason} ({f.detail}) -> {f.action}")


if __name__ == "__main__":
    main()
