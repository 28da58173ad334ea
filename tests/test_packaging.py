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
from pathlib import Path

import optuna
import pytest

from sweeper.__main__ import main

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


@pytest.mark.slow
def test_a_wheel_in_a_fresh_venv_sweeps_a_user_loop_from_elsewhere(tmp_path: Path) -> None:
    """Only the wheel is installed in the new environment; its dependencies are this one's
    (a .pth line), so the test needs no network and no second copy of torch."""
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
    installed = _files(site)

    user = tmp_path / "elsewhere"
    user.mkdir()
    shutil.copy(TOY, user / "my_loop.py")
    _user_conf(user / "my_conf", objective="my_loop.train", n_trials=3)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "VIRTUAL_ENV", "SWEEPER_HOME")
    }
    env.update(PYTHONPATH=str(user), HF_HUB_OFFLINE="1")

    def sweeper(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [python, *args], cwd=user, env=env, capture_output=True, text=True, timeout=600
        )

    where = sweeper(
        "-c", "import sweeper, objectives; print(sweeper.__file__, objectives.__file__)"
    )
    assert where.returncode == 0, where.stderr
    assert all(path.startswith(str(site)) for path in where.stdout.split()), where.stdout
    shown = sweeper("-m", "sweeper", "--help")
    assert shown.returncode == 0, shown.stderr
    assert "experiment" in shown.stdout
    done = sweeper("-m", "sweeper", "--config-dir", "my_conf", "+experiment=mine", "quiet=true")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3/3 finished" in done.stdout
    results = user / "sweeper-runs"
    study = optuna.load_study(study_name="mine", storage=f"sqlite:///{results}/optuna.db")
    assert [t.state.name for t in study.trials].count("COMPLETE") >= 1
    assert (results / "mlflow.db").is_file()
    again = sweeper("-m", "sweeper", "--config-dir", "my_conf", "+experiment=mine", "quiet=true")
    assert again.returncode == 0, again.stderr
    assert "the study has its 3 trials" in again.stdout  # resumed: nothing left to run
    recommended = sweeper(
        "-m", "sweeper.recommend", "--config-dir", "my_conf", "+experiment=mine", "quiet=true",
        "recommend.top_k=1", "recommend.confirm_seeds=1",
    )  # fmt: skip
    assert recommended.returncode == 0, recommended.stdout + recommended.stderr
    assert list(results.glob("conf/recommended/*.yaml"))  # under results_dir, in the user's folder
    # Results went under the working directory; nothing was written into the installation.
    assert _files(site) == installed
