"""sweeper as a library: what the wheel ships, a user's config folder, and a wheel install in a
fresh virtual environment run from a folder outside the clone."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from dataclasses import dataclass
from pathlib import Path

import optuna
import pytest
from mlflow import MlflowClient

from sweeper.commands.sweep import main
from tests.data_fixtures import make_hub_repo, rows, write

ROOT = Path(__file__).resolve().parent.parent
TOY = ROOT / "tests" / "user_objectives" / "toy.py"
MINE = """\
# @package _global_
# A user's experiment, in the user's own config folder.
defaults:
  - override /search_space: mine
experiment_name: mine
objective: {objective}
train:
  batch_size: 32
  num_epochs: 2
sweep:
  n_trials: {n_trials}
  study_name: mine
"""
SPACE = "lr: {type: float, low: 1.0e-3, high: 1.0e-1, log: true}\n"


def _setuptools() -> dict[str, object]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return config["tool"]["setuptools"]  # type: ignore[no-any-return]


def test_the_wheel_lists_every_package_and_config_file() -> None:
    setuptools = _setuptools()
    packages = set(setuptools["packages"])  # type: ignore[call-overload]
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("sweeper", "objectives")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert on_disk | {"sweeper.conf"} == packages, (
        "a package the wheel would leave out (or a stale name): list every package in "
        "pyproject.toml's [tool.setuptools] packages"
    )
    assert setuptools["package-dir"] == {"": ".", "sweeper.conf": "conf"}
    globs = setuptools["package-data"]["sweeper.conf"]  # type: ignore[index]
    shipped = {p for g in globs for p in (ROOT / "conf").glob(g)}
    assert shipped == set((ROOT / "conf").rglob("*.yaml")) - set(
        (ROOT / "conf" / "recommended").glob("*.yaml")  # a user's own results, never shipped
    )


def _user_conf(folder: Path, *, objective: str, n_trials: int = 2) -> Path:
    (folder / "experiment").mkdir(parents=True)
    (folder / "search_space").mkdir()
    (folder / "experiment" / "mine.yaml").write_text(
        MINE.format(objective=objective, n_trials=n_trials)
    )
    (folder / "search_space" / "mine.yaml").write_text(SPACE)
    return folder


@pytest.mark.parametrize("how", ["--config-dir", "hydra.searchpath"])
def test_a_users_config_folder_adds_experiments_and_search_spaces(tmp_path: Path, how: str) -> None:
    conf = _user_conf(tmp_path / "my_conf", objective="tests.user_objectives.toy.train")
    where = ["--config-dir", str(conf)] if how == "--config-dir" else [f"{how}=[file://{conf}]"]
    root = tmp_path / "runs"
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(
            [
                *where,
                "+experiment=mine",
                f"results_dir={root}",
                "tracking=none",
                "quiet=true",
            ]
        )
    assert code == 0
    study = optuna.load_study(study_name="mine", storage=f"sqlite:///{root}/optuna.db")
    assert len(study.trials) == 2
    assert all(set(t.params) == {"lr"} for t in study.trials)  # the user's search space


def test_a_missing_user_option_lists_the_users_options_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = _user_conf(tmp_path / "my_conf", objective="tests.user_objectives.toy.train")
    assert main(["--config-dir", str(conf), "+experiment=yours", "quiet=true"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "experiment=yours: no such option" in err and "'mine'" in err and "'glue'" in err


def _build_wheel(out: Path) -> Path:
    """The wheel of this checkout, built from a copy (no build/ folder left in the clone)."""
    src = out / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "recommended")
    for name in ("sweeper", "objectives", "conf"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    (src / "conf" / "recommended").mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    subprocess.run(
        # An isolated build, as pip install does: it brings the setuptools pyproject asks for.
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out / "dist", src],
        check=True,
        cwd=out,
    )
    (wheel,) = (out / "dist").glob("sweeper-*.whl")
    return wheel


def _files(folder: Path) -> dict[Path, float]:
    """Every file under ``folder`` (bytecode caches aside) and when it was last written."""
    return {
        p: p.stat().st_mtime
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


@dataclass(frozen=True)
class Installed:
    """A fresh venv holding only the wheel, and a folder of the user's outside the clone."""

    python: Path
    site: Path
    user: Path
    env: dict[str, str]

    def sweeper(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.python, *args],
            cwd=self.user,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Installed:
    """Only the wheel is installed in the new environment; its dependencies are this one's
    (a .pth line), so the tests need no network and no second copy of torch."""
    tmp_path = tmp_path_factory.mktemp("wheel")
    wheel = _build_wheel(tmp_path)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True
    )
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (site / "zz_borrowed_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    user = tmp_path / "elsewhere"
    user.mkdir()
    shutil.copy(TOY, user / "my_loop.py")
    _user_conf(user / "my_conf", objective="my_loop.train", n_trials=3)
    _user_data(user, model=tiny_model_dir)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "VIRTUAL_ENV", "SWEEPER_HOME")
    }
    env.update(PYTHONPATH=str(user), HF_HUB_OFFLINE="1")
    return Installed(python=python, site=site, user=user, env=env)


# The user's own experiments (in the user's config folder, next to ``mine``) on the built-in
# text-classification objective, with the tiny test model: 2 trials each.
USER_EXPERIMENT = """\
# @package _global_
defaults:
  - override /data: {data}
experiment_name: {name}
model: {{name_or_path: {model}}}
train: {{batch_size: 16, eval_batch_size: 64, num_epochs: 2, precision: fp32, log_every_steps: 4}}
search_space: {{num_epochs: {{high: 2}}}}
sweep: {{n_trials: 2, study_name: {name}{objective}}}
data: {{{data_node}}}
"""


