r"""Scale-out of MGD on ``torch.distributed``: workers exchange scalar costs only (specs/mgd.md section 10).

Every worker runs the same :class:`~astroglia.mgd.engine.MGDEngine` (same objective and initial parameters,
same config and seed, same input stream). A call :meth:`DistributedMGD.step` ``(K)`` takes K engine steps as
:meth:`~astroglia.mgd.engine.MGDEngine.step_batched` does, with the measurement shared out:

1. every worker regenerates all K perturbations of the run from ``(seed, index)``;
2. worker ``r`` of ``W`` evaluates the perturbations ``i = r, r + W, r + 2W, ...`` (in one batched call) and
   worker 0 also the baseline :math:`C_0` when one is due (as an extra zero perturbation of its call, as
   :meth:`~astroglia.mgd.engine.MGDEngine.step_batched` measures it on one process);
3. one ``all_gather`` of ``1 + ceil(K/W)`` float64 numbers per worker (the baseline slot, then the worker's
   costs, padded with NaN) gives every worker all K costs and worker 0's :math:`C_0`;
4. every worker feeds the same costs in the same order through the engine's ``tell``, so all apply the
   identical update and hold bit-identical parameters, without ever sending one.

Bytes exchanged per call: each worker sends :math:`8(1 + \lceil K/W \rceil)` bytes and receives
:math:`8W(1 + \lceil K/W \rceil)` (its own share included), O(K + W), independent of the number of
parameters P; :attr:`DistributedMGD.bytes_sent` / ``bytes_received`` count them.

Launch with ``torchrun --nproc-per-node W script.py`` and call :func:`init_distributed` (``gloo`` on CPU,
``nccl`` with CUDA), or spawn processes yourself (tests/test_distributed.py does, with gloo on localhost).
The NCCL path (payload on the current CUDA device) is written device-agnostically but was not run on a GPU.
"""

from __future__ import annotations

import math
import os
from typing import Any

import torch
import torch.distributed as dist

from astroglia.mgd.engine import MGDEngine, StepResult
from astroglia.mgd.objective import cost_many, costs_with_baseline

__all__ = ["DistributedMGD", "init_distributed"]


def init_distributed(backend: str | None = None) -> tuple[int, int]:
    """Initialise the default process group from torchrun's environment (if not done); return (rank, W).

    Args:
        backend: ``"gloo"`` or ``"nccl"``; default ``nccl`` when CUDA is available, else ``gloo``. With nccl
            the current CUDA device is set to ``LOCAL_RANK``.
    """
    if not dist.is_initialized():
        if backend is None:
            backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
        dist.init_process_group(backend=backend)
    return dist.get_rank(), dist.get_world_size()


class DistributedMGD:
    """Share each step's perturbed measurements among the workers of a process group.

    Args:
        engine: this worker's engine, built identically on every worker.
        group: the process group (default: the default group, which must be initialised).
        check_replicas: at construction, verify over the group (a few scalars) that every worker starts
            from the same parameters, code and configuration, and raise ValueError if not.

    Attributes:
        rank, world_size: this worker's rank and the number of workers W.
        bytes_sent, bytes_received: payload bytes this worker exchanged in :meth:`step` so far.
        last_step_bytes: (sent, received) by the last :meth:`step` call.
    """

    def __init__(self, engine: MGDEngine, *, group: Any = None, check_replicas: bool = True) -> None:
        if not dist.is_initialized():
            raise RuntimeError(
                "torch.distributed is not initialised; call astroglia.mgd.distributed.init_distributed() "
                "under torchrun, or dist.init_process_group(...)"
            )
        self.engine = engine
        self.group = group
        self.rank = dist.get_rank(group)
        self.world_size = dist.get_world_size(group)
        backend = dist.get_backend(group)
        self._device = (
            torch.device("cuda", torch.cuda.current_device()) if backend == "nccl" else torch.device("cpu")
        )
        self.bytes_sent = 0
        self.bytes_received = 0
        self.last_step_bytes = (0, 0)
        if check_replicas:
            self._check_replicas()

    def _check_replicas(self) -> None:
        th = self.engine.theta.detach().to(torch.float64)
        cfg = self.engine.config
        sig = torch.tensor(
            [
                float(th.numel()),
                float(th.sum()),
                float((th * th).sum()),
                float(self.engine.code.seed),
                float(cfg.tau_x),
                float(cfg.tau_theta),
                float(cfg.tau_p),
                float(self.engine.counters.steps),
            ],
            dtype=torch.float64,
            device=self._device,
        )
        all_sigs = [torch.empty_like(sig) for _ in range(self.world_size)]
        dist.all_gather(all_sigs, sig, group=self.group)
        for r, other in enumerate(all_sigs):
            if not torch.equal(other, sig):
                raise ValueError(
                    f"worker {r} differs from worker {self.rank} in (P, sum theta, sum theta^2, seed, tau_x, "
                    f"tau_theta, tau_p, steps): {other.tolist()} vs {sig.tolist()}; build the engine "
                    "identically (same initial parameters, seed and configuration) on every worker"
                )

    def share(self, m: int) -> range:
        """The perturbation rows ``i < m`` this worker evaluates: ``rank, rank + W, ...``."""
        return range(self.rank, m, self.world_size)

    def _evaluate(
        self, theta: torch.Tensor, batch: Any, perturbations: torch.Tensor, need_baseline: bool
    ) -> tuple[float | None, torch.Tensor]:
        m = perturbations.shape[0]
        w = self.world_size
        width = 1 + math.ceil(m / w)
        payload = torch.full((width,), float("nan"), dtype=torch.float64, device=self._device)
        mine = list(self.share(m))
        objective = self.engine.objective
        local: torch.Tensor | None = None
        if need_baseline and self.rank == 0:  # the baseline with this worker's share, as on one process
            stack = torch.cat([perturbations.new_zeros(1, perturbations.shape[1]), perturbations[mine]])
            payload[0], local = costs_with_baseline(objective, theta, batch, stack)
        elif mine:
            local = cost_many(objective, theta, batch, perturbations[mine])
        if mine:
            payload[1 : 1 + len(mine)] = torch.as_tensor(local, dtype=torch.float64).to(self._device)
        gathered = [torch.empty_like(payload) for _ in range(w)]
        dist.all_gather(gathered, payload, group=self.group)
        sent = payload.numel() * payload.element_size()
        received = sent * w
        self.bytes_sent += sent
        self.bytes_received += received
        self._step_bytes[0] += sent
        self._step_bytes[1] += received
        costs = torch.empty(m, dtype=torch.float64)
        for r, part in enumerate(gathered):
            rows = list(range(r, m, w))
            costs[rows] = part[1 : 1 + len(rows)].cpu()
        baseline = float(gathered[0][0]) if need_baseline else None
        return baseline, costs

    def step(self, k: int) -> list[StepResult]:
        """Take ``k`` engine steps with the perturbed measurements shared among the workers.

        Same arithmetic as ``engine.step_batched(k)`` on one process (the costs are the same numbers, up
        to the float rounding of evaluating a different number of perturbations per batched call); every
        worker ends with bit-identical parameters.
        """
        self._step_bytes = [0, 0]
        results = self.engine.step_batched(k, evaluate=self._evaluate)
        self.last_step_bytes = (self._step_bytes[0], self._step_bytes[1])
        return results
