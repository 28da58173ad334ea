"""Every config group option composes and checks; the command line works as documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sweeper.checks import check
from sweeper.commands.sweep import main
from sweeper.config import CONF_DIR, GROUPS, compose, group_options, resolve
from sweeper.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
GROUP_OPTIONS = [
    (group, option)
    for group in GROUPS
    if group not in ("experiment", "recommended")  # deltas on top of a full config
    for option in group_options(group)
]


@pytest.mark.parametrize(("group", "option"), GROUP_OPTIONS)
def test_every_group_option_composes_and_checks(
    group: str, option: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SWEEPER_STORAGE_URL", "postgresql+psycopg://u:secret@localhost/db")
    overrides = ["+experiment=glue", f"{group}={option}", f"results_dir={tmp_path}"]
    if option == "grid":
        # Grid needs enumerable entries: swap lr for a categorical one, give warmup a step.
        overrides += [
            "~search_space.lr",
            "+search_space.lr={type: categorical, choices: [1.0e-4, 3.0e-4]}",
            "+search_space.warmup_ratio.step=0.05",
        ]
    if (group, option) == ("data", "files"):  # your files: the check wants them to exist
        (tmp_path / "train.csv").write_text("text,label\nfine,1\n")
        overrides += [f"data.train_file={tmp_path / 'train.csv'}", "data.validation=from_train"]
    if (group, option) == ("data", "hub"):
        overrides += ["data.hub_id=someone/reviews"]  # checked only: nothing is loaded
    checked = check(compose(overrides))
    assert checked.cfg[group] is not None
    assert checked.results_dir == tmp_path


def test_experiment_glue_is_a_delta_over_the_defaults() -> None:
    base = resolve(compose([]))
    glue = resolve(compose(["+experiment=glue"]))
    assert glue["experiment_name"] == "glue" and base["experiment_name"] == "default"
    assert glue["sweep"]["study_name"] == "glue-sst2"
    assert glue["data"]["max_train_samples"] == 12000 and base["data"]["max_train_samples"] is None
    header = (CONF_DIR / "experiment" / "glue.yaml").read_text().splitlines()
    assert header[0] == "# @package _global_"
    assert any("python -m sweeper +experiment=glue" in line for line in header[:5])


@pytest.mark.parametrize(
    ("override", "path", "value"),
    [
        ("sweep.n_trials=30", ("sweep", "n_trials"), 30),
        ("search_space.lr.high=1e-4", ("search_space", "lr", "high"), 1e-4),
        ("data.task=mrpc", ("sweep", "study_name"), "glue-mrpc"),
        ("pruner=hyperband", ("pruner", "_target_"), "optuna.pruners.HyperbandPruner"),
        ("sweep.study_name=mine", ("sweep", "study_name"), "mine"),
        ("train.scheduler_kwargs.gamma=0.3", ("train", "scheduler_kwargs", "gamma"), 0.3),
    ],
)
def test_command_line_overrides(override: str, path: tuple[str, ...], value: object) -> None:
    node = resolve(compose(["+experiment=glue", override]))
    for key in path:
        node = node[key]
    assert node == value


def test_adding_a_search_space_entry_from_the_command_line() -> None:
    checked = check(
        compose(
            ["+experiment=glue", "+search_space.weight_decay={type: float, low: 0.0, high: 0.1}"]
        )
    )
    assert checked.space.names[-1] == "weight_decay"


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("sweep.n_trials=0", "sweep.n_trials must be an integer >= 1 but got 0"),
        (
            "train.evals_per_epoch=0",
            r"train.evals_per_epoch must be an integer >= 1 but got 0",
        ),
        ("train.patience=-1", "train.patience must be"),
        ("train.batch_size=0", "train.batch_size must be"),
        ("train.warmup_ratio=1.5", r"train.warmup_ratio must be a number in \[0, 1\) but got 1.5"),
        ("train.scheduler=cosine_typo", "train.scheduler must be one of"),
        ("data.task=sst3", "data.task must be one of"),
        ("data.source=ftp", "data.source must be one of"),
        (
            "sweep.objective=accuracy",
            r"sweep.objective must be one of \['auto', 'val_loss', 'metric'\]",
        ),
        ("device=tpu", "device must be"),
        ("pruner.n_startup_trials=-1", "pruner"),
        (
            "+train.learning_rate=1e-4",
            "train.learning_rate: 'learning_rate' is not a training setting",
        ),
    ],
)
def test_bad_config_values(override: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        check(compose(["+experiment=glue", override]))


def test_unknown_group_option_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["+experiment=glue", "pruner=medain"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert (
        "pruner=medain: no such option; pruner options are ['beat', 'curve', 'hyperband', 'median'"
        in err
    )


def test_bad_value_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["+experiment=glue", "sweep.n_trials=0", f"results_dir={tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert err == "error: sweep.n_trials must be an integer >= 1 but got 0.\n"
    assert not (tmp_path / "optuna.db").exists()  # nothing was opened, let alone trained


def _cli(*args: str, module: str = "sweeper") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_cfg_job_and_help_run_without_training() -> None:
    job = _cli("+experiment=glue", "--cfg", "job")
    assert job.returncode == 0, job.stderr
    assert "experiment_name: glue" in job.stdout and "search_space:" in job.stdout
    helped = _cli("--help")
    assert helped.returncode == 0
    for text in (
        "pruner: beat, curve, hyperband, median",
        "data.task=mrpc",
        "search_space.lr.high",
        "pruner=hyperband",
    ):
        assert text in helped.stdout


@pytest.mark.parametrize(
    ("module", "texts"),
    [
        ("sweeper.recommend", ["Usage: python -m sweeper.recommend", "recommend.confirm_seeds="]),
        ("sweeper.train", ["Usage: python -m sweeper.train", "+recommended=default_sst2"]),
    ],
)
def test_each_command_has_its_own_help(module: str, texts: list[str]) -> None:
    helped = _cli("--help", module=module)
    assert helped.returncode == 0, helped.stderr
    assert all(text in helped.stdout for text in texts)
    assert "Usage: python -m sweeper [" not in helped.stdout


@pytest.mark.parametrize(
    ("override", "match"),
    [
        (
            "sampler._target_=os.system",
            r"sampler._target_ must be a class derived from optuna.samplers.BaseSampler but got "
            "'os.system'",
        ),
        (
            "pruner._target_=subprocess.run",
            r"pruner._target_ must be a class derived from optuna.pruners.BasePruner but got",
        ),
        (
            "pruner.wrapped_pruner._target_=builtins.exec",
            r"pruner.wrapped_pruner._target_ must be a class but got 'builtins.exec'\.",
        ),
        (
            "pruner._target_=tests.user_objectives.pruners.NoSuchPruner",
            r"pruner._target_=tests.user_objectives.pruners.NoSuchPruner: "
            r"tests.user_objectives.pruners has no 'NoSuchPruner'; it has \['EveryOtherPruner', ",
        ),
    ],
)
def test_only_sampler_and_pruner_classes_are_built_from_config(override: str, match: str) -> None:
    extra = ["pruner=patient"] if "wrapped" in override else []
    with pytest.raises(ConfigError, match=match):
        check(compose(["+experiment=glue", *extra, override]))


def test_a_missing_conf_folder_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # An install that lost its configs (they ship as sweeper/conf in the wheel).
    monkeypatch.setattr("sweeper.config.CONF_DIR", tmp_path / "conf")
    assert main(["+experiment=glue"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: no sweeper config at {tmp_path}/conf/config.yaml: the install is incomplete; "
        "allowed: pip install . (or pip install -e . in a clone, whose conf/ it reads).\n"
    )


@pytest.mark.parametrize("module", ["sweeper", "sweeper.train", "sweeper.recommend"])
@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["+experiment=glue", "--cfg", "job"], "experiment_name: glue"),
        (["--cfg", "job", "+experiment=glue"], "experiment_name: glue"),
        (["--cfg", "job"], "experiment_name: default"),
        (["+experiment=glue", "--info", "defaults"], "experiment/glue"),
    ],
)
def test_cfg_and_info_work_for_every_command(module: str, args: list[str], expect: str) -> None:
    # Issue 14 #13: `python -m sweeper.train +experiment=glue --cfg job` failed with
    # "unrecognized arguments: hydra/help=train" (its help page override came after --cfg).
    out = _cli(*args, module=module)
    assert out.returncode == 0, out.stderr
    assert expect in out.stdout


@pytest.mark.parametrize(
    ("args", "extra", "expected"),
    [
        (["a=1", "--cfg", "job"], ["h=x"], ["a=1", "h=x", "--cfg", "job"]),
        (["--cfg", "job"], ["h=x"], ["h=x", "--cfg", "job"]),
        (["--cfg", "job", "a=1", "~b"], ["h=x"], ["--cfg", "job", "a=1", "~b", "h=x"]),
        (["a=1"], [], ["a=1"]),
    ],
)
def test_with_overrides_keeps_overrides_together(
    args: list[str], extra: list[str], expected: list[str]
) -> None:
    from sweeper.cli import with_overrides

    assert with_overrides(args, extra) == expected


def test_printed_commands_repeat_a_users_config_dir(tmp_path: Path) -> None:
    # A user's --config-dir must be in the commands sweeper prints (next:, use:), or
    # `+experiment=mine` is "no such option" when they are run.
    from sweeper.cli import run_hydra
    from sweeper.config import task_overrides

    (tmp_path / "my_conf" / "experiment").mkdir(parents=True)
    (tmp_path / "my_conf" / "experiment" / "mine.yaml").write_text(
        "# @package _global_\nexperiment_name: mine\n"
    )
    seen: list[list[str]] = []
    code = run_hydra(
        lambda cfg: seen.append(task_overrides()),
        ["--config-dir", str(tmp_path / "my_conf"), "+experiment=mine", "seed=3"],
    )
    assert code == 0
    assert seen == [[f"--config-dir={tmp_path / 'my_conf'}", "+experiment=mine", "seed=3"]]


# ----------------------------------------------------------------------------- sweep.objective


@pytest.mark.parametrize(
    ("objective", "metric", "is_regression", "reported", "monitor"),
    [
        ("auto", "accuracy", False, ("accuracy",), "accuracy"),  # SST-2: the task metric
        ("auto", "matthews_corr", False, ("matthews_corr", "accuracy"), "matthews_corr"),  # CoLA
        # MRPC: F1 of the positive class rewards predicting "positive" for everything (0.81 on
        # its dev set): accuracy, which the task reports too.
        ("auto", "f1", False, ("f1", "accuracy"), "accuracy"),
        ("auto", "f1", False, (), "f1"),  # accuracy not known to be reported: the main metric
        ("auto", "pearson", True, ("pearson", "spearman"), "val_loss"),  # regression: the loss
        ("auto", "val_loss", False, (), "val_loss"),  # a loop that reports no metric
        ("val_loss", "matthews_corr", False, ("matthews_corr",), "val_loss"),
        ("metric", "f1", False, ("f1", "accuracy"), "f1"),  # explicit: the main metric as is
        ("metric", "pearson", True, ("pearson",), "pearson"),
    ],
)
def test_the_objective_is_chosen_by_task_type(
    objective: str, metric: str, is_regression: bool, reported: tuple[str, ...], monitor: str
) -> None:
    from sweeper.direction import monitored

    assert (
        monitored(objective, metric=metric, is_regression=is_regression, reported=reported)
        == monitor
    )


def test_auto_is_the_default_objective_and_the_start_up_lines_say_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    import optuna

    from sweeper.direction import why_monitored
    from sweeper.run import run
    from tests.fake_objective import fake_overrides

    assert check(compose([])).sweep.objective == "auto"
    caplog.set_level(logging.INFO, logger="sweeper")
    overrides = [o for o in fake_overrides(tmp_path) if o != "sweep.objective=val_loss"]
    # The plain best evaluation (select_window=0): the direction alone decides it.
    plain = ["train.select_window=0", "tracking=none", "sweep.n_trials=2", "sweep.study_name=t"]
    run(compose([*overrides, *plain]))
    study = optuna.load_study(study_name="t", storage=f"sqlite:///{tmp_path}/optuna.db")
    assert study.direction.name == "MAXIMIZE"
    assert study.user_attrs["task_info"]["monitor"] == "accuracy"
    assert all(
        t.value == max(e["accuracy"] for e in t.user_attrs["evals"])
        for t in study.trials
        if t.state.name == "COMPLETE"
    )
    assert "objective: maximize accuracy (best over evaluations)" in caplog.text
    assert (
        "why accuracy: sweep.objective=auto: a classification task is selected on its metric, "
        "not the loss"
    ) in caplog.text
    # The other reasons, one line each.
    assert why_monitored("val_loss", monitor="val_loss", metric="accuracy") == (
        "sweep.objective=val_loss"
    )
    assert (
        "regression task is selected on the loss it trains on (sweep.objective=metric: on "
        "pearson)"
        in why_monitored("auto", monitor="val_loss", metric="pearson", is_regression=True)
    )
    assert "on accuracy rather than its main metric f1, which a constant majority prediction" in (
        why_monitored("auto", monitor="accuracy", metric="f1")
    )


@pytest.mark.parametrize("flag", ["--help", "--cfg=job"])
def test_a_command_in_process_leaves_no_hydra_job_behind(flag: str) -> None:
    # After `--help` or `--cfg job` Hydra's global job config had no run folder, and the next
    # in-process sweep failed reading hydra.runtime.output_dir (test order broke the suite).
    from hydra.core.hydra_config import HydraConfig

    assert main([flag]) == 0
    assert not HydraConfig.initialized()