def _user_data(user: Path, *, model: Path) -> None:
    """CSV files (classification, regression) and a hub-layout dataset folder, and an
    experiment for each, in the user's folder."""
    data = user / "data"
    write(data / "train.csv", rows(64, task="multiclass", pair=True))
    write(data / "dev.csv", rows(24, seed=5, task="multiclass", pair=True))
    write(data / "scores_train.csv", rows(64, task="regression"))
    write(data / "scores_dev.csv", rows(24, seed=2, task="regression"))
    repo = make_hub_repo(data / "hub", n_train=64, n_eval=16)
    nodes = {
        "csv": (
            "files",
            "task: reviews, train_file: data/train.csv, validation_file: data/dev.csv, "
            "text_columns: [text, context]",
            "",
        ),
        "regression": (
            "files",
            "task: scores, train_file: data/scores_train.csv, validation_file: data/scores_dev.csv",
            ", objective: metric",
        ),
        "hub": (
            "hub",
            f"task: local-reviews, hub_id: {repo}, hub_config: reviews, validation_split: dev, "
            f"text_columns: [review], hub_cache_dir: {user / 'hf-cache'}",
            "",
        ),
    }
    for name, (group, node, objective) in nodes.items():
        (user / "my_conf" / "experiment" / f"{name}.yaml").write_text(
            USER_EXPERIMENT.format(
                data=group, name=name, model=model, objective=objective, data_node=node
            )
        )


# One row per kind of job a user brings: the overrides that run it, its study's name and size,
# and whether it is also resumed and recommended from the wheel. Resuming and recommending are
# the same code for every kind of job (each has in-process tests), so two kinds, one of each
# objective family, prove the wheel carries them; each step is a fresh process of 10-20 s.
JOBS = {
    "own loop": (["+experiment=mine"], "mine", 3, True),
    "csv classification": (["+experiment=csv"], "csv", 2, True),
    "csv regression": (["+experiment=regression"], "regression", 2, False),
    "hub-layout dataset": (["+experiment=hub"], "hub", 2, False),
    "classic loop": (
        # Epochs capped at the queued reference's 3 (the range fitted to its 600 examples goes
        # to 20, and the recipes' schedules with it): what runs from the wheel is the same.
        [
            "+experiment=classic",
            "sweep.n_trials=2",
            "{model}",
            "pruner=none",
            "search_space.num_epochs.high=3",
        ],
        "classic",
        2,
        False,
    ),
}


@pytest.mark.slow
def test_the_wheel_runs_from_elsewhere_and_writes_nothing_into_itself(
    installed: Installed,
) -> None:
    before = _files(installed.site)
    where = installed.sweeper(
        "-c", "import sweeper, objectives; print(sweeper.__file__, objectives.__file__)"
    )
    assert where.returncode == 0, where.stderr
    assert all(path.startswith(str(installed.site)) for path in where.stdout.split())
    shown = installed.sweeper("-m", "sweeper", "--help")
    assert shown.returncode == 0, shown.stderr
    assert "experiment" in shown.stdout
    # (Each job below sweeps from the wheel and checks that nothing is written into it.)
    assert _files(installed.site) == before


@pytest.mark.slow
@pytest.mark.parametrize("job", list(JOBS))
def test_a_wheel_install_sweeps_resumes_and_recommends_a_users_job(
    installed: Installed, tiny_model_dir: Path, job: str
) -> None:
    """Each kind of user job, from the wheel, outside the clone: a sweep that records MLflow
    runs with LR curves, a resume with nothing left to run, and a recommendation."""
    overrides, name, n_trials, resume_and_recommend = JOBS[job]
    installation = _files(installed.site)
    results = installed.user / f"runs-{name}"
    args = [
        "--config-dir",
        "my_conf",
        *(o.format(model=f"model.name_or_path={tiny_model_dir}") for o in overrides),
        f"results_dir={results}",
        "quiet=true",
    ]
    done = installed.sweeper("-m", "sweeper", *args)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{n_trials}/{n_trials} finished" in done.stdout
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{results}/optuna.db")
    finished = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) == n_trials and any(t.state.name == "COMPLETE" for t in finished)
    client = MlflowClient(tracking_uri=f"sqlite:///{results}/mlflow.db")
    for trial in finished:
        lrs = client.get_metric_history(trial.user_attrs["tracking_run_id"], "lr")
        assert len(lrs) >= 2 and max(m.value for m in lrs) > 0.0, (job, trial.number)

    if not resume_and_recommend:
        assert _files(installed.site) == installation  # nothing written into the installation
        return
    again = installed.sweeper("-m", "sweeper", *args)
    assert again.returncode == 0, again.stderr
    assert f"the study has its {n_trials} trials" in again.stdout  # resumed: nothing to run

    recommended = installed.sweeper(
        "-m", "sweeper.recommend", *args, "recommend.top_k=1", "recommend.confirm_seeds=1"
    )
    assert recommended.returncode == 0, recommended.stdout + recommended.stderr
    (written,) = results.glob("conf/recommended/*.yaml")  # in the user's folder
    assert "train:" in written.read_text(encoding="utf-8")
    assert _files(installed.site) == installation  # nothing written into the installation
