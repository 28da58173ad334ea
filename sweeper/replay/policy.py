"""What a replayed sweep decides with: a :class:`Policy` built from the same config nodes as a
live sweep (``conf/sampler``, ``conf/pruner``, ``conf/train`` early stopping and divergence).

Separate from the replay itself: a policy is read from the shipped config, and benchmarks build
and name policies without replaying anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Pruner variants compared: name -> (conf/pruner option, overrides of its arguments).
PRUNERS: dict[str, tuple[str, dict[str, Any]]] = {
    "none": ("none", {}),
    "median": ("median", {}),
    "median-warm2": ("median", {"n_warmup_steps": 2}),
    "percentile": ("percentile", {}),
    "successive_halving": ("successive_halving", {}),
    "hyperband": ("hyperband", {}),
    "patient": ("patient", {}),
    "curve": ("curve", {}),
    "curve-h0": ("curve", {"horizon_power": 0.0}),  # gains not scaled to the schedule left
    # A trial still at chance cut past half its schedule (shipped before 2026-12-03's
    # evening: 0.75 now), or never.
    "curve-cut50": ("curve", {"chance_cut": 0.5}),
    "curve-nocut": ("curve", {"chance_cut": None}),
    # P(beating the best) < min_probability (issue 25): gains and the curves' own noise
    "beat": ("beat", {}),
    "beat-p10": ("beat", {"min_probability": 0.10}),
    "beat-p02": ("beat", {"min_probability": 0.02}),
}
# The schedule horizon as a fidelity (issue 25): name -> eta. Short schedules first; the best
# 1/eta of a rung are promoted to the next longer num_epochs in the bank's grid. A decaying
# schedule cannot be extended, so a promotion retrains from scratch and its epochs are counted.
# No pruner inside a rung (early stopping as the policy says).
LADDERS: dict[str, int] = {"ladder": 3, "ladder-e2": 2}
BUILT_IN = ("median", "median-warm2", "percentile", "successive_halving", "hyperband", "patient")


@dataclass(frozen=True, kw_only=True)
class Policy:
    """What a sweep decides with: sampler and pruner config nodes, early stopping, divergence."""

    name: str
    sampler: Mapping[str, Any]
    pruner: Mapping[str, Any]
    patience: int | None
    min_delta: float = 0.0
    select_window: int = 0  # the best point's smoothing (train.select_window)
    divergence_factor: float | None = None
    ladder: int | None = None  # eta of a horizon ladder (LADDERS) instead of a flat sweep


def group_node(group: str, option: str, **overrides: Any) -> dict[str, Any]:
    """The config node of ``conf/<group>/<option>.yaml`` with ``overrides`` applied."""
    from omegaconf import OmegaConf

    from sweeper.config import CONF_DIR

    path = CONF_DIR / group / f"{option}.yaml"
    if not path.is_file():
        raise ValueError(f"{group} must be one of the options in {path.parent} but got {option!r}.")
    node = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    assert isinstance(node, dict)
    return {**{str(k): v for k, v in node.items()}, **overrides}


def train_defaults() -> dict[str, Any]:
    """conf/train/default.yaml (early stopping and divergence as shipped)."""
    from omegaconf import OmegaConf

    from sweeper.config import CONF_DIR

    node = OmegaConf.load(CONF_DIR / "train" / "default.yaml")
    node.seed = 0  # an interpolation of the root config there
    out = OmegaConf.to_container(node, resolve=True)
    assert isinstance(out, dict)
    return {str(k): v for k, v in out.items()}


def make_policy(
    pruner: str,
    *,
    sampler: str = "tpe",
    early_stopping: bool = True,
    pruner_args: Mapping[str, Any] | None = None,
) -> Policy:
    """A policy from config options: ``pruner`` names a :data:`PRUNERS` variant (or a
    conf/pruner option), early stopping as in conf/train/default.yaml or off."""
    ladder = LADDERS.get(pruner)
    option, args = ("none", {}) if ladder else PRUNERS.get(pruner, (pruner, {}))
    train = train_defaults()
    return Policy(
        ladder=ladder,
        name=f"{sampler}/{pruner}/{'es' if early_stopping else 'no-es'}",
        sampler=group_node("sampler", sampler),
        pruner=group_node("pruner", option, **{**args, **dict(pruner_args or {})}),
        patience=train["patience"] if early_stopping else None,
        min_delta=float(train["min_delta"]),
        select_window=int(train["select_window"]),
        divergence_factor=train["divergence_factor"],
    )


def default_policy() -> Policy:
    """The shipped defaults: conf/config.yaml's sampler and pruner, conf/train early stopping."""
    from omegaconf import OmegaConf

    from sweeper.config import CONF_DIR

    defaults = OmegaConf.to_container(OmegaConf.load(CONF_DIR / "config.yaml").defaults)
    chosen = {k: v for d in defaults or [] if isinstance(d, dict) for k, v in d.items()}
    policy = make_policy(str(chosen["pruner"]), sampler=str(chosen["sampler"]))
    return Policy(
        ladder=policy.ladder,
        name=f"default ({policy.name})",
        sampler=policy.sampler,
        pruner=policy.pruner,
        patience=policy.patience,
        min_delta=policy.min_delta,
        select_window=policy.select_window,
        divergence_factor=policy.divergence_factor,
    )
