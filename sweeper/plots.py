"""PNG plots a person reads: titles, axis labels with units, legends, log scale for LR."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from sweeper.trial_record import TrialRecord

_STATE_STYLE = {"COMPLETE": "-", "PRUNED": "--", "FAIL": ":"}
# Axis words for recorded keys; others are shown as they are (accuracy, f1, pearson...).
_WORDS = {"val_loss": "validation loss", "train_loss": "training loss", "lr": "learning rate"}


def _words(key: str) -> str:
    return _WORDS.get(key, key)


def _trial_label(t: TrialRecord) -> str:
    """``#3 lr 8.5e-05 cosine`` (and the state unless complete): which curve is which trial."""
    lr = t.settings.get("lr", t.params.get("lr"))
    shown = f" lr {lr:.1e}" if isinstance(lr, int | float) else ""
    state = "" if t.state == "COMPLETE" else f" ({t.state.lower()})"
    return f"#{t.number}{shown} {t.settings.get('scheduler', '')}".rstrip() + state


def _integer_ticks(axis: Any) -> None:
    """Whole numbers only on ``axis`` (trial numbers, counts)."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def _figure(width: float = 8.0, height: float = 4.8) -> tuple[Figure, Axes]:
    import matplotlib

    matplotlib.use("Agg")  # files only; no display needed
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height), dpi=110)
    ax.grid(True, alpha=0.3)
    return fig, ax


def _legend(ax: Axes, **kwargs: Any) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kwargs)


def _save(fig: Figure, out: Path) -> Path:
    import matplotlib.pyplot as plt

    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out


def plot_lr_preview(
    rows: Sequence[Mapping[str, Any]], out: Path, *, log_scale: bool = False
) -> Path:
    """LR schedules before training: one curve per row (``label``, ``plan``, ``curve``)."""
    fig, ax = _figure()
    for row in rows:
        plan = row["plan"]
        ax.plot(range(len(row["curve"])), row["curve"], label=row["label"], linewidth=1.6)
        if plan.num_warmup_steps:
            ax.axvline(plan.num_warmup_steps, color="grey", linewidth=0.6, linestyle=":")
    first = rows[0]["plan"]
    for epoch in range(1, first.num_epochs):
        ax.axvline(epoch * first.steps_per_epoch, color="black", linewidth=0.4, alpha=0.4)
    ax.set_xlabel("optimizer step (thin lines: epoch ends; dotted: end of warmup)")
    ax.set_ylabel("learning rate")
    if log_scale:
        ax.set_yscale("log")
    ax.set_title(
        f"LR schedule preview: {first.num_training_steps} steps "
        f"({first.num_epochs} epochs x {first.steps_per_epoch} steps/epoch)"
    )
    _legend(ax, fontsize=8)
    return _save(fig, out)


def plot_lr_curves(trials: Sequence[TrialRecord], out: Path) -> Path:
    """Every trial's LR curve as trained (cut where the trial stopped), log scale."""
    fig, ax = _figure()
    for t in trials:
        curve = t.lr_curve()
        positive = [(i, v) for i, v in enumerate(curve) if v > 0]
        if positive:
            xs, ys = zip(*positive, strict=True)
            ax.plot(
                xs,
                ys,
                _STATE_STYLE.get(t.state, "-"),
                linewidth=1.2,
                label=(
                    f"#{t.number} {t.settings.get('scheduler', '')}, peak {max(ys):.1e}"
                    f"{'' if t.state == 'COMPLETE' else f' ({t.state.lower()})'}"
                ),
            )
    ax.set_yscale("log")
    ax.set_xlabel("optimizer step (updates; each curve ends where its trial stopped)")
    ax.set_ylabel("learning rate (log scale)")
    ax.set_title("Learning rate per step of each trial (dashed: pruned)")
    _legend(ax, fontsize=7, ncol=2)
    return _save(fig, out)


