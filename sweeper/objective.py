"""The contract between sweeper and a training objective.

An objective trains and evaluates; it knows nothing of Optuna or MLflow. It calls a
:class:`Reporter` at every optimizer step (learning rate), every logging interval (train loss)
and every evaluation, and stops when an evaluation returns anything but
:attr:`Decision.CONTINUE`. The reporter turns those calls into pruning, early stopping, progress
and tracking.

``objective:`` in the config names either a class (:class:`Objective`) or a plain function
``train(settings, reporter, *, device)``, with an optional ``prepare()`` beside it in its module;
:func:`load_objective` turns either into the factory sweeper builds the objective with.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

from sweeper.direction import DIRECTIONS, Direction
from sweeper.dotted import import_dotted, offers
from sweeper.errors import ConfigError

if TYPE_CHECKING:
    from torch.optim import Optimizer
    from torch.optim.lr_scheduler import LambdaLR

    from sweeper.schedule import StepPlan
    from sweeper.settings import TrainSettings


class Decision(enum.Enum):
    """What the objective does after an evaluation."""

    CONTINUE = "continue"
    STOP = "stop"  # early stopping: the trial is complete, its best value stands
    PRUNE = "prune"  # pruned (by the pruner, or diverged / non-finite): the trial ends PRUNED


class Reporter(Protocol):
    """What an objective reports to, in order: ``start``, then steps and evaluations."""

    def start(self, plan: StepPlan) -> None:
        """Called once before the first step, with the trial's step plan."""

    def log_lr(self, step: int, lr: float) -> None:
        """The learning rate update ``step`` (0-based) used; called once per optimizer update."""

    def log_train_loss(self, step: int, loss: float) -> None:
        """Mean training loss over the last logging interval, after ``step`` updates."""

    def evaluate(self, *, step: int, val_loss: float, metrics: Mapping[str, float]) -> Decision:
        """An evaluation after ``step`` updates; returns what to do next."""
        ...


@dataclass(frozen=True, kw_only=True)
class TaskInfo:
    """What an objective tells sweeper about its data once prepared."""

    task: str
    source: str  # glue_dir | hub | builtin
    origin: str  # the folder, hub id or generator that the examples came from
    model: str
    num_train: int
    num_eval: int
    metric: str  # the task's main metric (what sweep.objective=metric optimizes)
    is_regression: bool = False
    # Every metric each evaluation reports (empty: not said); sweep.objective=auto selects on
    # accuracy instead of a main metric that favours the class prior only where it is reported.
    metrics: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)
    # Which way `metric` is better: "minimize" (rmse, mae, wer) or "maximize"; None: by its
    # name (a name ending in "loss" is minimized, every other maximized).
    metric_direction: Direction | None = None
    # What a run that learned nothing scores, per monitored value (val_loss and each metric):
    # the summaries say when no trial left it, the curve pruner cuts trials still at it late.
    # Optional: a value without one is never judged against chance.
    chance: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.metric_direction is not None and self.metric_direction not in DIRECTIONS:
            raise ConfigError(
                f"TaskInfo(metric={self.metric!r}).metric_direction must be one of "
                f"{list(DIRECTIONS)} or None (by the metric's name) but got "
                f"{self.metric_direction!r}."
            )


class Objective(Protocol):
    """A training objective as a class (``objective:`` in the config names it; a plain function
    ``train(settings, reporter, *, device)`` is wrapped in one by :func:`load_objective`).

    The class is built with ``data=``, ``model=`` (config nodes) and ``seed=``. It may also
    offer a static ``check_config(*, data, model)`` that raises a
    :class:`~sweeper.errors.SweeperError` for bad nodes without loading anything; sweeper calls
    it with the other config checks, before connecting to storage.
    """

    def prepare(self) -> TaskInfo:
        """Load and tokenize data and check the model, once per sweep, before any trial."""
        ...

    def train(self, settings: TrainSettings, reporter: Reporter, *, device: str) -> None:
        """Train one trial with ``settings``, reporting as it goes, until done or told to stop.

        Raises:
            sweeper.errors.NonFiniteLossError: the loss became NaN or infinite.
        """


def build_scheduler(optimizer: Optimizer, *, settings: TrainSettings, plan: StepPlan) -> LambdaLR:
    """The learning-rate scheduler of a trial: ``settings.scheduler`` over ``plan``'s steps.

    Any type of :data:`sweeper.SCHEDULERS` (the transformers ones and sweeper's ``step`` and
    ``exponential``), with ``settings.scheduler_kwargs``, ``plan.num_warmup_steps`` and
    ``plan.num_training_steps``: the very schedule sweeper's own loop, its preview
    (``python -m sweeper.schedule``) and its recommendations use. Step it once per optimizer
    update.

    Args:
        optimizer: The optimizer; its ``lr`` is the peak learning rate (``settings.lr``).
        settings: The trial's settings (the first argument of ``train``).
        plan: ``settings.plan(len(train_dataset))``.

    Returns:
        A ``torch.optim.lr_scheduler.LambdaLR``.
    """
    from sweeper.schedule import build_scheduler as build

    return build(optimizer, name=settings.scheduler, plan=plan, kwargs=settings.scheduler_kwargs)


