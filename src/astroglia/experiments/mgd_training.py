"""Train a classifier by MGD with logging, checkpoints, resume and a progress bar, into a run directory."""

from __future__ import annotations

import json
import signal
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from astroglia.config import check
from astroglia.errors import AstrogliaError, ConfigError, NonFiniteCostError
from astroglia.experiments.setup import PreparedTask
from astroglia.metrics.classification import evaluate_classifier
from astroglia.mgd.config import MGDConfig
from astroglia.mgd.engine import MGDEngine
from astroglia.mgd.objective import ModuleObjective
from astroglia.mgd.streams import TensorBatches
from astroglia.runs import RunDir, read_metrics

CHECKPOINT = "checkpoints/last.pt"


class TrainingStopped(AstrogliaError):
    """Training stopped before its end (non-finite cost, a failing cost function, Ctrl-C); state was kept."""


class NothingToResume(ConfigError):
    """``resume`` was asked of a run that has already reached its step count or time budget."""


class DeferredInterrupt:
    """Within the block, a first Ctrl-C (SIGINT) sets :attr:`requested` instead of raising, so that a loop
    can stop between two steps and save a consistent checkpoint; a second Ctrl-C raises KeyboardInterrupt
    at once. Outside the main thread (where signals cannot be handled) it does nothing."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> DeferredInterrupt:
        self.requested = False
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


@dataclass
class RunControl:
    """How long to train and how often to log and checkpoint (steps are MGD time steps)."""

    steps: int = field(default=20000, metadata={"help": "MGD steps to take in total"})
    time_budget_s: float | None = field(
        default=None, metadata={"help": "stop after this many seconds of training (wall clock), if sooner"}
    )
    log_every: int = field(default=500, metadata={"help": "steps between log points (test accuracy)"})
    checkpoint_every: int = field(default=5000, metadata={"help": "steps between checkpoints"})
    progress: bool = field(default=True, metadata={"help": "show a progress bar"})
    batched: int = field(
        default=1,
        metadata={
            "help": "take up to this many steps per call of MGDEngine.step_batched: steps that share an "
            "input and theta are measured in one vectorised forward pass (faster when tau_x and tau_theta "
            "are > 1; equal to one step at a time up to float rounding); 1: one step at a time"
        },
    )

    def validate(self) -> None:
        """Raise ConfigError naming the first invalid field."""
        check(self.steps >= 1, "steps", self.steps, "must be >= 1")
        if self.time_budget_s is not None:
            check(self.time_budget_s > 0, "time_budget_s", self.time_budget_s, "must be > 0")
        check(self.log_every >= 1, "log_every", self.log_every, "must be >= 1")
        check(self.checkpoint_every >= 1, "checkpoint_every", self.checkpoint_every, "must be >= 1")
        check(self.batched >= 1, "batched", self.batched, "must be >= 1")


def _atomic_save(obj: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


def make_engine(task: PreparedTask, mgd: MGDConfig) -> tuple[MGDEngine, torch.nn.Module]:
    """A fresh engine on a freshly initialised network and a seeded training stream."""
    model = task.network()
    model.eval()
    objective = ModuleObjective(model, task.loss_fn)
    t = task.tensors
    stream = TensorBatches(t.x_train, t.y_train, task.config.batch_size, seed=task.config.seed)
    return MGDEngine(objective, mgd, stream), model


def check_batched(control: RunControl, mgd: MGDConfig) -> None:
    """Raise ConfigError when ``control.batched > 1`` cannot batch anything: a batch holds steps that
    share an input and theta, so it needs ``tau_x > 1`` and ``tau_theta > 1`` (and is at most the smaller
    of them)."""
    if control.batched > 1 and min(mgd.tau_x, mgd.tau_theta) == 1:
        check(
            False,
            "batched",
            control.batched,
            f"has no effect with tau_x = {mgd.tau_x} and tau_theta = {mgd.tau_theta}: a batch holds steps "
            "that share an input and theta; set tau_x and tau_theta to it too (e.g. --tau-x 32 "
            "--tau-theta 32 --batched 32)",
        )


def train_mgd(
    task: PreparedTask, mgd: MGDConfig, control: RunControl, run: RunDir, *, resume: bool = False
) -> dict[str, Any]:
    """Train ``task``'s network by MGD, logging to ``run``; return the summary (also written to summary.json).

    Log points (``metrics.jsonl``): step, evaluations, samples, wall_s (training time only, test evaluations
    excluded), train_cost (mean unperturbed cost C0 over the steps since the last log point),
    test_accuracy and
    test_loss on the dataset's test split, evals_per_s. A checkpoint is written every ``checkpoint_every``
    steps and at the end; with ``resume`` the run continues from it bit-identically. With
    ``control.batched > 1`` that holds when the first run ended at a multiple of ``batched``, a log point or a
    checkpoint (a time-budget stop always does); a run that ended at another ``steps`` continues equal to
    the uninterrupted one up to float rounding (its batches were split there).

    Raises:
        TrainingStopped: on a non-finite cost or an exception from the network/loss; the last checkpoint and
            all log points written so far are kept, and ``summary.json`` records where and why it stopped.
    """
    control.validate()
    mgd.validate()
    check_batched(control, mgd)
    engine, model = make_engine(task, mgd)
    t = task.tensors
    ckpt_path = run.path / CHECKPOINT
    wall = 0.0
    cost_sum, cost_n = 0.0, 0
    if resume:
        if not ckpt_path.exists():
            raise TrainingStopped(f"--resume given but there is no checkpoint at {ckpt_path}")
        state = torch.load(ckpt_path, weights_only=False)
        if state["task"] != asdict(task.config) or state["mgd"] != asdict(mgd):
            raise TrainingStopped(
                f"the checkpoint in {ckpt_path} was written with another configuration; resume with the same "
                "options (only --steps and --time-budget-s may change)"
            )
        engine.load_state_dict(state["engine"])
        wall = state["wall_s"]
        cost_sum, cost_n = state["cost_sum"], state["cost_n"]
        done, budget = engine.counters.steps, control.time_budget_s
        ended = []
        if done >= control.steps:
            ended.append(f"it has its {done} steps; raise --steps")
        if budget is not None and wall >= budget:
            ended.append(f"it used {wall:.1f} s of its {budget:g} s budget; raise --time-budget-s")
        if ended:
            raise NothingToResume(f"--resume: nothing to do for the run in {run.path}: " + "; ".join(ended))
        kept = [r for r in read_metrics(run.path) if r["step"] <= engine.counters.steps]
        run.metrics_path.write_text("".join(json.dumps(r) + "\n" for r in kept))

    def checkpoint() -> None:
        _atomic_save(
            {
                "task": asdict(task.config),
                "mgd": asdict(mgd),
                "engine": engine.state_dict(),
                "wall_s": wall,
                "cost_sum": cost_sum,
                "cost_n": cost_n,
            },
            ckpt_path,
        )

    def log_point() -> dict[str, Any]:
        engine.sync_parameters()
        score = evaluate_classifier(model, t.x_test, t.y_test, task.loss_fn)
        c = engine.counters
        record = {
            "step": c.steps,
            "evaluations": c.evaluations,
            "samples": c.samples,
            "updates": c.updates,
            "wall_s": wall,
            "train_cost": cost_sum / cost_n if cost_n else None,
            "test_accuracy": score.accuracy,
            "test_loss": score.loss,
            "evals_per_s": c.evaluations / wall if wall > 0 else None,
        }
        run.log(record)
        return record

    last = log_point() if engine.counters.steps == 0 else read_metrics(run.path)[-1]
    status = "completed"
    error: str | None = None
    budget = control.time_budget_s
    bar = tqdm(
        total=control.steps if budget is None else None,  # with a time budget the step count is open
        initial=min(engine.counters.steps, control.steps),
        desc="MGD" if budget is None else f"MGD ({budget:g} s budget)",
        unit="step",
        disable=None if control.progress else True,  # None: no bar when not on a terminal
        dynamic_ncols=True,
        mininterval=0.5,
    )
    interrupt = DeferredInterrupt()
    try:
        with interrupt:
            while engine.counters.steps < control.steps and not interrupt.requested:
                if budget is not None and wall >= budget:
                    status = "time budget reached"
                    break
                steps = engine.counters.steps
                # batches end at multiples of `batched` and at every log point and checkpoint: fixed
                # positions, so that a run resumed from any of them splits its later batches as the
                # uninterrupted run does
                k = min(
                    control.batched - steps % control.batched,
                    control.steps - steps,
                    control.log_every - steps % control.log_every,
                    control.checkpoint_every - steps % control.checkpoint_every,
                )
                start = time.perf_counter()
                try:
                    results = engine.step_batched(k) if control.batched > 1 else [engine.step()]
                finally:
                    wall += time.perf_counter() - start
                cost_sum += sum(r.baseline for r in results)
                cost_n += len(results)
                bar.update(len(results))
                steps = engine.counters.steps
                if steps % control.log_every == 0 or steps == control.steps:
                    last = log_point()
                    cost_sum, cost_n = 0.0, 0
                    bar.set_postfix(
                        cost=f"{last['train_cost']:.4f}",
                        test_acc=f"{last['test_accuracy']:.3f}",
                        evals_s=f"{last['evals_per_s']:.0f}",
                    )
                if steps % control.checkpoint_every == 0:
                    checkpoint()
    except NonFiniteCostError as exc:
        status, error = "stopped: non-finite cost", str(exc)
    except (KeyboardInterrupt, Exception) as exc:  # keep what we have, then report
        name = type(exc).__name__
        status, error = f"stopped: {name}", f"{name}: {exc}" if str(exc) else name
    finally:
        bar.close()
    if interrupt.requested and error is None:
        status = "stopped: interrupted (Ctrl-C)"
    if error is None:
        if last["step"] != engine.counters.steps:
            last = log_point()
        checkpoint()
    summary = _summary(task, engine, last, wall, status, error, ckpt_path if ckpt_path.exists() else None)
    run.write_summary(summary)
    if interrupt.requested and error is None:
        raise TrainingStopped(
            f"training interrupted (Ctrl-C) at step {engine.counters.steps}; checkpoint saved at "
            f"{ckpt_path}: --resume continues the run (a second Ctrl-C stops at once, keeping only the last "
            "checkpoint)"
        )
    if error is not None:
        saved = (
            torch.load(ckpt_path, weights_only=False)["engine"]["counters"]["steps"]
            if ckpt_path.exists()
            else 0
        )
        where = f"{ckpt_path} (step {saved})" if saved else "not written (no checkpoint was reached)"
        raise TrainingStopped(
            f"training stopped at step {engine.counters.steps}: {error}. Log points up to then are in "
            f"{run.metrics_path}; the last good checkpoint: {where}"
        )
    return summary


def _summary(
    task: PreparedTask,
    engine: MGDEngine,
    last: dict[str, Any],
    wall: float,
    status: str,
    error: str | None,
    ckpt_path: Path | None,
) -> dict[str, Any]:
    c = engine.counters
    return {
        "method": f"MGD ({engine.config.code} codes, {engine.config.mode})",
        "network": task.config.network,
        "parameters": engine.n_params,
        "steps": c.steps,
        "evaluations": c.evaluations,
        "baseline_evaluations": c.baseline_evaluations,
        "updates": c.updates,
        "samples": c.samples,
        "wall_s": wall,
        "evals_per_s": c.evaluations / wall if wall > 0 else None,
        "effective_sgd_lr": engine.effective_learning_rate,
        "test_accuracy": last["test_accuracy"],
        "test_loss": last["test_loss"],
        "test_accuracy_at_step": last["step"],
        "dataset": task.dataset.metadata(),
        "test_split": task.dataset.test_split,
        "status": status,
        "error": error,
        "checkpoint": str(ckpt_path) if ckpt_path is not None else None,  # None: none was written
    }
