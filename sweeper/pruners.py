"""Pruners that judge a trial by where its curve is heading, not by its rank at one step.

:class:`CurvePruner` asks: *even if this trial now improves as much as the luckiest finished
trials improved after the same step, can it still beat the best trial so far?* It prunes only
when the answer is no. Rank-based pruners (median, percentile, successive halving) instead stop
whatever is behind at a step, which, after half an epoch of mostly warmup, stops trials that
would have become the best (docs/benchmarks.md, section 3).

Public Optuna API only (``study.get_trials``, ``trial.intermediate_values``), so it works with
every sampler and storage.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import optuna
from optuna.pruners import BasePruner
from optuna.trial import TrialState

from sweeper.chance import CHANCE_FLOOR, chance_margin, left_chance, recorded_chance
from sweeper.trial_record import FINAL_STEP_KEY

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial


class CurvePruner(BasePruner):
    """Prune a trial when an optimistic continuation of its curve cannot beat the best trial.

    At step ``s`` the trial's best value so far is ``b``. Each finished trial ``c`` that ran
    past ``s`` improved by ``g_c`` after it (its best after ``s`` minus its best up to ``s``;
    never worse than 0). The trial's *optimistic reach* is ``b`` plus the ``quantile`` of those
    gains (1.0: the largest gain seen). The trial is pruned when its reach is still worse than
    the best finished value by more than ``margin`` (relative to that value's size).

    Where trials record their planned last step (``FINAL_STEP_KEY``, set by sweeper's prune
    hook) and ``horizon_power`` > 0, each gain is first scaled by ``(r / r_c) **
    horizon_power``: ``r`` the steps this trial's schedule has left after ``s``, ``r_c`` the
    steps ``c`` ran after ``s``. A low-LR 3-epoch trial judged against 2-epoch trials that
    finished is credited with the longer road it has ahead (a late bloomer), a 1-epoch trial with
    the shorter one.

    A trial is never judged

    * before ``n_startup_trials`` finished trials ran past its step (no evidence of what
      happens later);
    * at steps below ``n_warmup_steps``;
    * while it and every finished trial were still at chance at that step: none of their best
      values up to the step had moved from the chance level (the median of the finished
      trials' first values) by more than ``chance_delta`` of its size, or ``chance_floor`` where
      that level is near 0 (:func:`sweeper.chance.chance_margin`: for MCC or Pearson a relative
      tolerance is 0, and one noisy evaluation at -0.048 would read as diverging). That is
      warmup, when a value says nothing about where a curve will go; a trial already worse than
      chance by more than that is judged.

    A trial **still at chance late in its schedule** is pruned whatever its reach: past
    ``chance_cut`` of its planned steps (``FINAL_STEP_KEY``), its best value has not left chance
    (:func:`sweeper.chance.left_chance`) while a finished trial's has. The chance level is the
    task's, where the study records one (``task_info.chance``, from the objective's
    :class:`~sweeper.objective.TaskInfo`), else the worst first value of at least
    ``n_startup_trials`` finished trials. When nothing has
    learned yet, no trial is cut for it: there is no evidence the settings are to blame.

    Args:
        n_startup_trials: Finished trials that must have run past a step before judging there.
        n_warmup_steps: Never prune below this step.
        quantile: Optimism in [0, 1]: which quantile of the finished trials' later gains the
            trial is credited with (1.0 = the best seen).
        margin: Relative slack added to the best value (0.02: prune only if even the optimistic
            reach is more than 2 % worse).
        chance_delta: Relative distance from the chance level (the finished trials' median
            first value) that some finished trial must have moved by a step before any trial
            is judged there.
        horizon_power: How a later gain is scaled to the steps this trial has left (0: not
            scaled; 1: in proportion; 0.5: by the square root, for diminishing returns).
        chance_floor: Absolute distance from a chance level near 0 (smaller than this in size:
            MCC, Pearson) that counts as having moved; 0: relative ``chance_delta`` only.
        chance_cut: Fraction of its schedule after which a trial still at chance is pruned
            while a finished trial left chance; ``None``: never.
    """

    def __init__(
        self,
        *,
        n_startup_trials: int = 2,
        n_warmup_steps: int = 0,
        quantile: float = 1.0,
        margin: float = 0.05,
        chance_delta: float = 0.02,
        horizon_power: float = 0.0,
        chance_floor: float = CHANCE_FLOOR,
        chance_cut: float | None = None,
    ) -> None:
        if n_startup_trials < 1:
            raise ValueError(f"n_startup_trials must be >= 1 but got {n_startup_trials}.")
        if n_warmup_steps < 0:
            raise ValueError(f"n_warmup_steps must be >= 0 but got {n_warmup_steps}.")
        if not 0.0 <= quantile <= 1.0:
            raise ValueError(f"quantile must be in [0, 1] but got {quantile}.")
        if margin < 0:
            raise ValueError(f"margin must be >= 0 but got {margin}.")
        if chance_delta < 0:
            raise ValueError(f"chance_delta must be >= 0 but got {chance_delta}.")
        if horizon_power < 0:
            raise ValueError(f"horizon_power must be >= 0 but got {horizon_power}.")
        if chance_floor < 0:
            raise ValueError(f"chance_floor must be >= 0 but got {chance_floor}.")
        if chance_cut is not None and not 0.0 < chance_cut <= 1.0:
            raise ValueError(f"chance_cut must be in (0, 1] or None but got {chance_cut}.")
        self.chance_floor = chance_floor
        self.chance_cut = chance_cut
        self.horizon_power = horizon_power
        self.n_startup_trials = n_startup_trials
        self.n_warmup_steps = n_warmup_steps
        self.quantile = quantile
        self.margin = margin
        self.chance_delta = chance_delta

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        where = trial_position(
            study, trial, n_warmup_steps=self.n_warmup_steps, horizon_power=self.horizon_power
        )
        if where is None:
            return False
        step, sign, best_now, left = where
        final = trial.user_attrs.get(FINAL_STEP_KEY)  # for the late chance cut
        finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        gains: list[float] = []
        firsts: list[float] = []
        bests_before: list[float] = []
        bests: list[float] = []
        for other in finished:
            curve = {s: sign * v for s, v in other.intermediate_values.items() if math.isfinite(v)}
            if not curve:
                continue
            firsts.append(curve[min(curve)])
            bests.append(min(curve.values()))
            before = [v for s, v in curve.items() if s <= step]
            after = [v for s, v in curve.items() if s > step]
            if before:
                bests_before.append(min(before))
            if before and after:
                gain = max(0.0, min(before) - min(after))
                if left is not None:
                    ran = max(s for s in curve if s > step) - step
                    gain *= (max(left, 0) / ran) ** self.horizon_power
                gains.append(gain)
        if not bests:
            return False
        chance = _quantile(sorted(firsts), 0.5)
        # Without the task's chance level, the worst first value of n_startup_trials finished
        # trials stands for it: the median one may be a fast learner's, far past chance, and
        # would cut trials that are learning.
        guess = max(firsts) if len(firsts) >= self.n_startup_trials else None
        if self._late_at_chance(
            study, step=step, final=final, best_now=best_now, bests=bests, level=guess, sign=sign
        ):
            # Past most of its schedule and still at chance while others learned: whatever
            # later gains others had, these settings are not learning.
            return True
        if len(gains) < self.n_startup_trials:
            return False
        tolerance = chance_margin(chance, delta=self.chance_delta, floor=self.chance_floor)
        if best_now <= chance + tolerance and all(
            abs(chance - b) <= tolerance for b in bests_before
        ):
            # Every finished trial was still at chance here (warmup), and so is this one. A
            # trial worse than chance (a diverging one) is judged all the same.
            return False

        best_done = min(bests)
        reach = best_now - _quantile(sorted(gains), self.quantile)
        return reach > best_done + self.margin * abs(best_done)

    def _late_at_chance(
        self,
        study: optuna.Study,
        *,
        step: int,
        final: object,
        best_now: float,
        bests: list[float],
        level: float | None,
        sign: float,
    ) -> bool:
        """Whether the trial is past ``chance_cut`` of its schedule (ending at step
        ``final``), its best (``best_now``, signed: lower is better) has not left chance, and a
        finished trial's best (``bests``) has. ``level``: the chance level where the study
        records none (``None``: unknown, never cut)."""
        if self.chance_cut is None or not isinstance(final, int) or step <= self.chance_cut * final:
            return False
        known = _task_chance(study)
        if known is not None:
            level = sign * known
        if level is None:
            return False

        def learned(value: float) -> bool:
            return left_chance(
                value, level, direction="minimize", delta=self.chance_delta, floor=self.chance_floor
            )

        return not learned(best_now) and any(learned(b) for b in bests)


def trial_position(
    study: optuna.Study, trial: FrozenTrial, *, n_warmup_steps: int, horizon_power: float
) -> tuple[int, float, float, int | None] | None:
    """Where a curve pruner judges ``trial``: its last step, the study's sign (values times it
    are lower-is-better), its best signed value so far and the steps its schedule has left
    (``None`` without ``horizon_power`` or a recorded last step); ``None``: not judged (no
    step yet, inside warmup, or no finite value: non-finite values are the reporter's)."""
    step = trial.last_step
    if step is None or step < n_warmup_steps:
        return None
    sign = 1.0 if study.direction == optuna.study.StudyDirection.MINIMIZE else -1.0
    mine = [sign * v for s, v in trial.intermediate_values.items() if s <= step]
    mine = [v for v in mine if math.isfinite(v)]
    if not mine:
        return None
    final = trial.user_attrs.get(FINAL_STEP_KEY)
    left = (final - step) if horizon_power and isinstance(final, int) else None
    return step, sign, min(mine), left


def _task_chance(study: optuna.Study) -> float | None:
    """The chance level of the monitored value, where the sweep recorded one on the study."""
    info = study.user_attrs.get("task_info") or {}
    return recorded_chance(info, str(info.get("monitor")))


def _quantile(values: list[float], q: float) -> float:
    """Linear-interpolated quantile of sorted ``values`` (numpy's default method)."""
    pos = q * (len(values) - 1)
    low = math.floor(pos)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (pos - low)