# --------------------------------------------------------------------- objective: NAME

_CONTRACT = (
    "allowed: a class with prepare() and train(settings, reporter, *, device), or a function "
    "train(settings, reporter, *, device) in an importable module"
)
PREPARE_ARGS = ("data", "model", "seed")  # what a module-level prepare() may ask for


def _import(path: str) -> Any:
    """The object a dotted ``path`` names (:func:`sweeper.dotted.import_dotted`)."""
    return import_dotted(
        path, key="objective", allowed=_CONTRACT, form="package.module.function or .Class"
    )


def _takes(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
    try:
        inspect.signature(fn).bind(*args, **kwargs)
    except TypeError:
        return False
    except ValueError:  # no signature to read (a builtin): let the call decide
        return True
    return True


def _shown(fn: Callable[..., Any]) -> str:
    try:
        return f"{getattr(fn, '__name__', 'train')}{inspect.signature(fn)}"
    except ValueError:
        return repr(fn)


def load_objective(path: str) -> Callable[..., Objective]:
    """The factory of the objective ``objective: PATH`` names; call it with ``data=``,
    ``model=`` (config nodes) and ``seed=``.

    ``path`` names a class (the factory is the class), or a function
    ``train(settings, reporter, *, device)`` or the module holding one. A ``prepare()`` in the
    function's module, if there is one, runs once per sweep before any trial and returns the
    :class:`TaskInfo`; it may take any of the keywords ``data``, ``model`` and ``seed``.

    Raises:
        ConfigError: ``path`` does not import, or what it names does not fit the contract;
            the message names what is missing.
    """
    target = _import(path)
    if isinstance(target, type):
        missing = [m for m in ("prepare", "train") if not callable(getattr(target, m, None))]
        if missing:
            raise ConfigError(
                f"objective={path}: class {target.__name__} has no "
                f"{' and no '.join(m + '()' for m in missing)} method; {_CONTRACT}."
            )
        return target
    module = target
    if isinstance(target, ModuleType):
        target = getattr(module, "train", None)
        if not callable(target):
            raise ConfigError(
                f"objective={path}: module {module.__name__} has no function train; it has "
                f"{offers(module)}; {_CONTRACT}."
            )
    elif callable(target):
        module = inspect.getmodule(target)
    else:
        raise ConfigError(
            f"objective={path} is a {type(target).__name__}, not a class or a function; "
            f"{_CONTRACT}."
        )
    if not _takes(target, None, None, device="cpu"):
        raise ConfigError(
            f"objective={path}: {_shown(target)} does not take (settings, reporter, *, device); "
            f"{_CONTRACT}."
        )
    prepare = getattr(module, "prepare", None)
    if prepare is not None and (
        not callable(prepare) or not _takes(prepare, **_prepare_kwargs(prepare, {}))
    ):
        raise ConfigError(
            f"objective={path}: {getattr(module, '__name__', '?')}.prepare must be a function "
            f"taking only keywords from {list(PREPARE_ARGS)} but is "
            f"{_shown(prepare) if callable(prepare) else repr(prepare)}."
        )
    return partial(FunctionObjective, path=path, train_fn=target, prepare_fn=prepare)


def _prepare_kwargs(prepare: Callable[..., Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """The keywords of :data:`PREPARE_ARGS` that ``prepare`` declares (all, for ``**kwargs``)."""
    try:
        params = inspect.signature(prepare).parameters
    except ValueError:
        return {}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return {name: given.get(name) for name in PREPARE_ARGS}
    return {name: given.get(name) for name in PREPARE_ARGS if name in params}


class FunctionObjective:
    """An :class:`Objective` made of a module's ``train`` function and optional ``prepare``.

    Without ``prepare`` sweeper knows no data size: the task is named after the module, the
    metric is ``val_loss`` and the schedule is first built in the first trial.
    """

    def __init__(
        self,
        *,
        path: str,
        train_fn: Callable[..., None],
        prepare_fn: Callable[..., TaskInfo] | None,
        data: Mapping[str, Any],
        model: Mapping[str, Any],
        seed: int,
    ) -> None:
        self.path = path
        self.train_fn = train_fn
        self.prepare_fn = prepare_fn
        self.config: dict[str, Any] = {"data": data, "model": model, "seed": seed}

    def prepare(self) -> TaskInfo:
        if self.prepare_fn is None:
            module = getattr(self.train_fn, "__module__", None) or self.path
            return TaskInfo(
                task=module.rsplit(".", 1)[-1],
                source="user",
                origin=self.path,
                model=str(self.config["model"].get("name_or_path", "")),
                num_train=0,
                num_eval=0,
                metric="val_loss",
            )
        info = self.prepare_fn(**_prepare_kwargs(self.prepare_fn, self.config))
        if not isinstance(info, TaskInfo):
            raise ConfigError(
                f"objective={self.path}: prepare() must return a sweeper.TaskInfo but returned "
                f"{type(info).__name__}."
            )
        return info

    def train(self, settings: TrainSettings, reporter: Reporter, *, device: str) -> None:
        self.train_fn(settings, reporter, device=device)
