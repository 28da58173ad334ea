"""The portfolio start: a sweep's first trials are published fine-tuning recipes, fitted.

Pure (no Optuna): :data:`RECIPES` is the table (name, citation, settings), :func:`fit` fits
recipes to a (data-fitted) search space and the fixed train settings, and :func:`start` puts
the user's own ``sweep.enqueue`` first and caps the whole start at about half the budget.
``sweep.portfolio`` picks the recipes (:func:`recipes_for`): ``recipes`` (the table, the
default), ``none``, or ``learned`` (the configs listed in ``conf/learned_portfolio.yaml``, for a
portfolio chosen by replaying recorded curve banks).

Why: on small data (a few hundred to a few thousand examples) a random first draw often ends
at chance where a published recipe learns (issue 22; docs/benchmarks.md §7). Running the
recipes first means the sweep can never end below the best recipe it ran, on validation; the
sampler searches from there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sweeper.errors import ConfigError
from sweeper.settings import TrainSettings, check_value
from sweeper.space import FIT_BATCH_EXAMPLES, ParamSpec, SearchSpace

PORTFOLIOS = ("recipes", "none", "learned")


@dataclass(frozen=True, kw_only=True)
class Recipe:
    """A published fine-tuning recipe: train settings as the paper gives them."""

    name: str
    citation: str
    settings: Mapping[str, Any]


_BERT = "Devlin et al. 2019"
_ROBERTA = "Liu et al. 2019, RoBERTa style"
_MOSBACH = "Mosbach et al. 2021"

# In the order they are queued: the cap keeps the first ones. One recipe of each family comes
# first, because the families differ in schedule length (3, 10, 20 epochs), and the length is
# what decides whether small data learns at all (CoLA at 1,000 examples: only the long
# schedules left chance, docs/benchmarks.md §7), while lr is searched by the sampler anyway.
# Cheapest first within that (a trial the pruner can judge later trials against, soonest).
# The second learning rates of each grid follow. RoBERTa's grid is lr {1, 2, 3}e-5, batch
# {16, 32}, up to 10 epochs with early stopping (the sweep's own, train.patience); BERT's is
# lr {5, 3, 2}e-5 at batch 32, 3 epochs; Mosbach et al. train 20 epochs at lr 2e-5, batch 16.
# Weight decay as the papers give it (BERT 0.01, RoBERTa 0.1; Mosbach et al. keep BERT's
# setup); it applies only where the space searches weight_decay, like every key here.
# On small data (below FIT_BATCH_EXAMPLES, where the batch is searched) fit() queues the fitted
# recipes most optimizer steps first instead: there the number of updates decides whether a
# run leaves chance at all (Mosbach et al. 2021: BERT's 3-epoch recipe fails on small sets for
# too few iterations). On the v2 banks (SST-2 1,000, CoLA 2,000; 3 seeds) every run of lr 2e-5
# at batch 32 stays at chance, at 3 epochs and at 10, while lr 2e-5, batch 16, 10 epochs
# learns on every seed (docs/benchmarks.md §7).
RECIPES: tuple[Recipe, ...] = (
    Recipe(
        name="bert-2e-5",
        citation=_BERT,
        settings={
            "lr": 2e-5,
            "num_epochs": 3,
            "warmup_ratio": 0.1,
            "scheduler": "linear",
            "batch_size": 32,
            "weight_decay": 0.01,
        },
    ),
    Recipe(
        name="roberta-2e-5",
        citation=_ROBERTA,
        settings={
            "lr": 2e-5,
            "num_epochs": 10,
            "warmup_ratio": 0.06,
            "scheduler": "linear",
            "batch_size": 32,
            "weight_decay": 0.1,
        },
    ),
    Recipe(
        name="mosbach-2e-5",
        citation=_MOSBACH,
        settings={
            "lr": 2e-5,
            "num_epochs": 20,
            "warmup_ratio": 0.1,
            "scheduler": "linear",
            "batch_size": 16,
            "weight_decay": 0.01,
        },
    ),
    Recipe(
        name="bert-3e-5",
        citation=_BERT,
        settings={
            "lr": 3e-5,
            "num_epochs": 3,
            "warmup_ratio": 0.1,
            "scheduler": "linear",
            "batch_size": 32,
            "weight_decay": 0.01,
        },
    ),
    Recipe(
        name="roberta-1e-5",
        citation=_ROBERTA,
        settings={
            "lr": 1e-5,
            "num_epochs": 10,
            "warmup_ratio": 0.06,
            "scheduler": "linear",
            "batch_size": 16,
            "weight_decay": 0.1,
        },
    ),
    Recipe(
        name="bert-5e-5",
        citation=_BERT,
        settings={
            "lr": 5e-5,
            "num_epochs": 3,
            "warmup_ratio": 0.1,
            "scheduler": "linear",
            "batch_size": 32,
            "weight_decay": 0.01,
        },
    ),
)

# sweep.portfolio=learned reads this file of the config folder: a YAML list of {name, citation,
# settings} (the configs that minimize the worst regret over the recorded banks, leave one task
# out). Not a config group (a folder of conf/ would be one).
LEARNED_FILE = "learned_portfolio.yaml"


@dataclass(frozen=True, kw_only=True)
class Fitted:
    """A recipe fitted to a search space: the params to queue and what fitting changed."""

    name: str
    citation: str
    params: dict[str, Any]
    changes: tuple[str, ...] = ()  # e.g. "num_epochs 20 -> 3", "batch_size not searched"


@dataclass(frozen=True, kw_only=True)
class Start:
    """The queued start of a sweep: the user's settings first, then fitted recipes."""

    user: tuple[dict[str, Any], ...] = ()
    recipes: tuple[Fitted, ...] = ()
    cap: int = 0  # the most trials the start may take (start_cap)
    left_out: int = 0  # fitted recipes past the cap

    @property
    def queued(self) -> list[dict[str, Any]]:
        """Every queued parameter set, in queue order."""
        return [*self.user, *(r.params for r in self.recipes)]


