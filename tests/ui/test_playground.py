"""The playground in headless Chromium: win rates, decisions, batches, answers."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pytest

from routellm_py import load_router
from routellm_py.calibration import threshold_for_strong_fraction
from tests.ui.conftest import ROUTERS, UiServer, open_page, type_into, wait_for

PROMPT = "Prove that there are infinitely many prime numbers, then give an example."


def by() -> Any:
    from selenium.webdriver.common.by import By

    return By


def open_playground(browser: Any, ui: UiServer) -> None:
    open_page(browser, ui.url + "/ui/")
    wait_for(
        browser,
        lambda d: len(d.find_elements(by().CSS_SELECTOR, "#router-picks input")) == len(ROUTERS),
        "the routers of /ui/api/config",
    )


def score_prompt(browser: Any, ui: UiServer, prompt: str = PROMPT) -> None:
    """Open the playground, type `prompt`, score it, wait for its win rates."""
    open_playground(browser, ui)
    type_into(browser, "prompt", prompt)
    browser.find_element(by().ID, "score").click()
    wait_scored(browser, prompt)


def result_cell(browser: Any, router: str, cls: str) -> Any:
    return browser.find_element(by().CSS_SELECTOR, f"#results tr[data-router='{router}'] .{cls}")


def wait_scored(browser: Any, prompt: str) -> None:
    """Until the table shows every router's win rate for `prompt` (not a previous one)."""
    expected = {r: load_router(r).win_rate([prompt])[0] for r in ROUTERS}

    def shown(d: Any) -> bool:
        cells = d.find_elements(by().CSS_SELECTOR, "#results .win-rate")
        values = [float(c.get_attribute("data-value")) for c in cells]
        return sorted(values) == sorted(expected.values())

    wait_for(browser, shown, "the win rates of the typed prompt")


def test_page_without_key_says_401_then_works_with_it(browser: Any, ui: UiServer) -> None:
    browser.get(ui.url + "/ui/")
    browser.execute_script("sessionStorage.clear()")
    browser.get(ui.url + "/ui/")
    error = wait_for(
        browser, lambda d: d.find_element(by().ID, "error").text, "the missing-key error"
    )
    assert error.startswith("401") and "API key" in error
    open_playground(browser, ui)
    assert browser.find_element(by().ID, "error").text == ""


def test_typed_prompt_shows_the_routers_win_rates(browser: Any, ui: UiServer) -> None:
    score_prompt(browser, ui)
    for router in ROUTERS:
        expected = load_router(router).win_rate([PROMPT])[0]  # the router itself, no server
        cell = result_cell(browser, router, "win-rate")
        assert float(cell.get_attribute("data-value")) == expected
        assert cell.text == f"{expected:.4f}"


def test_moving_the_threshold_flips_the_decision_at_the_win_rate(
    browser: Any, ui: UiServer
) -> None:
    from selenium.webdriver.common.keys import Keys

    score_prompt(browser, ui)
    w = load_router("length").win_rate([PROMPT])[0]
    below = math.floor(w * 1000) / 1000  # the slider's grid point just under w
    assert below < w < below + 0.001
    type_into(browser, "threshold-value", f"{below:.3f}")

    def decision(threshold: float) -> str:
        wait_for(
            browser,
            lambda d: (
                float(result_cell(d, "length", "threshold").get_attribute("data-value"))
                == pytest.approx(threshold, abs=1e-12)
            ),
            f"threshold {threshold}",
        )
        return str(result_cell(browser, "length", "decision").text)

    assert decision(below) == "strong"  # w >= threshold
    assert result_cell(browser, "length", "model").text == ui.controller.strong.model
    slider = browser.find_element(by().ID, "threshold")
    slider.send_keys(Keys.ARROW_RIGHT)  # one step (0.001) up: now above w
    assert float(slider.get_attribute("value")) == pytest.approx(below + 0.001)
    assert decision(below + 0.001) == "weak"
    assert result_cell(browser, "length", "model").text == ui.controller.weak.model
    slider.send_keys(Keys.ARROW_LEFT)
    assert decision(below) == "strong"


def test_loaded_csv_shows_the_threshold_for_a_strong_fraction(
    browser: Any, ui: UiServer, tmp_path: Path
) -> None:
    prompts = [f"Question {i}: " + "why, exactly, " * (i % 13) + 'is "x" so?' for i in range(40)]
    prompts[3] = "A prompt over\ntwo lines, with a comma"
    path = tmp_path / "prompts.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "prompt"])
        writer.writerows(enumerate(prompts))
    open_playground(browser, ui)
    browser.find_element(by().ID, "file").send_keys(str(path))
    wait_for(
        browser,
        lambda d: len(d.find_elements(by().CSS_SELECTOR, "#batch-table tbody tr")) == 40,
        "the 40 prompts of the CSV",
    )
    type_into(browser, "fraction-value", "0.25")
    for router in ROUTERS:
        rates = load_router(router).win_rate(prompts)
        t = threshold_for_strong_fraction(rates, 0.25)
        row = f"#batch-summary tr[data-router='{router}']"
        wait_for(
            browser,
            lambda d, row=row, t=t: (
                float(
                    d.find_element(by().CSS_SELECTOR, row + " .threshold").get_attribute(
                        "data-value"
                    )
                )
                == pytest.approx(t, abs=1e-12)
            ),
            f"{router}'s threshold for 25% strong",
        )
        shown = browser.find_element(by().CSS_SELECTOR, row + " .strong-fraction")
        assert float(shown.get_attribute("data-value")) == pytest.approx(
            float((rates >= t).mean()), abs=1e-12
        )


def test_answer_comes_with_its_routing_record(browser: Any, ui: UiServer) -> None:
    score_prompt(browser, ui)
    type_into(browser, "threshold-value", "0")  # everything strong
    browser.find_element(by().ID, "chat-router").send_keys("length")
    browser.find_element(by().ID, "ask").click()
    answer = wait_for(
        browser, lambda d: d.find_element(by().ID, "answer").text.startswith("echo:"), "answer"
    )
    assert answer
    assert browser.find_element(by().ID, "answer").text == "echo: " + PROMPT
    record = json.loads(browser.find_element(by().ID, "routing-record").text)
    assert record["router"] == "length" and record["threshold"] == 0
    assert record["routed_to"] == "strong" and record["served_model"] == "openai/strong-m"
    assert record["win_rate"] == load_router("length").win_rate([PROMPT])[0]


def test_target_fraction_uses_the_servers_calibrated_threshold(browser: Any, ui: UiServer) -> None:
    from routellm_py.controller.model_string import RouteSpec

    score_prompt(browser, ui)
    type_into(browser, "fraction-value", "0.3")
    assert browser.find_element(by().ID, "mode-fraction").is_selected()
    for router in ROUTERS:
        t = ui.controller.threshold(RouteSpec(router, strong_fraction=0.3))  # calibrated once
        wait_for(
            browser,
            lambda d, router=router, t=t: (
                float(result_cell(d, router, "threshold").get_attribute("data-value")) == t
            ),
            f"{router}'s threshold for 30% strong calls",
        )
        w = load_router(router).win_rate([PROMPT])[0]
        assert result_cell(browser, router, "decision").text == ("strong" if w >= t else "weak")
