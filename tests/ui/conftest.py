"""The pages in a real headless browser: Debian `chromium` driven by Selenium through
`chromium-driver`, against the real server (uvicorn on 127.0.0.1, routers `random` and
`length`, the local upstream of `tests.upstream`). Nothing on the HTTP path is mocked.

Without chromium, chromedriver or selenium the browser tests skip, printing why; with
ROUTELLM_PY_REQUIRE_SERVICES=1 (CI) a missing browser fails them instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest

from routellm_py.benchmarks.harness import run_benchmark
from routellm_py.controller import Controller
from routellm_py.server import BackgroundServer, create_app
from tests.upstream import Upstream

KEY = "ui-test-key"
ROUTERS = ["random", "length"]
# untrained routers have no checkpoint quantiles: target fractions calibrate on these
CALIBRATION_PROMPTS = [f"calibration prompt {i}: " + "word " * (i % 60) for i in range(300)]
WAIT_S = 20


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    missing = [
        name
        for name, ok in (
            ("chromium", shutil.which("chromium")),
            ("chromedriver", shutil.which("chromedriver")),
            ("selenium", find_spec("selenium")),
        )
        if not ok
    ]
    if not missing:
        return None
    return (
        f"UI browser tests need {', '.join(missing)}: apt-get install -y chromium "
        "chromium-driver; pip install 'routellm-py[dev]'"
    )


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    reason = browser_missing()
    if reason is not None:
        if os.environ.get("ROUTELLM_PY_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason} (required: ROUTELLM_PY_REQUIRE_SERVICES=1)")
        print(f"SKIP: {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(shutil.which("chromium"))
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(shutil.which("chromedriver"))), options=options)
    driver.set_page_load_timeout(WAIT_S)
    yield driver
    driver.quit()


@dataclass
class UiServer:
    url: str
    controller: Controller
    upstream: Upstream
    app: Any


@pytest.fixture(scope="session")
def bench_run(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> tuple[Path, Any]:
    """A real `bench` run (random router, MT-Bench) written as the harness writes it:
    (the output folder, its BenchmarkResult)."""
    out = tmp_path_factory.mktemp("bench")
    results = run_benchmark(["random"], ["mt-bench"], data_dir=data_dir, out=out, progress=False)
    return out, results["mt-bench"]


@pytest.fixture(scope="module")
def ui() -> Iterator[UiServer]:
    """The server with a key, both models on the local upstream, and the pages."""
    with Upstream() as up:
        controller = Controller(
            ROUTERS,
            {"model": "openai/strong-m", "api_base": up.base_url, "api_key": "sk-strong"},
            {"model": "openai/weak-m", "api_base": up.base_url, "api_key": "sk-weak"},
            timeout=20,
            num_retries=0,
            calibration_prompts=CALIBRATION_PROMPTS,
        )
        app = create_app(controller, api_key=KEY)
        with BackgroundServer(app) as srv:
            yield UiServer(f"http://127.0.0.1:{srv.port}", controller, up, app)


def wait_for(browser: Any, condition: Callable[[Any], Any], what: str) -> Any:
    """Poll `condition(browser)` until truthy (its value), failing with `what` after WAIT_S."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    def check(driver: Any) -> Any:
        try:
            return condition(driver)
        except StaleElementReferenceException:  # redrawn between find and read
            return False

    return WebDriverWait(browser, WAIT_S).until(check, f"timed out waiting for {what}")


def open_page(browser: Any, url: str, key: str = KEY) -> None:
    """Load a page in a fresh tab state and give it the API key through its key field."""
    from selenium.webdriver.common.by import By

    browser.get(url)
    browser.execute_script("sessionStorage.clear()")
    browser.get(url)
    type_into(browser, "api-key", key)
    browser.find_element(By.CSS_SELECTOR, "#api-key-form button").click()


def type_into(browser: Any, element_id: str, text: str) -> None:
    """Empty the field, then type `text` key by key, as a user does."""
    from selenium.webdriver.common.by import By

    field = browser.find_element(By.ID, element_id)
    field.clear()
    field.send_keys(text)
