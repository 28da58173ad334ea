"""The recommendation's report: its Markdown sections, the shared-set report, the console
summary (the ``+recommended`` config and its use command: :mod:`sweeper.recommend.config_file`).

The Markdown report is built one section per function; each says which numbers it shows, on
which seeds and data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from sweeper.boundary import edge_findings
from sweeper.formatting import fmt_params, fmt_value
from sweeper.recommend.config_file import config_delta
from sweeper.recommend.selection import (
    Candidate,
    Recommendation,
    Session,
    SharedRecommendation,
    mean_and_std,
    test_metrics,
)
from sweeper.secrets import redact
from sweeper.trial_reporter import best_point_phrase


def _seed_table(cands: Sequence[Candidate], metric: str, monitor: str) -> list[str]:
    lines = [
        f"| candidate | in the sweep | fresh seeds | median {monitor} | mean ± std | min | max | "
        f"{metric} mean | best epochs |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cands:
        vals = c.values()
        mean, std = mean_and_std(vals)
        mmean, _ = mean_and_std(c.values("best_metric"))
        epochs = ", ".join(fmt_value(r.best_epoch, 2) for r in c.runs)
        lines.append(
            f"| trial {c.trial.number} | {fmt_value(c.trial.value)} | {len(vals)} | "
            f"{fmt_value(c.median)} | {fmt_value(mean)} ± "
            f"{fmt_value(std)} | {fmt_value(min(vals) if vals else None)} | "
            f"{fmt_value(max(vals) if vals else None)} | {fmt_value(mmean)} | {epochs} |"
        )
    return lines


def _mean_std(values: Sequence[float | None]) -> str:
    mean, std = mean_and_std([v for v in values if v is not None and math.isfinite(v)])
    return f"{fmt_value(mean)} ± {fmt_value(std)}"


def _confirmation_section(rec: Recommendation, session: Session) -> list[str]:
    """Which numbers the epoch verdict compares, on which seeds, and what they were."""
    if not rec.confirmation:
        return []
    monitor, metric = session.monitor, session.metric
    seeds = ", ".join(map(str, rec.confirm_seeds))
    lines = [
        "## Confirmation",
        "",
        f"What you get by running the written config as written: `num_epochs={rec.epochs}`, no "
        f"early stopping, on held-out seeds {seeds} (neither the sweep's nor the selection's). "
        f"Values are **final** (at the end of training), not best-over-evaluations.",
        "",
        "| schedule | seeds | final " + monitor + " | final " + metric + " |",
        "|---|---|---|---|",
    ]
    for runs, label in ((rec.confirmation, "recommended"), (rec.alternative, "alternative")):
        if runs:
            epochs = (
                rec.epochs
                if label == "recommended"
                else (rec.horizon if rec.epochs != rec.horizon else rec.peak_epochs)
            )
            lines.append(
                f"| {epochs} epochs ({label}) | {seeds} | "
                f"{_mean_std([r.final_value for r in runs])} | "
                f"{_mean_std([r.final_metric for r in runs])} |"
            )
    lines += ["", f"Verdict: {rec.verdict}.", ""]
    tests = test_metrics(rec.confirmation)
    if tests:
        lines += [
            "Held-out test split (`data.validation=from_train`: validation was carved from train, "
            "so the task's dev set is a test set never used for any choice), same runs:",
            "",
            *[f"- {k}: {fmt_value(m)} ± {fmt_value(sd)}" for k, (m, sd) in tests.items()],
            "",
        ]
    return lines


def _plots(session: Session, out_dir: Path) -> tuple[list[Path], dict[str, float]]:
    """The report's plots, and the parameter importances (empty with too few trials)."""
    import sweeper.plots as plots
    from sweeper.sweep_summary import param_importances

    top = session.top
    importances = param_importances(session.study)
    files = [
        plots.plot_best_epochs(
            [r.best_epoch for r in top if r.best_epoch is not None],
            out_dir / "best_epochs.png",
            horizons=[int(r.settings.get("num_epochs", 0)) for r in top],
        ),
        plots.plot_lr_curves(top[:5], out_dir / "lr_curves_top.png"),
        plots.plot_scatter(
            [float(r.settings.get("warmup_ratio", 0)) for r in top],
            [float(r.best.get("best_val_loss") or math.nan) for r in top],
            out_dir / "warmup_vs_val_loss.png",
            xlabel="warmup fraction (of all optimizer steps)",
            ylabel="best validation loss",
            title="Warmup fraction vs validation loss",
            labels=[f"#{r.number}" for r in top],
        ),
    ]
    if importances:
        files.append(plots.plot_importances(importances, out_dir / "param_importances.png"))
    return files, importances


def nothing_learned_line(session: Session) -> str | None:
    """The one line saying no trial of the study left chance (then the recommendation is a pick
    among chance-level trials: written all the same, with this warning), or ``None``."""
    from sweeper.sweep_summary import nothing_learned_in

    return nothing_learned_in(
        session.items,
        chance=session.task_info.get("chance") or {},
        monitor=session.monitor,
        direction=session.direction,
    )


