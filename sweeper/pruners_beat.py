"""A pruner that stops a trial when the probability that it beats the best trial is small.

:class:`BeatProbabilityPruner` is the probabilistic sibling of
:class:`sweeper.pruners.CurvePruner`: where that one credits a trial with the *largest* later
gain a finished trial made (an optimistic bound), this one credits it with *each* finished
trial's later gain in turn, blurs every continuation by the evaluation noise seen in the
finished curves, and prunes when the average probability of ending better than the best finished
value is below ``min_probability``.

Noise: the validation loss of a small validation set moves between evaluations by more than a
1 % regret; two runs of one configuration with different seeds differ by as much. A live sweep
has no second seed to measure that, so the noise is the curves' own: the median absolute change
between consecutive evaluations in the second half of each finished curve (where a curve is
mostly flat, so what moves is noise), over ``sqrt(2)`` (a difference of two noisy values).

Public Optuna API only, like :mod:`sweeper.pruners`.
"""

from __future__ import annotations

import itertools
import math
import statistics
from typing import TYPE_CHECKING

import optuna
from optuna.pruners import BasePruner
from optuna.trial import TrialState

from sweeper.pruners import trial_position

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial


class BeatProbabilityPruner(BasePruner):
    """Prune when ``P(this trial ends better than the best finished trial) < min_probability``.

    At step ``s`` the trial's best value so far is ``b``. Each finished trial ``c`` that ran
    past ``s`` gained ``g_c`` after it (its best after ``s`` minus its best up to ``s``, never
    below 0; scaled by ``(steps left / steps c ran after s) ** horizon_power`` where trials
    record their planned last step). The trial's end value is modelled as ``b - g_c + e``, ``c``
    drawn uniformly and ``e`` Gaussian with the curves' noise ``sigma`` (module docstring), and
    the best finished value ``v`` as known up to the same noise, so
    ``P = mean_c Phi((v - (b - g_c)) / (sigma * sqrt(2)))``.

    Never judged before ``n_startup_trials`` finished trials ran past the step, below
    ``n_warmup_steps``, or while this trial and every finished one were still at chance there
    (the median of the finished trials' first values, within ``chance_delta`` relative): the
    same guards as the curve pruner.

    Args:
        n_startup_trials: Finished trials that must have run past a step before judging there.
        n_warmup_steps: Never prune below this step.
        min_probability: Prune below this probability of beating the best.
        min_noise: Floor on ``sigma``, relative to the best value's size (curves recorded to a
            few digits, or too short to show their noise, still get some).
        chance_delta: See above.
        horizon_power: See above (0: gains not scaled).
    """

    def __init__(
        self,
        *,
        n_startup_trials: int = 2,
        n_warmup_steps: int = 0,
        min_probability: float = 0.05,
        min_noise: float = 0.002,
        chance_delta: float = 0.02,
        horizon_power: float = 0.5,
    ) -> None:
        if n_startup_trials < 1:
            raise ValueError(f"n_startup_trials must be >= 1 but got {n_startup_trials}.")
        if n_warmup_steps < 0:
            raise ValueError(f"n_warmup_steps must be >= 0 but got {n_warmup_steps}.")
        if not 0.0 <= min_probability < 1.0:
            raise ValueError(f"min_probability must be in [0, 1) but got {min_probability}.")
        if min_noise < 0:
            raise ValueError(f"min_noise must be >= 0 but got {min_noise}.")
        if chance_delta < 0:
            raise ValueError(f"chance_delta must be >= 0 but got {chance_delta}.")
        if horizon_power < 0:
            raise ValueError(f"horizon_power must be >= 0 but got {horizon_power}.")
        self.n_startup_trials = n_startup_trials
        self.n_warmup_steps = n_warmup_steps
        self.min_probability = min_probability
        self.min_noise = min_noise
        self.chance_delta = chance_delta
        self.horizon_power = horizon_power

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        probability = self.probability(study, trial)
        return probability is not None and probability < self.min_probability

    def probability(self, study: optuna.Study, trial: FrozenTrial) -> float | None:
        """The probability that ``trial`` beats the best finished trial (``None``: not judged)."""
        where = trial_position(
            study, trial, n_warmup_steps=self.n_warmup_steps, horizon_power=self.horizon_power
        )
        if where is None:
            return None
        step, sign, best_now, left = where
        gains: list[float] = []
        firsts: list[float] = []
        bests_before: list[float] = []
        changes: list[float] = []
        best_done = math.inf
        for other in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            curve = {s: sign * v for s, v in other.intermediate_values.items() if math.isfinite(v)}
            if not curve:
                continue
            steps = sorted(curve)
            firsts.append(curve[steps[0]])
            best_done = min(best_done, min(curve.values()))
            late = [curve[s] for s in steps[len(steps) // 2 :]]
            changes += [abs(b - a) for a, b in itertools.pairwise(late)]
            before = [v for s, v in curve.items() if s <= step]
            after = [v for s, v in curve.items() if s > step]
            if before:
                bests_before.append(min(before))
            if before and after:
                gain = max(0.0, min(before) - min(after))
                if left is not None:
                    gain *= (max(left, 0) / (steps[-1] - step)) ** self.horizon_power
                gains.append(gain)
        if len(gains) < self.n_startup_trials or not math.isfinite(best_done):
            return None
        chance = statistics.median(firsts)
        tolerance = self.chance_delta * abs(chance)
        if best_now <= chance + tolerance and all(
            abs(chance - b) <= tolerance for b in bests_before
        ):
            return None  # warmup: nothing had left chance here yet
        noise = statistics.median(changes) / math.sqrt(2) if changes else 0.0
        sigma = max(noise, self.min_noise * abs(best_done), 1e-12)
        scale = sigma * math.sqrt(2)
        return sum(_phi((best_done - (best_now - g)) / scale) for g in gains) / len(gains)


def _phi(z: float) -> float:
    """The standard normal CDF."""
    return 0.5 * math.erfc(-z / math.sqrt(2))