def start_cap(n_trials: int) -> int:
    """How many trials the queued start may take: about half the budget, so the sampler keeps
    the other half (8 trials: 4; 3 trials: 2; 1 trial: 1)."""
    return max(1, math.ceil(n_trials / 2))


def recipes_for(portfolio: str, *, conf_dir: Path) -> tuple[Recipe, ...]:
    """The recipes ``sweep.portfolio`` names (``conf_dir`` holds the learned file).

    Raises:
        ConfigError: an unknown portfolio, or a learned file that is missing, empty or bad.
    """
    if portfolio == "none":
        return ()
    if portfolio == "recipes":
        return RECIPES
    if portfolio != "learned":
        raise ConfigError(
            f"sweep.portfolio must be one of {list(PORTFOLIOS)} but got {portfolio!r}."
        )
    return load_recipes(conf_dir / LEARNED_FILE)


def load_recipes(path: Path) -> tuple[Recipe, ...]:
    """Recipes from a YAML list of ``{name, citation, settings}``; each setting checked."""
    import yaml

    where = f"sweep.portfolio=learned ({path})"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{where}: cannot read the file: {type(err).__name__}.") from None
    if not raw:
        raise ConfigError(
            f"{where} lists no configs yet; use sweep.portfolio=recipes or sweep.portfolio=none."
        )
    if not isinstance(raw, list):
        raise ConfigError(
            f"{where} must hold a list of {{name, citation, settings}} but got {raw!r}."
        )
    out = []
    for i, item in enumerate(raw):
        if (
            not isinstance(item, Mapping)
            or not isinstance(item.get("name"), str)
            or not isinstance(item.get("settings"), Mapping)
        ):
            raise ConfigError(
                f"{where}[{i}] must be a mapping with a name and settings but got {item!r}."
            )
        for key, value in item["settings"].items():
            check_value(str(key), value, where=f"{where}[{i}].settings.{key}")
        out.append(
            Recipe(
                name=item["name"],
                citation=str(item.get("citation") or "learned"),
                settings=dict(item["settings"]),
            )
        )
    return tuple(out)


