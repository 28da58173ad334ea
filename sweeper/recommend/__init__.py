"""From a finished study to defaults you can use: epochs, warmup, LR, scheduler (and the rest).

``python -m sweeper.recommend`` takes the same overrides as the sweep (so it finds the same
study; a config that differs from the sweep's is refused) and:

1. re-runs the ``top_k`` best trials on ``confirm_seeds`` **fresh** seeds (never the seed the
   sweep selected them on) and picks the one with the best **median** (robustness over a lucky
   seed), reporting the seed spread;
2. reads the epoch count off where those runs peaked. A trial early-stopped at epoch 2 of 4 was
   trained under a 4-epoch schedule; "use 2 epochs" is a different, shorter schedule. So the
   **confirmation** trains the written config as written (``num_epochs`` set, no early
   stopping) for both candidates, the peak and the horizon, on the same held-out seeds (neither
   the sweep's nor the selection's), and compares their **final** values: like with like. The
   shorter schedule is kept unless it is clearly worse;
3. writes a ``+recommended=NAME`` Hydra config and a Markdown report with plots, also logged
   to the study's MLflow parent run. With ``data.validation=from_train`` the GLUE dev set is a
   test set: the confirmation's ``test_*`` metrics are reported too.

When no trial of the study left chance (:mod:`sweeper.chance`, against the chance level the
objective reports), every candidate is a pick among runs that learned nothing: recommend says so
in one line (logged first, then in the config's header, the summary and the report) with what
to try instead, and still writes its config and report (exit code 0), so scripts and
benchmarks read the numbers all the same.

With ``recommend.studies=[a,b,...]`` it recommends one shared set for several studies (one per
task): the candidate minimizing the worst relative regret across them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sweeper.config import task_overrides
from sweeper.errors import ConfigError
from sweeper.recommend.config_file import (
    config_delta,
    recommended_dir,
    use_command,
    write_config,
)
from sweeper.recommend.report import (
    nothing_learned_line,
    print_summary,
    regret_table,
    write_report,
    write_shared_report,
)
from sweeper.recommend.selection import (
    Recommendation,
    Session,
    SharedRecommendation,
    final_values,
    mean_and_std,
    recommend_one,
    recommend_shared,
    test_metrics,
)

if TYPE_CHECKING:
    from omegaconf import DictConfig


log = logging.getLogger("sweeper")


def _report_to_parent(
    session: Session, *, files: list[Path], folder: str, metrics: Mapping[str, float]
) -> None:
    """Files and metrics on the study's tracking run, if the sweep had one."""
    from sweeper.tracking import STUDY_RUN_ATTR, open_tracker, recorded_id

    parent = recorded_id(session.study.user_attrs, STUDY_RUN_ATTR)
    if not parent:
        return
    tracker = open_tracker(
        session.checked.cfg,
        study_name=session.name,
        storage_id=session.storage_name,
        results_dir=session.checked.results_dir,
    )
    if tracker is not None:
        tracker.log_to_run(parent, files=files, folder=folder, metrics=metrics)
        tracker.close()


def recommend(cfg: DictConfig | Mapping[str, Any]) -> Recommendation | SharedRecommendation:
    """Run the recommendation the config describes; prints the result, returns it."""
    from sweeper.checks import RECOMMEND_RULES, check
    from sweeper.progress import quiet_libraries
    from sweeper.rules import check_node

    quiet_libraries()
    checked = check(cfg)
    rcfg = {"top_k": 3, "confirm_seeds": 3, **(checked.cfg.get("recommend") or {})}
    check_node("recommend", rcfg, RECOMMEND_RULES)
    top_k, seeds = int(rcfg["top_k"]), int(rcfg["confirm_seeds"])
    studies = list(rcfg.get("studies") or [])
    config_dir = recommended_dir(rcfg.get("config_dir"), results_dir=checked.results_dir)
    overrides = task_overrides()
    if studies:
        if len(studies) < 2:
            raise ConfigError(f"recommend.studies needs two or more study names but got {studies}.")
        sessions = [Session(checked, study_name=str(n)) for n in studies]
        shared = recommend_shared(sessions, top_k=top_k)
        name = rcfg.get("name") or f"{checked.cfg['experiment_name']}_shared"
        path = config_dir / f"{name}.yaml"
        delta = config_delta(shared.settings, keys=checked.space.names)
        use = use_command(path, overrides, delta=delta)
        shared.config_path = write_config(
            delta,
            path=path,
            header=[
                f"Shared defaults for studies {', '.join(studies)} (least worst regret).",
                f"Use: {use}",
            ],
        )
        out_dir = checked.results_dir / "reports" / f"shared-{'-'.join(studies)}"
        shared.report_path = write_shared_report(shared, sessions, out_dir=out_dir, use=use)
        # Each study's parent run gets the shared report and its own regret under it.
        regrets = {row["study"]: row["regret"] for row in shared.table}
        for s in sessions:
            _report_to_parent(
                s,
                files=[shared.report_path, shared.config_path],
                folder="recommendation-shared",
                metrics={"shared_regret": float(regrets[s.name])},
            )
        print(regret_table(shared))
        print(f"\nconfig: {shared.config_path}\nreport: {shared.report_path}\nuse:    {use}")
        return shared

    session = Session(checked)
    # No trial left chance: the pick is arbitrary. Said now (before the seed runs) and in the
    # config, summary and report; still written, so a benchmark or script reads its numbers.
    nothing = nothing_learned_line(session)
    if nothing is not None:
        log.warning("%s", nothing)
    rec = recommend_one(session, top_k=top_k, seeds=seeds)
    task = session.task_info.get("task", "task")
    name = rcfg.get("name") or f"{checked.cfg['experiment_name']}_{task}"
    path = config_dir / f"{name}.yaml"
    delta = config_delta(rec.settings, keys=checked.space.names)
    use = use_command(path, overrides, delta=delta)
    info = session.task_info
    rec.config_path = write_config(
        delta,
        path=path,
        header=[
            f"Recommended by sweeper from study {rec.study} ({info.get('task')}, data "
            f"source {info.get('source')}) on {datetime.now():%Y-%m-%d}.",
            f"Schedule: {rec.settings.plan(int(info.get('num_train') or 1)).banner()}",
            f"Use: {use}",
            *([f"WARNING: {nothing}"] if nothing is not None else []),
        ],
    )
    out_dir = checked.results_dir / "reports" / rec.study
    rec.report_path, files = write_report(rec, session, out_dir=out_dir, use=use)
    conf = final_values(rec.confirmation)
    mean, std = mean_and_std(conf)
    metrics = {
        "rec_num_epochs": rec.epochs,
        "rec_seed_median": rec.chosen.median,
        "rec_seed_std": rec.chosen.std,
    }
    if conf:
        metrics |= {"rec_confirm_mean": mean, "rec_confirm_std": std}
    for key, (m, sd) in test_metrics(rec.confirmation).items():
        metrics |= {f"rec_{key}_mean": m, f"rec_{key}_std": sd}
    _report_to_parent(
        session,
        files=[rec.report_path, rec.config_path, *files],
        folder="recommendation",
        metrics=metrics,
    )
    print_summary(rec, session, use)
    return rec


__all__ = ["recommend"]
