"""The ``+recommended`` config a recommendation writes, where it goes, and the command that
trains with it: what a user runs next, apart from the report that explains it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from sweeper.config import CONF_DIR
from sweeper.settings import TrainSettings


def config_delta(settings: TrainSettings, *, keys: Sequence[str]) -> dict[str, Any]:
    """The ``train`` values to set: every searched key, num_epochs, scheduler parameters."""
    flat = settings.as_params()
    wanted = dict.fromkeys(["lr", "warmup_ratio", "num_epochs", "scheduler", *keys])
    train: dict[str, Any] = {}
    for key in wanted:
        if key in flat and not key.startswith("scheduler_kwargs."):
            train[key] = flat[key]
        if key == "scheduler" and settings.active_scheduler_kwargs():
            train["scheduler_kwargs"] = settings.active_scheduler_kwargs()
    train["patience"] = None  # a recommended run trains exactly num_epochs epochs
    return train


def write_config(train: Mapping[str, Any], *, path: Path, header: Sequence[str]) -> Path:
    """A ``# @package _global_`` Hydra config usable as ``+recommended=NAME``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# @package _global_", *[f"# {h}" for h in header]]
    body = yaml.safe_dump({"train": dict(train)}, sort_keys=False, default_flow_style=False)
    path.write_text("\n".join(lines) + "\n" + body)
    return path


def recommended_dir(config_dir: str | None, *, results_dir: Path) -> Path:
    """Where ``+recommended=NAME`` configs go: ``<config folder>/recommended``.

    ``recommend.config_dir`` names a Hydra config folder (``recommended/`` is made in it), or
    that ``recommended`` folder itself; null: ``<results_dir>/conf``. Never the installed
    package's own ``conf/``: results stay with the user's other results.
    """
    root = Path(config_dir) if config_dir else results_dir / "conf"
    return root if root.name == "recommended" else root / "recommended"


def use_command(path: Path, overrides: Sequence[str], *, delta: Mapping[str, Any]) -> str:
    """The command that trains with the written config: the sweep's own overrides, minus those
    the config sets (a command-line ``train.lr=...`` would beat the config group's value)."""
    import shlex

    set_here = {f"train.{key}" for key in delta}
    kept = [
        o
        for o in overrides
        if not o.startswith("recommend.")
        and not any(o.lstrip("+~").startswith((k + "=", k + ".")) for k in set_here)
    ]
    if path.parent.resolve() != (CONF_DIR / "recommended").resolve():
        # Hydra finds `+recommended=NAME` as recommended/NAME.yaml under a config folder.
        assert path.parent.name == "recommended", path
        kept.append(f"hydra.searchpath=[file://{path.parent.parent.resolve()}]")
    return shlex.join(["python", "-m", "sweeper.train", *kept, f"+recommended={path.stem}"])


__all__ = ["config_delta", "recommended_dir", "use_command", "write_config"]
