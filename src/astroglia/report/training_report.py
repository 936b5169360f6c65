"""The report of a classification run: MGD against backprop baselines, figures and summary table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from astroglia.report.html import Section
from astroglia.report.training_figures import plot_accuracy_curves
from astroglia.runs import RunDir

_COLUMNS = ("method", "parameters", "steps", "evaluations", "samples", "wall_s", "test_accuracy")


def training_sections(
    run: RunDir,
    mgd_summary: Mapping[str, Any],
    mgd_records: Sequence[Mapping[str, Any]],
    baselines: Mapping[str, tuple[Sequence[Mapping[str, Any]], Mapping[str, Any]]],
) -> list[Section]:
    """Figures (written into ``run``) and report sections comparing MGD with the backprop baselines."""
    curves: dict[str, Sequence[Mapping[str, Any]]] = {mgd_summary["method"]: mgd_records}
    for records, summary in baselines.values():
        curves[summary["method"]] = records
    split = str(mgd_summary.get("test_split", ""))
    fig_main = plot_accuracy_curves(
        curves, run.figure("accuracy_vs_samples_and_time"), x_keys=("samples", "wall_s"), test_split=split
    )
    fig_evals = plot_accuracy_curves(
        {mgd_summary["method"]: mgd_records},
        run.figure("mgd_accuracy_vs_evaluations"),
        x_keys=("evaluations",),
    )
    rows = [{k: mgd_summary.get(k) for k in _COLUMNS}]
    rows += [{k: s.get(k) for k in _COLUMNS} for _, s in baselines.values()]
    for row in rows:
        if row["test_accuracy"] is not None:
            row["test_accuracy"] = f"{100 * row['test_accuracy']:.2f}%"
    text = [
        f"Dataset: {mgd_summary['dataset']['name']} ({mgd_summary['dataset']['source']}); test set: {split}.",
        f"MGD status: {mgd_summary['status']}."
        + (f" {mgd_summary['error']}" if mgd_summary.get("error") else ""),
        "Wall time counts training computation only; test-set evaluations at log points are excluded.",
        f"MGD's expected step is eta*tau_theta/P = {mgd_summary['effective_sgd_lr']:.3g} times an SGD step "
        "with learning rate 1 on the same batch.",
    ]
    return [
        Section("Classification: MGD against backpropagation", text=text, table=rows, figures=[fig_main]),
        Section("MGD accuracy against cost evaluations", figures=[fig_evals]),
    ]
