"""The classification experiment: MGD and backprop baselines on one task, recorded in a run directory."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from astroglia.experiments.backprop_training import DEFAULT_LR, BackpropConfig, train_backprop
from astroglia.experiments.mgd_training import (
    CHECKPOINT,
    NothingToResume,
    RunControl,
    TrainingStopped,
    check_batched,
    train_mgd,
)
from astroglia.experiments.setup import TaskConfig, prepare_task
from astroglia.mgd.config import MGDConfig
from astroglia.report import Section, write_html_report
from astroglia.report.training_report import training_sections
from astroglia.runs import RunDir, read_metrics


def _clear_previous_run(out: Path) -> None:
    """Remove the files a previous run wrote into ``out`` (a new run there replaces it whole)."""
    if not out.is_dir():
        return
    stale = [out / name for name in ("summary.json", "report.html", "metrics.jsonl", CHECKPOINT)]
    stale += sorted(out.glob("baseline_*.json")) + sorted((out / "figures").glob("*.png"))
    for path in stale:
        path.unlink(missing_ok=True)


def run_classification(
    task_cfg: TaskConfig,
    mgd_cfg: MGDConfig,
    control: RunControl,
    bp_cfg: BackpropConfig,
    out: str | Path,
    *,
    resume: bool = False,
    extra_sections: list[Section] | None = None,
) -> tuple[dict[str, Any], list[Section]]:
    """Train by MGD, then the backprop baselines; write figures and report.html; return (summary, sections).

    Everything is validated before data are loaded. The MGD seed is the task's seed.
    """
    for cfg in (task_cfg, mgd_cfg, control, bp_cfg):
        cfg.validate()
    check_batched(control, mgd_cfg)
    mgd_cfg.seed = task_cfg.seed
    config = {
        "task": asdict(task_cfg),
        "mgd": asdict(mgd_cfg),
        "control": asdict(control),
        "backprop": asdict(bp_cfg),
    }
    task = prepare_task(task_cfg)
    task.network()  # builds the network once, so that a shape error comes before anything is written
    if not resume:
        _clear_previous_run(Path(out))
    run = RunDir(out, config=config, seed=task_cfg.seed, kind="mgd-train", resume=resume)
    try:
        summary = train_mgd(task, mgd_cfg, control, run, resume=resume)
    except NothingToResume:
        # MGD has ended; a run stopped during its baselines (Ctrl-C) still needs them and its report
        if (run.path / "report.html").exists() and all(
            (run.path / f"baseline_{name}.json").exists() for name in bp_cfg.names()
        ):
            raise
        summary = json.loads((run.path / "summary.json").read_text())
    except TrainingStopped:
        # keep a readable record of what was done before the stop, then report the stop
        stopped = json.loads((run.path / "summary.json").read_text())
        sections = training_sections(run, stopped, read_metrics(run.path), {})
        write_html_report(run.path / "report.html", "astroglia: MGD training run (stopped)", sections)
        raise
    baselines: dict[str, tuple[list[dict[str, Any]], dict[str, Any]]] = {}
    for name in bp_cfg.names():
        lr = bp_cfg.sgd_lr if name == "sgd" else bp_cfg.adam_lr if name == "adam" else DEFAULT_LR[name]
        records, bsum = train_backprop(
            task,
            name,
            lr,
            steps=bp_cfg.bp_steps,
            time_budget_s=bp_cfg.bp_time_budget_s,
            log_every=bp_cfg.bp_log_every,
            progress=control.progress,
        )
        baselines[name] = (records, bsum)
        run.write_json(f"baseline_{name}.json", {"summary": bsum, "records": records})
    summary["baselines"] = {name: s for name, (_, s) in baselines.items()}
    run.write_summary(summary)
    sections = training_sections(run, summary, read_metrics(run.path), baselines)
    sections += extra_sections or []
    sections.append(Section("Configuration", code=json.dumps(config, indent=2)))
    write_html_report(
        run.path / "report.html", "astroglia: MGD training run", sections, subtitle=str(run.path)
    )
    return summary, sections
