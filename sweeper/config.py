"""The Hydra config: where it lives, composing it outside ``@hydra.main``, resolving it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sweeper.errors import ConfigError

if TYPE_CHECKING:
    from omegaconf import DictConfig

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
GROUPS = (
    "data",
    "model",
    "train",
    "search_space",
    "sampler",
    "pruner",
    "storage",
    "tracking",
    "experiment",
    "recommended",
)


def group_options(group: str) -> list[str]:
    """The options of config group ``group`` (its YAML files)."""
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def check_group_overrides(args: Sequence[str]) -> None:
    """Refuse ``group=option`` arguments naming a missing option, listing those that exist.

    Hydra would refuse them too, but with a multi-line message and exit code 1; this gives the
    project's one-line error (exit code 2) before Hydra starts.
    """
    for arg in args:
        if arg.startswith("-") or "=" not in arg:
            continue
        key, _, value = arg.partition("=")
        group = key.lstrip("+~")
        if group.startswith("/"):
            group = group[1:]
        if group not in GROUPS or not value:
            continue
        options = group_options(group)
        for option in value.split(","):
            option = option.strip()
            if option and option != "null" and option not in options:
                raise ConfigError(
                    f"{group}={option}: no such option; {group} options are {options}."
                )


def compose(overrides: Sequence[str] = ()) -> DictConfig:
    """The config as ``python -m sweeper OVERRIDES`` would see it (without Hydra's own node)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    check_group_overrides(overrides)
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return hydra_compose("config", overrides=list(overrides))


def resolve(cfg: DictConfig) -> dict[str, Any]:
    """``cfg`` as plain containers, ``results_dir`` made absolute, interpolations resolved."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    cfg = cfg.copy()
    OmegaConf.set_struct(cfg, False)
    try:
        results = Path(str(cfg.results_dir)).expanduser().resolve()
        cfg.results_dir = str(results)
        if "hydra" in cfg:
            del cfg["hydra"]
        plain = OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException as err:
        raise ConfigError(f"config: {str(err).splitlines()[0]}") from None
    assert isinstance(plain, dict)
    return {str(k): v for k, v in plain.items()}
