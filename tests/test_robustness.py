"""Every way a user can get the input wrong, tried through the real entry point.

Each row of :data:`tests.error_cases.CASES` runs ``sweeper.commands.sweep.main(argv)``
in-process and must give exit code 2, exactly one line on stderr naming the key or file, the
value and what is allowed, and leave nothing trained or recorded. ``scripts/errors_table.py``
renders the same rows, with the message each one actually shows, into ``docs/errors.md``; a test
keeps the two equal.

Further down: a bad re-run never touches a recorded study, bad numbers during real training
(NaN loss, lr=1.0); the security rules are in test_security.py.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from sweeper.commands.sweep import main
from tests.error_cases import (
    BY_ID,
    CASES,
    SECRET,
    STAGES,
    Case,
    Shown,
    argv,
    normalize,
    run_case,
)
from tests.glue_fixtures import make_glue_dir
from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "errors.md"


def recorded(results: Path) -> dict[str, Any]:
    """Everything a sweep in ``results`` has recorded: study trials and MLflow runs."""
    import optuna

    studies: dict[str, Any] = {}
    db = results / "optuna.db"
    if db.exists():
        storage = f"sqlite:///{db}"
        for name in optuna.get_all_study_names(storage):
            study = optuna.load_study(study_name=name, storage=storage)
            studies[name] = [
                (t.number, t.state.name, t.params, t.values, t.intermediate_values, t.user_attrs)
                for t in study.trials
            ]
    runs: dict[str, Any] = {}
    if (results / "mlflow.db").exists():
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=f"sqlite:///{results / 'mlflow.db'}")
        ids = [e.experiment_id for e in client.search_experiments()]
        for run in client.search_runs(ids, max_results=1000) if ids else []:
            runs[run.info.run_id] = (
                run.info.status,
                run.info.end_time,
                run.data.params,
                run.data.metrics,
                run.data.tags,
            )
    return {"studies": studies, "runs": runs}


def render_doc() -> str:
    """docs/errors.md as scripts/errors_table.py writes it (each case run here, once)."""
    return _errors_table().render([(case, _shown(case).message) for case in CASES])


def _errors_table() -> ModuleType:
    spec = importlib.util.spec_from_file_location("errors_table", ROOT / "scripts/errors_table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_SHOWN: dict[str, Shown] = {}
_WORK: list[Path] = []


def _shown(case: Case) -> Shown:
    """Each case runs once per session (the row test and the docs test share the result)."""
    if case.id not in _SHOWN:
        _SHOWN[case.id] = run_case(case, _WORK[0] / case.id)
    return _SHOWN[case.id]


@pytest.fixture(scope="module", autouse=True)
def _workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    _WORK.append(tmp_path_factory.mktemp("cases"))
    yield
    _WORK.clear()
    _SHOWN.clear()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gives_one_line_exit_2_and_records_nothing(case: Case) -> None:
    shown = _shown(case)
    assert shown.code == 2, shown.err + shown.out
    assert shown.err.startswith("error: ") and shown.err.count("\n") == 1, shown.err
    for fragment in case.expect:
        assert fragment in shown.message
    results = shown.root / "runs"
    if case.stage in ("args", "check"):
        # Caught before the storage is opened: not even an empty database exists.
        assert not (results / "optuna.db").exists()
        assert not (results / "mlflow.db").exists()
    if case.stage == "args":
        assert not results.exists()  # Hydra never started a job
    assert recorded(results) == {"studies": {}, "runs": {}}
    assert "trial 0" not in shown.out  # no trial started


def test_the_table_covers_every_area_and_ids_are_unique() -> None:
    assert len(BY_ID) == len(CASES)
    assert {c.area for c in CASES} == {
        "search space",
        "config",
        "data",
        "your data",
        "model",
        "tracking",
        "storage",
        "objective",
    }
    assert {c.stage for c in CASES} == set(STAGES)


def test_passwords_never_show() -> None:
    shown = _shown(BY_ID["tracking-unreachable"])
    assert SECRET not in shown.err + shown.out
    for path in shown.root.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_unreachable_tracking_server_fails_within_seconds() -> None:
    import time

    started = time.monotonic()
    shown = run_case(BY_ID["tracking-unreachable"], _WORK[0] / "tracking-timed")
    assert shown.code == 2
    # MLflow's own retry policy takes about four minutes to give up on a closed port.
    assert time.monotonic() - started < 30


def test_docs_table_is_current() -> None:
    expected = render_doc()
    assert DOC.read_text(encoding="utf-8") == expected, (
        "docs/errors.md is out of date: run `python scripts/errors_table.py`"
    )


CLI_CASES = [
    "config-unknown-group-option",
    "space-low-above-high",
    "data-field-count",
    "model-path-missing",
    "tracking-unreachable",
]


@pytest.mark.slow
@pytest.mark.parametrize("case_id", CLI_CASES)
def test_cli_subprocess_shows_the_same_single_line(case_id: str, tmp_path: Path) -> None:
    """``python -m sweeper``: exit 2 and stderr is the one documented line, nothing else."""
    case = BY_ID[case_id]
    root = tmp_path.resolve()
    if case.setup is not None:
        case.setup(root)
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "sweeper", *argv(case, root, port)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=180,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert normalize(done.stderr, root, port) == _shown(case).err
    assert SECRET not in done.stdout + done.stderr


# ----------------------------------------------------------------------------- recorded work


def _fake(root: Path, *extra: str) -> list[str]:
    from tests.fake_objective import fake_overrides

    return fake_overrides(root, "sweep.study_name=kept", "sweep.n_trials=2", *extra)


def _main(args: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(args)
    return code, err.getvalue()


BAD_RERUNS = [
    ("sweep.n_trials=0",),  # config check
    ("pruner=medain",),  # before Hydra
    ("tracking.uri=http://127.0.0.1:<port>",),  # after the storage is opened
    ("objective=tests.nowhere.Missing",),  # after storage and tracking are connected
    ("train.weight_decay=0.05",),  # the study itself refuses the changed settings
]


def test_a_bad_rerun_leaves_the_recorded_study_intact(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    assert _main(_fake(root))[0] == 0
    before = recorded(root)
    assert len(before["studies"]["kept"]) == 2 and len(before["runs"]) == 3  # parent + 2
    for extra in BAD_RERUNS:
        port = str(free_port())
        code, err = _main(_fake(root, *(e.replace("<port>", port) for e in extra)))
        assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, (extra, err)
        assert recorded(root) == before, extra
    # The same command still resumes the untouched study.
    assert _main(_fake(root, "sweep.n_trials=3"))[0] == 0
    after = recorded(root)["studies"]["kept"]
    assert after[:2] == before["studies"]["kept"] and len(after) == 3


# Every command that goes through cli.run_hydra: Hydra would create its run folder under
# results_dir before the command's own code runs.
COMMANDS = [
    "sweeper.commands.sweep",
    "sweeper.commands.train",
    "sweeper.commands.recommend",
    "sweeper.commands.seedrace",
]
_WRITE_ADVICE = "it must be a writable folder with free space."


def _command(module: str, args: list[str]) -> tuple[int, str]:
    command = importlib.import_module(module).main
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = command(args)
    return code, err.getvalue()


@pytest.mark.parametrize("module", COMMANDS)
def test_results_dir_under_a_file_is_one_line_before_hydra_starts(
    module: str, tmp_path: Path
) -> None:
    # A folder under a regular file cannot be made, even by root (chmod would not stop root).
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    results = blocker / "runs"
    code, err = _command(module, _fake(results))
    assert (code, err) == (
        2,
        f"error: results_dir={results}: cannot write there (Not a directory); {_WRITE_ADVICE}\n",
    )


@pytest.mark.parametrize("module", COMMANDS)
def test_read_only_results_dir_is_one_line_before_hydra_starts(
    module: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A read-only mount, as root sees it: every mkdir under it fails with EROFS (Hydra's own
    # mkdir of its run folder included, as on a real read-only file system).
    import errno

    read_only = tmp_path / "mounted"
    read_only.mkdir()
    real_mkdir = os.mkdir

    def mkdir(path: Any, mode: int = 0o777, **kwargs: Any) -> None:
        if Path(path).is_relative_to(read_only):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        real_mkdir(path, mode, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    code, err = _command(module, _fake(read_only / "runs"))
    assert (code, err) == (
        2,
        f"error: results_dir={read_only / 'runs'}: cannot write there (Read-only file system); "
        f"{_WRITE_ADVICE}\n",
    )


def test_hydra_run_dir_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    # results_dir is fine; the run folder (whose name holds the time) goes under a file.
    code, err = _main(_fake(tmp_path / "runs", f"hydra.run.dir={blocker}/runs/now"))
    assert (code, err) == (
        2,
        f"error: hydra.run.dir={blocker / 'runs'}: cannot write there (Not a directory); "
        f"{_WRITE_ADVICE}\n",
    )


def test_help_and_cfg_need_no_writable_results_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for flag in (["--cfg", "job"], ["--help"]):
        code, err = _main([*_fake(blocker / "runs"), *flag])
        assert (code, err) == (0, ""), flag


@pytest.mark.slow
def test_data_broken_between_runs_keeps_the_study(tmp_path: Path, tiny_model_dir: Path) -> None:
    from tests.conftest import tiny_overrides

    glue = make_glue_dir(tmp_path / "glue", n_train=32, n_dev=16, tasks=["SST-2"])
    root = tmp_path / "runs"

    def args(n: int) -> list[str]:
        return tiny_overrides(
            root,
            tiny_model_dir,
            "data=glue",
            "data.source=glue_dir",
            f"data.glue_dir={glue}",
            "train.num_epochs=1",
            "search_space.num_epochs.high=1",
            f"sweep.n_trials={n}",
        )

    assert _main(args(1))[0] == 0
    before = recorded(root)
    assert len(before["studies"]["default-sst2"]) == 1
    dev = glue / "SST-2" / "dev.tsv"
    dev.write_text(dev.read_text() + "a broken row without its label\n")
    code, err = _main(args(2))
    assert code == 2
    assert err == f"error: {dev}:18: expected 2 tab-separated fields but got 1.\n"
    assert recorded(root) == before


# ----------------------------------------------------------------------------- bad numbers


def _study(root: Path) -> Any:
    import optuna

    return optuna.load_study(study_name="default-sst2", storage=f"sqlite:///{root}/optuna.db")


@pytest.mark.slow
def test_real_training_non_finite_loss_stops_the_trial_and_the_sweep_goes_on(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    """A huge weight decay really blows the weights up: the next forward pass gives NaN."""
    from sweeper.config import compose
    from sweeper.run import run
    from tests.conftest import tiny_overrides

    root = tmp_path / "runs"
    run(
        compose(
            tiny_overrides(
                root,
                tiny_model_dir,
                "tracking=none",
                "sweep.n_trials=2",
                "+search_space.weight_decay={type: categorical, choices: [1.0e30, 0.0]}",
                "sweep.enqueue=[{weight_decay: 1.0e30}, {weight_decay: 0.0}]",
            )
        )
    )
    bad, good = _study(root).trials
    assert bad.params["weight_decay"] == 1e30
    assert bad.state.name == "PRUNED"
    reason = bad.user_attrs["reason"]
    assert reason.startswith("non-finite loss at step ")
    step = int(reason.rsplit(" ", 1)[1])
    trained = bad.user_attrs["best"]["steps_trained"]
    # Stopped at once: at the first train-loss check after the bad step, before any evaluation.
    assert step < trained <= step + 4  # train.log_every_steps=4 (tiny_overrides)
    assert bad.user_attrs["evals"] == [] and bad.user_attrs["best"]["stop"] == "non_finite"
    assert good.state.name == "COMPLETE" and good.params["weight_decay"] == 0.0


def _lr_one(root: Path, model: Path, *extra: str) -> Any:
    from sweeper.config import compose
    from sweeper.run import run
    from tests.conftest import tiny_overrides

    run(compose(tiny_overrides(root, model, "tracking=none", "search_space.lr.high=1.0", *extra)))
    return _study(root).trials


def _cost_is_one_interval(trial: Any) -> None:
    assert trial.params["lr"] == 1.0
    assert trial.state.name == "PRUNED"
    assert list(trial.intermediate_values) == [1]  # one evaluation
    plan, best = trial.user_attrs["plan"], trial.user_attrs["best"]
    first_eval = round(plan["steps_per_epoch"] / 2)  # train.evals_per_epoch=2 (the default)
    assert best["steps_trained"] == trial.user_attrs["evals"][0]["step"] == first_eval
    assert best["epochs_trained"] <= 0.5 < plan["num_epochs"]


@pytest.mark.slow
def test_real_training_lr_1_costs_at_most_one_evaluation_interval(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    trials = _lr_one(
        tmp_path / "runs",
        tiny_model_dir,
        "sweep.n_trials=3",
        "sweep.enqueue=[{lr: 1.0e-4}, {lr: 2.0e-4}, {lr: 1.0, num_epochs: 2}]",
    )
    assert [t.state.name for t in trials[:2]] == ["COMPLETE", "COMPLETE"]
    _cost_is_one_interval(trials[2])
    assert trials[2].user_attrs["reason"].startswith(("pruned at evaluation 1", "diverged"))


@pytest.mark.slow
def test_real_training_lr_1_without_history_costs_one_interval(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    trials = _lr_one(
        tmp_path / "runs",
        tiny_model_dir,
        "sweep.n_trials=1",
        "pruner=none",
        "sweep.enqueue=[{lr: 1.0, num_epochs: 2}]",
    )
    _cost_is_one_interval(trials[0])


@pytest.mark.slow
def test_max_train_samples_above_the_data_uses_all_with_a_note(
    tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.conftest import tiny_overrides

    root = tmp_path / "runs"
    args = tiny_overrides(
        root,
        tiny_model_dir,
        "tracking=none",
        "data.max_train_samples=1000",
        "train.num_epochs=1",
        "search_space.num_epochs.high=1",
        "sweep.n_trials=1",
    )
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "note: data.max_train_samples=1000 is more than the 192 examples there: using all." in (
        out
    )
    assert _study(root).user_attrs["task_info"]["num_train"] == 192