def plot_value_curves(trials: Sequence[TrialRecord], out: Path, *, key: str = "val_loss") -> Path:
    """Validation curves per trial over epochs; pruned trials dashed and marked with an x."""
    fig, ax = _figure()
    for t in trials:
        points = [(e["epoch"], e[key]) for e in t.evals if key in e and math.isfinite(e[key])]
        if not points:
            continue
        xs, ys = zip(*points, strict=True)
        (line,) = ax.plot(
            xs,
            ys,
            _STATE_STYLE.get(t.state, "-"),
            marker=".",
            linewidth=1.2,
            label=_trial_label(t),
        )
        if t.state == "PRUNED":
            ax.plot(xs[-1], ys[-1], "x", color=line.get_color(), markersize=9)
        elif t.best_epoch is not None:
            best = min(points, key=lambda p: abs(p[0] - t.best_epoch))  # type: ignore[operator]
            ax.plot(*best, "o", color=line.get_color(), markersize=6, fillstyle="none")
    ax.set_xlabel("epochs trained")
    ax.set_ylabel(_words(key))
    ax.set_title(f"{_words(key).capitalize()} per trial (o: best point, x: pruned)")
    _legend(ax, fontsize=7, ncol=2)
    return _save(fig, out)


def plot_history(trials: Sequence[TrialRecord], out: Path, *, direction: str, label: str) -> Path:
    """Objective per complete trial, with the best so far."""
    fig, ax = _figure()
    done = [t for t in trials if t.state == "COMPLETE" and t.value is not None]
    xs = [t.number for t in done]
    ys = [float(t.value) for t in done]  # type: ignore[arg-type]
    ax.scatter(xs, ys, label="complete trial", zorder=3)
    best: list[float] = []
    for y in ys:
        best.append(
            y if not best else (min(best[-1], y) if direction == "minimize" else max(best[-1], y))
        )
    if xs:
        ax.step(xs, best, where="post", color="C3", label="best so far")
    for i, t in enumerate(t for t in trials if t.state == "PRUNED"):
        ax.axvline(
            t.number, color="grey", alpha=0.25, linewidth=3, label="pruned" if i == 0 else None
        )
    for i, t in enumerate(t for t in trials if t.state == "FAIL"):
        ax.axvline(
            t.number, color="C3", alpha=0.3, linestyle=":", label="failed" if i == 0 else None
        )
    _integer_ticks(ax.xaxis)
    ax.set_xlabel("trial number")
    ax.set_ylabel(f"{_words(label)} (best of each trial's evaluations)")
    ax.set_title("Optimization history")
    _legend(ax, fontsize=8)
    return _save(fig, out)


def plot_importances(importances: Mapping[str, float], out: Path) -> Path:
    """Parameter importances (fANOVA), largest first."""
    fig, ax = _figure(7.0, 0.5 + 0.45 * max(1, len(importances)))
    names = list(importances)[::-1]
    ax.barh(names, [importances[n] for n in names], color="C0")
    ax.set_xlabel("importance (fraction of objective variance explained)")
    ax.set_title("Hyperparameter importances")
    return _save(fig, out)


def plot_best_epochs(values: Sequence[float], out: Path, *, horizons: Sequence[int] = ()) -> Path:
    """Histogram of the epoch at which each complete trial reached its best value."""
    fig, ax = _figure(7.0, 4.2)
    if values:
        top = max([*values, *horizons, 1.0])
        bins = [i / 4 for i in range(math.ceil(top * 4) + 2)]
        ax.hist(values, bins=bins, color="C2", edgecolor="black", label="best epoch")
    if horizons:
        ax.hist(
            list(horizons),
            bins=[i + 0.5 for i in range(max(horizons) + 2)],
            histtype="step",
            color="C1",
            linewidth=1.5,
            label="schedule horizon (num_epochs)",
        )
    _integer_ticks(ax.yaxis)
    ax.set_xlabel("epochs trained when the trial's best validation value was reached")
    ax.set_ylabel("trials")
    ax.set_title("Best-epoch distribution (complete trials)")
    _legend(ax, fontsize=8)
    return _save(fig, out)


def plot_scatter(
    xs: Sequence[float],
    ys: Sequence[float],
    out: Path,
    *,
    xlabel: str,
    ylabel: str,
    title: str,
    labels: Sequence[str] = (),
) -> Path:
    """A plain scatter (e.g. warmup fraction vs validation loss)."""
    fig, ax = _figure(7.0, 4.5)
    ax.scatter(xs, ys, zorder=3)
    for x, y, text in zip(xs, ys, labels, strict=False):
        ax.annotate(text, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return _save(fig, out)
