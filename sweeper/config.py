"""The Hydra config: where it lives, composing it outside ``@hydra.main``, resolving it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sweeper.errors import ConfigError
from sweeper.secrets import redact

if TYPE_CHECKING:
    from omegaconf import DictConfig

# The default configs: sweeper/conf in a wheel install (pyproject ships the repository's conf/
# there), the clone's top-level conf/ in an editable install or a source checkout.
_PACKAGED = Path(__file__).resolve().parent / "conf"
CONF_DIR = _PACKAGED if (_PACKAGED / "config.yaml").is_file() else _PACKAGED.parent.parent / "conf"
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


def group_options(group: str, *, search: Sequence[Path] = ()) -> list[str]:
    """The options of config group ``group`` (its YAML files), in ``conf/`` and ``search``."""
    return sorted({p.stem for root in (CONF_DIR, *search) for p in (root / group).glob("*.yaml")})


def _search_path(args: Sequence[str]) -> list[Path] | None:
    """Folders added by ``--config-dir DIR`` (``-cd``) or ``hydra.searchpath=[file://...]``
    (None: not all of them folders)."""
    extra: list[Path] = []
    for i, arg in enumerate(args):
        if arg in ("--config-dir", "-cd") and i + 1 < len(args):
            extra.append(Path(args[i + 1]))
            continue
        if arg.startswith(("--config-dir=", "-cd=")):
            extra.append(Path(arg.partition("=")[2]))
            continue
        key, _, value = arg.partition("=")
        if key.lstrip("+") != "hydra.searchpath":
            continue
        for item in value.strip("[]").split(","):
            item = item.strip().strip("'\"")
            if not item.startswith("file://"):
                return None  # pkg:// and friends: leave the check to Hydra
            extra.append(Path(item.removeprefix("file://")))
    return extra


def check_group_overrides(args: Sequence[str]) -> None:
    """Refuse ``group=option`` arguments naming a missing option, listing those that exist.

    Hydra would refuse them too, but with a multi-line message and exit code 1; this gives the
    project's one-line error (exit code 2) before Hydra starts.
    """
    search = _search_path(args)
    if search is None:
        return
    for arg in args:
        if arg.startswith("-") or "=" not in arg:
            continue
        key, _, value = arg.partition("=")
        group = key.lstrip("+~")
        if group.startswith("/"):
            group = group[1:]
        if group not in GROUPS or not value:
            continue
        options = group_options(group, search=search)
        for option in value.split(","):
            option = option.strip()
            if option and option != "null" and option not in options:
                raise ConfigError(
                    f"{group}={option}: no such option; {group} options are {options}."
                )


# Flags that pick another primary config: composing conf/config.yaml would not be what runs.
_OTHER_PRIMARY = ("-cp", "-cn", "-cd", "--config-path", "--config-name", "--config-dir")
_GRAMMAR = "https://hydra.cc/docs/advanced/override_grammar/basic/"


def check_conf_dir() -> None:
    """:class:`ConfigError` unless the default configs are there (a broken install)."""
    if not (CONF_DIR / "config.yaml").is_file():
        raise ConfigError(
            f"no sweeper config at {CONF_DIR}/config.yaml: the install is incomplete; "
            "allowed: pip install . (or pip install -e . in a clone, whose conf/ it reads)."
        )


def check_overrides(args: Sequence[str]) -> DictConfig | None:
    """Refuse command-line arguments that Hydra would refuse with a multi-line message and exit
    code 1: a missing group option, an override that does not parse, a key that is not in the
    config (a typo such as ``sweep.n_trails=3``), an ambiguous value. One :class:`ConfigError`
    line instead, before Hydra starts.

    Returns:
        The config composed from ``args``, with Hydra's node (its run and multirun folders), or
        ``None`` where the check is left to Hydra (another primary config, ``hydra.searchpath``,
        a multirun of ``interval()``/``glob()``).
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    check_conf_dir()
    multirun = "-m" in args or "--multirun" in args
    for arg in args:
        if multirun and redact(arg) != arg:
            # Hydra saves a multirun's overrides in multirun.yaml and logs them at launch.
            raise ConfigError(
                f"{redact(arg)}: a password on a multirun's command line would be saved by "
                "Hydra in multirun.yaml; allowed: the password in the environment "
                "(SWEEPER_STORAGE_URL for storage.url, MLFLOW_TRACKING_PASSWORD for tracking)."
            )
    check_group_overrides(args)
    if any(arg.split("=")[0] in _OTHER_PRIMARY for arg in args):
        return None
    parser = OverridesParser.create()
    overrides = []
    for arg in args:
        # Overrides hold "=" or delete with "~"; other words are values of flags (--cfg job).
        if arg.startswith("-") or ("=" not in arg and not arg.startswith("~")):
            continue
        key = arg.split("=")[0].lstrip("+~")
        if key.startswith(("hydra.", "hydra/")):
            if key == "hydra.searchpath":
                return None  # options from other folders: leave the check to Hydra
            if key not in _OUTPUT_DIRS.values():
                continue  # Hydra's own settings: Hydra checks them
        try:
            override = parser.parse_override(arg)
        except HydraException as err:
            raise ConfigError(
                f"{arg}: cannot parse the override ({str(err).splitlines()[0]}); allowed: "
                f"key=value in Hydra's grammar ({_GRAMMAR})."
            ) from None
        if multirun and override.is_sweep_override():
            # Each job of a multirun composes one value; the first stands for all of them.
            try:
                first = next(iter(override.sweep_string_iterator()))
            except HydraException:
                return None  # interval() and glob() only their sweeper expands: Hydra's
            arg = f"{arg.split('=')[0]}={first}"
        overrides.append(arg)
    return compose(overrides, with_hydra=True)


# The folder Hydra creates for a job, before the command's own code runs, by mode (multirun?).
_OUTPUT_DIRS = {False: "hydra.run.dir", True: "hydra.sweep.dir"}


def output_folders(cfg: DictConfig, *, multirun: bool) -> list[tuple[str, Path]]:
    """The folders a job of ``cfg`` (composed with Hydra's node) writes to, as (key, folder):
    ``results_dir``, then the parent of Hydra's run (or multirun) folder.

    The parent, not the folder: its name holds the launch time, which Hydra resolves again.
    A value only Hydra can resolve (``${hydra:job.name}``) is left out.
    """
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    folders = []
    for key in ("results_dir", _OUTPUT_DIRS[multirun]):
        try:
            value = OmegaConf.select(cfg, key, throw_on_resolution_failure=True)
        except OmegaConfBaseException:
            continue
        if value is None:
            continue
        path = Path(str(value)).expanduser().resolve()
        folders.append((key, path if key == "results_dir" else path.parent))
    return folders


def _override_error(err: Exception) -> ConfigError:
    """Hydra's multi-line composition error as one line (naming the key and what exists)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    cause = err.__cause__
    key = getattr(cause, "full_key", None)
    parent = getattr(cause, "parent_node", None)
    if lines and lines[0].startswith("Could not override") and key and parent is not None:
        where = str(key).rpartition(".")[0] or "the config"
        hint = next((line for line in lines if line.startswith("To append")), "")
        hint = hint.replace("To append to your config use", "a new key needs a +:")
        return ConfigError(
            f"{key} is not a config key; {where} has keys {sorted(map(str, parent.keys()))}"
            f"{'; ' + hint if hint else ''}."
        )
    return ConfigError("; ".join(lines))


def compose(overrides: Sequence[str] = (), *, with_hydra: bool = False) -> DictConfig:
    """The config as ``python -m sweeper OVERRIDES`` would see it (Hydra's own node only
    ``with_hydra``)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException

    check_conf_dir()
    check_group_overrides(overrides)
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        try:
            return hydra_compose(
                "config", overrides=list(overrides), return_hydra_config=with_hydra
            )
        except HydraException as err:  # composition and grammar errors alike
            raise _override_error(err) from None


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


def task_overrides() -> list[str]:
    """The running Hydra job's command line as the commands sweeper prints should repeat it:
    a user's ``--config-dir`` (absolute), then the overrides, secrets redacted; none outside one.

    What the summary and the recommendation echo back in the commands they print.
    """
    try:
        from hydra.core.hydra_config import HydraConfig

        hydra_cfg = HydraConfig.get()
    except ValueError:
        return []
    dirs = [
        f"--config-dir={source.path}"
        for source in hydra_cfg.runtime.config_sources
        if source.provider == "command-line"
    ]
    return [*dirs, *(redact(o) for o in hydra_cfg.overrides.task)]


def flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    """A config node as dotted keys: ``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (under ``prefix``)."""
    if isinstance(node, Mapping):
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: node}
