"""Samplers and pruners built from their config nodes (``_target_`` + arguments)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sweeper.dotted import import_dotted
from sweeper.errors import ConfigError

if TYPE_CHECKING:
    import optuna
    from optuna.distributions import BaseDistribution
    from optuna.trial import FrozenTrial, TrialState

    from sweeper.space import SearchSpace


def trial_seed(seed: int, number: int) -> int:
    """The sampler seed of trial ``number``: distinct per trial, equal across runs."""
    digest = hashlib.sha256(f"{seed}:{number}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def _per_trial_sampler_class() -> type:
    from optuna.samplers import BaseSampler

    class TrialSeededSampler(BaseSampler):
        """Delegates each trial to a fresh sampler seeded by :func:`trial_seed`.

        Optuna's samplers keep their random state in the process, so a seeded sampler repeats
        its first draws on every re-run of a study and on every parallel worker. Seeding per
        trial number (unique in the storage) makes draws reproducible and never repeated; the
        samplers used this way keep their real state in the storage, not the process.
        """

        def __init__(self, make: Callable[[int], BaseSampler], seed: int) -> None:
            self._make = make
            self._seed = seed
            self._samplers: dict[int, BaseSampler] = {}
            self._default = make(seed)

        def __str__(self) -> str:
            return f"{type(self._default).__name__}(seed per trial from {self._seed})"

        def _for(self, trial: FrozenTrial) -> BaseSampler:
            return self._samplers.get(trial.number, self._default)

        def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
            sampler = self._make(trial_seed(self._seed, trial.number))
            self._samplers[trial.number] = sampler
            sampler.before_trial(study, trial)

        def infer_relative_search_space(
            self, study: optuna.Study, trial: FrozenTrial
        ) -> dict[str, BaseDistribution]:
            return self._for(trial).infer_relative_search_space(study, trial)

        def sample_relative(
            self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
        ) -> dict[str, Any]:
            return self._for(trial).sample_relative(study, trial, search_space)

        def sample_independent(
            self,
            study: optuna.Study,
            trial: FrozenTrial,
            param_name: str,
            param_distribution: BaseDistribution,
        ) -> Any:
            return self._for(trial).sample_independent(study, trial, param_name, param_distribution)

        def after_trial(
            self,
            study: optuna.Study,
            trial: FrozenTrial,
            state: TrialState,
            values: Sequence[float] | None,
        ) -> None:
            self._for(trial).after_trial(study, trial, state, values)
            self._samplers.pop(trial.number, None)

        def reseed_rng(self) -> None:
            pass  # seeds come from trial numbers

    return TrialSeededSampler


# Samplers whose draws follow a sequence over trials rather than a random state: seeded once.
# The grid sampler keeps which points are taken in the storage, but rebuilt per trial it was
# seen to draw a point twice and skip another (tests/test_space.py).
_SEQUENCE_SAMPLERS = ("optuna.samplers.QMCSampler", "optuna.samplers.GridSampler")


# Examples of what each group's `_target_` may name, besides the user's own classes.
_EXAMPLES = {
    "sampler": "optuna.samplers.TPESampler",
    "pruner": "optuna.pruners.MedianPruner, sweeper.pruners.CurvePruner",
}


def _check_targets(node: Any, *, key: str, group: str | None = None) -> None:
    """Each ``_target_`` in ``node`` names a class that imports: the node's own (``group``) one
    derived from the group's Optuna base class, nested ones (a wrapped pruner) any class.

    A ``_target_`` is called with its node's arguments: only a class (never a function such as
    ``os.system``) is built from config.

    Raises:
        ConfigError: one line naming the key and the value, before anything is built.
    """
    import optuna

    if isinstance(node, Mapping):
        target = node.get("_target_")
        if target is not None:
            base: type = object
            what = "a class"
            allowed = "allowed: a class, by its dotted name"
            if group is not None:
                base = {
                    "sampler": optuna.samplers.BaseSampler,
                    "pruner": optuna.pruners.BasePruner,
                }[group]
                what = f"a class derived from optuna.{group}s.{base.__name__}"
                allowed = f"allowed: {what}, by its dotted name ({_EXAMPLES[group]} or your own)"
            found = import_dotted(str(target), key=f"{key}._target_", allowed=allowed)
            if not isinstance(found, type) or not issubclass(found, base):
                raise ConfigError(f"{key}._target_ must be {what} but got {target!r}.")
        for name, value in node.items():
            _check_targets(value, key=f"{key}.{name}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _check_targets(value, key=f"{key}[{index}]")


def build_sampler(
    cfg: Mapping[str, Any], *, seed: int, space: SearchSpace
) -> optuna.samplers.BaseSampler:
    """The configured sampler (``_target_`` + arguments), seeded per trial from ``seed``."""
    from hydra.utils import instantiate

    _check_targets(cfg, key="sampler", group="sampler")
    target = str(cfg.get("_target_", ""))
    kwargs = {k: v for k, v in cfg.items() if k != "seed"}
    if target.endswith("GridSampler"):
        kwargs["search_space"] = space.grid()

    # Hydra's instantiate costs ~20 ms (it builds a config object), paid for every trial here;
    # a node of plain arguments is built by calling its class directly, once Hydra built it once.
    plain = not any(isinstance(v, Mapping | list) for v in kwargs.values())
    direct: list[Any] = []

    def make(sampler_seed: int) -> Any:
        try:
            if direct:
                return direct[0](
                    **{k: v for k, v in kwargs.items() if k != "_target_"}, seed=sampler_seed
                )
            sampler = instantiate(kwargs, seed=sampler_seed)
            if plain:
                direct.append(type(sampler))
            return sampler
        except Exception as err:
            cause = err.__cause__ or err
            raise ConfigError(f"sampler ({target}): {cause}.") from None

    if target in _SEQUENCE_SAMPLERS:
        return make(seed)  # type: ignore[no-any-return]
    sampler: optuna.samplers.BaseSampler = _per_trial_sampler_class()(make, seed)
    return sampler


def build_pruner(cfg: Mapping[str, Any]) -> optuna.pruners.BasePruner:
    """The configured pruner (``_target_`` + arguments); its steps are evaluation indices."""
    from hydra.utils import instantiate

    _check_targets(cfg, key="pruner", group="pruner")
    try:
        pruner: optuna.pruners.BasePruner = instantiate(dict(cfg))
    except Exception as err:
        cause = err.__cause__ or err
        raise ConfigError(f"pruner ({cfg.get('_target_')}): {cause}.") from None
    return pruner
