"""What a user opens after a sweep: the MLflow UI in a real (headless) Chromium, showing the
trial runs and their ``lr`` curves, and Optuna Dashboard serving the same study.

Needs Debian's ``chromium`` and ``chromium-driver`` (.ci/run installs them); skipped without.
"""

from __future__ import annotations

import json
import shutil
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest

from sweeper.config import compose
from sweeper.run import run
from tests.conftest import tiny_overrides
from tests.servers import free_port, mlflow_server, serve

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
STUDY = "default-sst2"


def get(url: str, timeout: float = 10) -> Any:
    """GET a loopback URL and decode its JSON."""
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
        return json.load(response)


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    """A tiny sweep (3 trials of the 2-layer model) tracked in the default sqlite stores."""
    root = tmp_path_factory.mktemp("browser") / "runs"
    run(compose(tiny_overrides(root, tiny_model_dir)))
    return root


@pytest.fixture(scope="module")
def chrome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Chromium through Debian's chromedriver (never a downloaded browser); one for
    the module, as starting it costs seconds (each test opens its own page)."""
    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        pytest.skip("needs /usr/bin/chromium and /usr/bin/chromedriver (apt: chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
        "--window-size=1500,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver: Any, what: str, condition: Any, shots: Path, timeout: float = 90) -> Any:
    """``condition(driver)`` once truthy; else a screenshot in ``shots`` and the page's text."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.5).until(condition)
    except TimeoutException:
        driver.save_screenshot(str(shots / "failed.png"))
        raise AssertionError(
            f"no {what} after {timeout}s (screenshot {shots / 'failed.png'}); page text:\n"
            f"{_text(driver)[:2000]}"
        ) from None


def _text(driver: Any) -> str:
    return str(driver.find_element("tag name", "body").text)


def get_experiment_id(root: Path) -> str:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{root}/mlflow.db")
    experiment = client.get_experiment_by_name("default")
    assert experiment is not None
    return str(experiment.experiment_id)


def test_mlflow_ui_shows_the_trial_runs_and_their_lr_curves(
    swept: Path, chrome: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    study = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{swept}/optuna.db")
    trial_names = {f"trial-{t.number:04d}" for t in study.trials}
    assert len(trial_names) == 3
    cells = "[role=gridcell][col-id*='Run Name']"

    def run_names(driver: Any) -> set[str]:
        return {e.text.split("\n")[-1] for e in driver.find_elements(By.CSS_SELECTOR, cells)}

    with mlflow_server(f"sqlite:///{swept}/mlflow.db", tmp_path / "mlflow.log") as base:
        # The page the sweep summary links to: the experiment's runs.
        chrome.get(f"{base}/#/experiments/{get_experiment_id(swept)}/runs")
        _wait(chrome, "study run", lambda d: STUDY in run_names(d), tmp_path)
        for close in chrome.find_elements(By.CSS_SELECTOR, "button[aria-label=Close]"):
            close.click()  # the assistant side panel, when open, takes a third of the width
        # The trials are nested under the study's parent run: expand it.
        chrome.find_element(By.CSS_SELECTOR, f"{cells} button").click()
        _wait(chrome, "nested trial runs", lambda d: trial_names <= run_names(d), tmp_path)
        # The chart view compares the runs; its search keeps the learning-rate chart.
        chrome.find_element(
            By.XPATH, "//input[@name='runs-view-mode'][@value='CHART']/ancestor::label"
        ).click()
        search = _wait(
            chrome,
            "chart search box",
            lambda d: d.find_elements(By.CSS_SELECTOR, "input[placeholder='Search metric charts']"),
            tmp_path,
        )[0]
        search.send_keys("lr")
        _wait(
            chrome,
            "lr chart",
            lambda d: d.find_elements(By.XPATH, "//h4[normalize-space(text())='lr']"),
            tmp_path,
        )
        in_legend = _wait(
            chrome,
            "trial runs in the lr chart's legend",
            lambda d: [n for n in sorted(trial_names) if f"{n} (lr)" in _text(d)],
            tmp_path,
        )
        assert in_legend
        shot = tmp_path / "mlflow-lr-comparison.png"
        chrome.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000  # a rendered page, not a blank one


def test_optuna_dashboard_serves_the_study(swept: Path, chrome: Any, tmp_path: Path) -> None:
    port = free_port()
    executable = Path(sys.executable).with_name("optuna-dashboard")
    command = str(executable) if executable.is_file() else shutil.which("optuna-dashboard")
    assert command, "optuna-dashboard is in the dev extra"
    storage = f"sqlite:///{swept}/optuna.db"  # as the sweep summary prints it
    base = f"http://127.0.0.1:{port}"
    argv = [command, storage, "--host", "127.0.0.1", "--port", str(port)]
    with serve(argv, f"{base}/api/meta", tmp_path / "dashboard.log"):
        studies = {s["study_name"]: s for s in get(f"{base}/api/studies")["study_summaries"]}
        assert STUDY in studies
        detail = get(f"{base}/api/studies/{studies[STUDY]['study_id']}")
        assert len(detail["trials"]) == 3
        assert {p["name"] for p in detail["trials"][0]["params"]} >= {"lr", "warmup_ratio"}
        chrome.get(f"{base}/dashboard")
        _wait(chrome, "study in the dashboard", lambda d: STUDY in _text(d), tmp_path)
        chrome.save_screenshot(str(tmp_path / "optuna-dashboard.png"))