def _header_section(rec: Recommendation, session: Session, use: str) -> list[str]:
    """Title, the data and model, the study's trial counts, the command to use it."""
    from sweeper.sweep_summary import BUILTIN_WARNING

    info, items = session.task_info, session.items
    lines = [f"# Recommended defaults: study `{rec.study}`", ""]
    if info.get("source") == "builtin":
        lines += [f"> **WARNING** {BUILTIN_WARNING}", ""]
    nothing = nothing_learned_line(session)
    if nothing is not None:
        lines += [f"> **WARNING** {nothing}", ""]
    return [
        *lines,
        f"- data: {info.get('task')} from **{info.get('source')}** "
        f"({redact(str(info.get('origin')))}), {info.get('num_train')} train / "
        f"{info.get('num_eval')} validation examples; model `{info.get('model')}`",
        f"- objective: {session.direction} {session.monitor} (best over each run's "
        f"evaluations); {len(items)} trials, {sum(r.state == 'COMPLETE' for r in items)} "
        f"complete, {sum(r.state == 'PRUNED' for r in items)} pruned, "
        f"{sum(r.state == 'FAIL' for r in items)} failed",
        f"- written {datetime.now():%Y-%m-%d %H:%M}; use it with `{use}`",
        "",
    ]


def _recommendation_section(rec: Recommendation, session: Session) -> list[str]:
    """The settings written, the schedule they imply, where the chosen runs peaked."""
    s, info = rec.settings, session.task_info
    if rec.chosen.runs:
        peaks = (
            f"its runs peaked at epochs "
            f"{', '.join(fmt_value(r.best_epoch, 2) for r in rec.chosen.runs)} (median rounded "
            f"up: {rec.peak_epochs})"
        )
    else:  # no re-runs (confirm_seeds=0): the verdict says where the trial itself peaked
        peaks = rec.verdict
    lines = ["## Recommendation", "", "| setting | value |", "|---|---|"]
    for key, value in config_delta(s, keys=session.checked.space.names).items():
        if isinstance(value, dict):
            shown = fmt_params(value)
        elif key == "patience":
            shown = "null (no early stopping: train exactly num_epochs)"
        else:
            shown = fmt_params({key: value}).split("=", 1)[1]
        lines.append(f"| {key} | {shown} |")
    return [
        *lines,
        "",
        f"(Exact values in `{rec.config_path}`.)" if rec.config_path else "",
        "",
        f"Schedule this implies: {s.plan(int(info.get('num_train') or 1)).banner()}.",
        f"The chosen trial ({rec.chosen.trial.number}) was trained under a {rec.horizon}-epoch "
        f"schedule; {peaks}.",
        "",
    ]


def _seeds_section(rec: Recommendation, session: Session) -> list[str]:
    """The candidates on fresh seeds: how the one recommended was chosen."""
    return [
        "## Robustness over seeds",
        "",
        f"Each of the top {len(rec.candidates)} trials re-run on fresh seeds "
        f"{', '.join(map(str, rec.selection_seeds)) or '(none: confirm_seeds=0)'} (not the "
        f"sweep's seed {session.checked.train.seed}, on which they were selected), with the "
        "sweep's early stopping; the recommendation is the best **median** best-over-evaluations "
        "value, not the single luckiest run.",
        "",
        *_seed_table(rec.candidates, session.metric, session.monitor),
        "",
    ]


def _boundary_section(session: Session) -> list[str]:
    """Best trials at an edge of the searched space: the optimum may lie outside it."""
    found = edge_findings(session.checked.space, session.top)
    if not found:
        return []
    return [
        "## Search boundary",
        "",
        "The best trial sits at an edge of the searched space, so a better setting may lie "
        "outside it. Sweep again with the widened range (same command, plus the override):",
        "",
        *[f"- {f.text}" for f in found],
        "",
    ]


def _top_trials_section(session: Session) -> list[str]:
    """The study's ten best trials as the sweep ran them."""
    names, metric = session.checked.space.names, session.metric
    lines = [
        "## Top trials",
        "",
        "| trial | " + " | ".join(names) + f" | {session.monitor} | {metric} | best epoch | "
        "horizon |",
        "|---" * (len(names) + 5) + "|",
    ]
    for r in session.top[:10]:
        params = " | ".join(
            fmt_value(r.params[k])
            if isinstance(r.params.get(k), float)
            else str(r.params.get(k, "-"))
            for k in names
        )
        lines.append(
            f"| {r.number} | {params} | {fmt_value(r.value)} | "
            f"{fmt_value(r.best.get(f'best_{metric}'))} | {fmt_value(r.best_epoch, 2)} | "
            f"{r.settings.get('num_epochs')} |"
        )
    return [*lines, ""]


def _importances_section(importances: Mapping[str, float], *, trials: int) -> list[str]:
    lines = ["## Parameter importances", ""]
    if not importances:
        return [*lines, "Too few complete trials to estimate importances.", ""]
    return [
        *lines,
        f"fANOVA over {trials} complete trials (few trials: read as a hint):",
        "",
        *[f"- {k}: {v:.3f}" for k, v in importances.items()],
        "",
        "![importances](param_importances.png)",
        "",
    ]


