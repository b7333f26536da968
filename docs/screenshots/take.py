"""Screenshots of the three pages for the README, taken in headless Chromium.

    python docs/screenshots/take.py [--results benchmarks/results] [--routers random,length]

Starts the server on 127.0.0.1 with the local echo upstream of `tests/upstream.py` (no
real model is called), scores real MT-Bench prompts (from $ROUTELLM_PY_DATA) in the
playground, hovers the benchmark curves of `--results`, sends a burst of requests for
the dashboard, and writes playground.png, playground-batch.png, bench.png and
dashboard.png beside this file (palette PNGs, to stay small).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

import httpx  # noqa: E402
from PIL import Image  # noqa: E402

from routellm_py.controller import Controller  # noqa: E402
from routellm_py.data.aliases import DEFAULT_STRONG, DEFAULT_WEAK  # noqa: E402
from routellm_py.data.benchmarks import load_benchmark  # noqa: E402
from routellm_py.server import BackgroundServer, create_app  # noqa: E402
from tests.ui.conftest import KEY, open_page, type_into, wait_for  # noqa: E402
from tests.upstream import Upstream  # noqa: E402


def save(browser, name: str) -> None:
    """The page as a 256-colour PNG."""
    image = Image.open(io.BytesIO(browser.get_screenshot_as_png())).convert("RGB")
    image.quantize(colors=256).save(HERE / name, optimize=True)
    print(f"wrote {HERE / name} ({(HERE / name).stat().st_size // 1024} KiB)")


def main() -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="benchmarks/results")
    parser.add_argument("--routers", default="random,length")
    args = parser.parse_args()
    prompts = load_benchmark("mt-bench").prompts
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1200,980"):
        options.add_argument(arg)
    browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    with Upstream() as up:
        controller = Controller(
            args.routers.split(","),
            {"model": f"openai/{DEFAULT_STRONG}", "api_base": up.base_url, "api_key": "x"},
            {"model": f"openai/{DEFAULT_WEAK}", "api_base": up.base_url, "api_key": "x"},
        )
        app = create_app(controller, api_key=KEY)
        app.state.ui.results_dir = Path(args.results)
        with BackgroundServer(app) as srv:
            url = f"http://127.0.0.1:{srv.port}"
            open_page(browser, url + "/ui/")
            wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#router-picks input"), "")
            browser.find_element(By.ID, "prompt").send_keys(prompts[5])
            browser.find_element(By.ID, "score").click()
            wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#results tr"), "rates")
            save(browser, "playground.png")

            with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as fh:
                fh.writelines(f'{{"prompt": {json.dumps(p)}}}\n' for p in prompts)
            browser.find_element(By.ID, "file").send_keys(fh.name)
            wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#batch-table tr"), "")
            type_into(browser, "fraction-value", "0.3")
            time.sleep(1)
            browser.execute_script("document.getElementById('batch').scrollIntoView()")
            save(browser, "playground-batch.png")

            open_page(browser, url + "/ui/bench")
            over = wait_for(
                browser, lambda d: d.find_element(By.CSS_SELECTOR, "#curve .u-over"), ""
            )
            ActionChains(browser).move_to_element_with_offset(
                over, -over.size["width"] // 6, 0
            ).perform()
            time.sleep(0.5)
            save(browser, "bench.png")

            open_page(browser, url + "/ui/dashboard")
            models = [f"router-{r}-0.5" for r in controller.routers]
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}) as c:
                for i, p in enumerate(prompts[:60]):
                    body = {
                        "model": models[i % len(models)],
                        "messages": [{"role": "user", "content": p}],
                    }
                    c.post("/v1/chat/completions", json=body, timeout=30)
                    time.sleep(0.1)
            time.sleep(2)
            save(browser, "dashboard.png")
    browser.quit()


if __name__ == "__main__":
    main()
