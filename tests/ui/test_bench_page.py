"""The benchmark page in headless Chromium, on the JSON of a real `bench` run."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from routellm_py import load_router
from routellm_py import metrics as M
from tests.ui.conftest import UiServer, open_page, wait_for


def test_hover_shows_quality_threshold_and_cost_of_the_run(
    browser: Any, ui: UiServer, bench_run: tuple[Path, Any]
) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    bench_results = bench_run[0]
    ui.app.state.ui.results_dir = bench_results
    result = json.loads((bench_results / "mt-bench.json").read_text())
    open_page(browser, ui.url + "/ui/bench")
    over = wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#curve .u-over"), "chart")
    ActionChains(browser).move_to_element_with_offset(over, -over.size["width"] // 5, 0).perform()
    tip = wait_for(browser, lambda d: d.find_element(By.ID, "bench-tooltip"), "the tooltip")
    wait_for(browser, lambda d: tip.is_displayed(), "the tooltip shown")
    f = float(tip.find_element(By.CSS_SELECTOR, ".fraction").get_attribute("data-value"))
    i = result["curves"]["strong_fraction"].index(f)
    assert 0.2 < f < 0.4  # about where the mouse is (offsets are from the centre)
    for label in ("random", "length", "oracle", "random (expected)"):
        row = tip.find_element(By.CSS_SELECTOR, f"tr[data-curve='{label}']")
        assert row.find_element(By.CSS_SELECTOR, ".quality").text == (
            f"{result['curves'][label][i]:.4f}"
        )
    for label in ("random", "length"):  # routers have thresholds; the oracle has none
        row = tip.find_element(By.CSS_SELECTOR, f"tr[data-curve='{label}'] .threshold")
        assert row.text == f"{result['thresholds'][label][i]:.4f}"
    cost = M.cost_per_1k(
        f, result["strong_model"], result["weak_model"], result["input_tokens"], 256
    )
    assert tip.find_element(By.CSS_SELECTOR, ".cost").text == f"cost ${cost:.2f} per 1,000 queries"
    rows = browser.find_elements(By.CSS_SELECTOR, "#rows tbody tr")
    assert [r.get_attribute("data-router") for r in rows] == [r["router"] for r in result["rows"]]


def test_recorded_thresholds_realise_the_largest_exact_point_at_or_below_each_fraction(
    bench_run: tuple[Path, Any],
) -> None:
    out, run = bench_run
    result = json.loads((out / "mt-bench.json").read_text())
    w = load_router("random").win_rate(run.prompts)  # distinct: exact points are k / n
    n = len(w)
    assert set(result["thresholds"]) == {"random", "length"}  # not the oracle: no win rates
    grid = result["curves"]["strong_fraction"]
    for f, t in zip(grid, result["thresholds"]["random"], strict=True):
        assert 0 <= t <= 1
        assert np.mean(w >= t) == math.floor(f * n + 1e-9) / n