def _snap(spec: ParamSpec, value: Any) -> Any:
    """``value`` moved into ``spec``'s range (clipped, on its step), or its nearest choice;
    ``None`` where no value of the entry is near it (a choice that is not a number)."""
    if spec.type == "categorical":
        if value in spec.choices:
            return value
        numeric = [
            c for c in spec.choices if isinstance(c, int | float) and not isinstance(c, bool)
        ]
        if not numeric or isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return min(numeric, key=lambda c: abs(c - value))  # ties: the first listed
    assert spec.low is not None
    assert spec.high is not None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    out = min(max(value, spec.low), spec.high)
    if spec.step:
        out = min(spec.low + round((out - spec.low) / spec.step) * spec.step, spec.high)
    if spec.type == "int":
        return round(out)
    return float(out)


def fit(
    recipes: Sequence[Recipe], *, space: SearchSpace, num_train: int, train: TrainSettings
) -> tuple[list[Fitted], list[str]]:
    """Fit ``recipes`` to ``space`` (already fitted to the data) and the fixed ``train``.

    Keys the space does not search are dropped (the trial trains with the train value, as for
    ``sweep.enqueue``); the others move into the space: clipped into a range (``num_epochs``
    capped at the fitted ``num_epochs.high``: 3 at 10k examples and more), onto its step, or to
    the nearest numeric choice (batch 16 with choices [32, 64] runs at 32). Conditional entries
    are set only where their condition holds. A recipe equal to an earlier one after fitting is
    dropped, and so is one whose schedule the data size refuses (a note says so).
    Below :data:`~sweeper.space.FIT_BATCH_EXAMPLES` examples the fitted recipes are ordered
    most optimizer steps first (ties in table order), so a capped start keeps the schedules
    that can leave chance on small data (see :data:`RECIPES`).

    Args:
        recipes: In queue order.
        space: The fitted search space.
        num_train: Training examples (0: unknown, the schedule is not checked).
        train: The fixed train settings.

    Returns:
        The fitted recipes in order, and notes for the start-up lines.
    """
    out: list[Fitted] = []
    notes: list[str] = []
    steps: list[int] = []  # the optimizer steps of each of `out` (where num_train is known)
    for recipe in recipes:
        params: dict[str, Any] = {}
        changes: list[str] = []
        dropped = [key for key in recipe.settings if key not in space.names]
        for spec in space.params:  # in the space's order, so `when` sees its parents
            if spec.name not in recipe.settings or not spec.active(params):
                continue
            wanted = recipe.settings[spec.name]
            value = _snap(spec, wanted)
            if value is None:
                dropped.append(spec.name)
                continue
            if value != wanted:
                changes.append(f"{spec.name} {wanted} -> {value}")
            params[spec.name] = value
        if dropped:
            changes.append(f"not searched: {', '.join(sorted(dropped))} (train values)")
        if not params:
            continue  # nothing of it is searched here: it would be an arbitrary draw
        if any(f.params == params for f in out):
            continue
        if num_train:
            try:
                plan = train.replace(params).check_schedule(num_train)
            except ConfigError as err:
                notes.append(f"recipe {recipe.name} not queued: {err}")
                continue
            steps.append(plan.num_training_steps)
        out.append(
            Fitted(
                name=recipe.name, citation=recipe.citation, params=params, changes=tuple(changes)
            )
        )
    if 0 < num_train < FIT_BATCH_EXAMPLES:
        ranked = sorted(zip(steps, out, strict=True), key=lambda pair: -pair[0])  # stable
        out = [fitted for _, fitted in ranked]
    return out, notes


def start(
    user: Sequence[Mapping[str, Any]],
    fitted: Sequence[Fitted],
    *,
    n_trials: int,
) -> Start:
    """The user's queued settings, then the fitted recipes, within :func:`start_cap`.

    The user's own settings always run (they asked for them); recipes fill the rest of the cap,
    first ones first, skipping any equal to a user's setting.
    """
    users = tuple(dict(p) for p in user)
    cap = start_cap(n_trials)
    room = max(0, cap - len(users))
    fresh = [f for f in fitted if f.params not in users]
    return Start(user=users, recipes=tuple(fresh[:room]), cap=cap, left_out=len(fresh[room:]))


__all__ = [
    "LEARNED_FILE",
    "PORTFOLIOS",
    "RECIPES",
    "Fitted",
    "Recipe",
    "Start",
    "fit",
    "load_recipes",
    "recipes_for",
    "start",
    "start_cap",
]