def _stopped_section(session: Session) -> list[str]:
    stopped = [r for r in session.items if r.state in ("PRUNED", "FAIL")]
    return [
        "## Pruned and failed trials",
        "",
        *(
            [f"- trial {r.number} ({r.state.lower()}): {redact(r.reason)}" for r in stopped]
            or ["None."]
        ),
        "",
    ]


_PLOTS_SECTION = [
    "## Plots",
    "",
    "![best epochs](best_epochs.png)",
    "",
    "![LR curves of the top trials](lr_curves_top.png)",
    "",
    "![warmup vs loss](warmup_vs_val_loss.png)",
    "",
]


def write_report(
    rec: Recommendation, session: Session, *, out_dir: Path, use: str
) -> tuple[Path, list[Path]]:
    """The Markdown report and its plots for a one-study recommendation."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files, importances = _plots(session, out_dir)
    lines = [
        *_header_section(rec, session, use),
        *_recommendation_section(rec, session),
        *_seeds_section(rec, session),
        *_confirmation_section(rec, session),
        *_boundary_section(session),
        *_top_trials_section(session),
        *_importances_section(importances, trials=len(session.top)),
        *_stopped_section(session),
        *_PLOTS_SECTION,
    ]
    report = out_dir / "report.md"
    report.write_text("\n".join(lines))
    return report, files


def write_shared_report(
    rec: SharedRecommendation, sessions: list[Session], *, out_dir: Path, use: str
) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"# Shared defaults across {', '.join(rec.studies)}", ""]
    if any(s.task_info.get("source") == "builtin" for s in sessions):
        from sweeper.sweep_summary import BUILTIN_WARNING

        lines += [f"> **WARNING** {BUILTIN_WARNING}", ""]
    lines += [
        f"Chosen: {rec.chosen_from} (least worst-case relative regret). Use: `{use}`",
        "",
        "| study | task | own best | with shared defaults | regret |",
        "|---|---|---|---|---|",
    ]
    for row in rec.table:
        lines.append(
            f"| {row['study']} | {row['task']} | {fmt_value(row['own_best'])} | "
            f"{fmt_value(row['shared'])} | {row['regret']:+.2%} |"
        )
    lines += ["", "| candidate | worst regret | params |", "|---|---|---|"]
    for c in sorted(rec.candidates, key=lambda c: c["worst_regret"]):
        lines.append(f"| {c['from']} | {c['worst_regret']:+.2%} | {fmt_params(c['params'])} |")
    path = out_dir / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def regret_table(rec: SharedRecommendation) -> str:
    rows = [("study", "task", "own best", "shared", "regret")]
    rows += [
        (
            r["study"],
            str(r["task"]),
            fmt_value(r["own_best"]),
            fmt_value(r["shared"]),
            f"{r['regret']:+.2%}",
        )
        for r in rec.table
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows
    )


def print_summary(rec: Recommendation, session: Session, use: str) -> None:
    from sweeper.sweep_summary import BUILTIN_WARNING

    lines = [f"{'=' * 28} recommendation: {rec.study} {'=' * 28}"]
    if session.task_info.get("source") == "builtin":
        lines.append(f"!!! {BUILTIN_WARNING}")
    nothing = nothing_learned_line(session)
    if nothing is not None:
        lines.append(f"!!! {nothing}")
    delta = config_delta(rec.settings, keys=session.checked.space.names)
    lines.append(
        "defaults: "
        + fmt_params({k: v for k, v in delta.items() if not isinstance(v, dict) and v is not None})
    )
    kwargs = delta.get("scheduler_kwargs")
    if kwargs:
        lines.append("          scheduler_kwargs: " + fmt_params(kwargs))
    lines.append(
        f"chosen:   trial {rec.chosen.trial.number}: median {session.monitor} "
        f"{fmt_value(rec.chosen.median)} ± {fmt_value(rec.chosen.std)} over {len(rec.chosen.runs)} "
        f"fresh seed(s) ({best_point_phrase(rec.chosen.settings.select_window)}, "
        "the sweep's early stopping)"
    )
    if rec.verdict:
        lines.append(f"epochs:   {rec.epochs} ({rec.verdict})")
    tests = test_metrics(rec.confirmation)
    if tests:
        lines.append(
            "test:     "
            + ", ".join(f"{k} {fmt_value(m)} ± {fmt_value(sd)}" for k, (m, sd) in tests.items())
            + f" (held-out test split; seeds {', '.join(map(str, rec.confirm_seeds))})"
        )
    for finding in edge_findings(session.checked.space, session.top):
        lines.append(f"edge:     {finding.text}")
    lines += [f"config:   {rec.config_path}", f"report:   {rec.report_path}", f"use:      {use}"]
    print("\n".join(lines), flush=True)


__all__ = [
    "nothing_learned_line",
    "print_summary",
    "regret_table",
    "write_report",
    "write_shared_report",
]
