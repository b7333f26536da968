"""The live dashboard in headless Chromium, against a scripted burst of real requests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.ui.conftest import KEY, UiServer, open_page, wait_for


def by() -> Any:
    from selenium.webdriver.common.by import By

    return By


def polls(browser: Any) -> int:
    return int(browser.find_element(by().ID, "updated").get_attribute("data-polls"))


def test_dashboard_strong_fraction_matches_stats_after_a_burst(browser: Any, ui: UiServer) -> None:
    open_page(browser, ui.url + "/ui/dashboard")
    wait_for(browser, lambda d: polls(d) >= 1, "the first poll")
    ui.upstream.fail("500", times=2, model="weak-m")  # two failures on the weak model
    auth = {"Authorization": f"Bearer {KEY}"}
    models = ["router-random-0.5", "router-length-0.4", "router-random-0.2", "router-length-0.9"]
    with httpx.Client(base_url=ui.url, headers=auth, timeout=30) as client:
        for i in range(24):  # prompts of growing length: both decisions for `length`
            body = {
                "model": models[i % len(models)],
                "messages": [{"role": "user", "content": f"burst {i} " + "word " * (3 * i)}],
            }
            client.post("/v1/chat/completions", json=body)
        stats = client.get("/stats").json()
    strong = sum(c.get("openai/strong-m", 0) for c in stats["routed"].values())
    total = sum(sum(c.values()) for c in stats["routed"].values())
    assert total == 24 and 0 < strong < total
    assert stats["failed"] == {"openai/weak-m": 2}
    polled = polls(browser)
    wait_for(
        browser,
        lambda d: (
            polls(d) > polled
            and d.find_element(by().ID, "strong-fraction").get_attribute("data-value")
            == str(strong / total)
        ),
        "the burst on the dashboard, without reloading",
    )
    assert browser.find_element(by().ID, "strong-fraction").text == f"{100 * strong / total:.1f}%"
    for router, counts in stats["routed"].items():
        row = f"#routers tr[data-router='{router}'] .strong-fraction"
        shown = browser.find_element(by().CSS_SELECTOR, row).get_attribute("data-value")
        assert float(shown) == counts.get("openai/strong-m", 0) / sum(counts.values())
    for model in ("openai/strong-m", "openai/weak-m"):
        row = f"#models tr[data-model='{model}']"
        served = browser.find_element(by().CSS_SELECTOR, row + " .served").text
        failed = browser.find_element(by().CSS_SELECTOR, row + " .failed").text
        assert int(served) == stats["served"].get(model, 0)
        assert int(failed) == stats["failed"].get(model, 0)
    served = sum(stats["served"].values())
    assert browser.find_element(by().ID, "requests").text == f"{served} / 2"
    # Latency percentiles come from /metrics: every model that served has a number.
    cells = browser.find_elements(by().CSS_SELECTOR, "#models tr[data-model='openai/weak-m'] td")
    assert cells[5].text.endswith(" ms")


def test_dashboard_shows_the_budget_controller_of_a_budget_model_string(
    browser: Any, ui: UiServer
) -> None:
    """The card stays hidden until a `router-<name>-b<fraction>` request runs; then it shows
    that budget's target and current threshold exactly as `/stats` reports them."""
    open_page(browser, ui.url + "/ui/dashboard")
    wait_for(browser, lambda d: polls(d) >= 1, "the first poll")
    assert not browser.find_element(by().ID, "budget-card").is_displayed()
    auth = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=ui.url, headers=auth, timeout=30) as client:
        for i in range(8):
            body = {
                "model": "router-length-b0.5",
                "messages": [{"role": "user", "content": f"budget {i} " + "word " * (5 * i)}],
            }
            assert client.post("/v1/chat/completions", json=body).status_code == 200
        budget = client.get("/stats").json()["budgets"]["router-length-b0.5"]
    assert budget["target"] == 0.5 and budget["window_requests"] == 8
    card = wait_for(
        browser,
        lambda d: (
            d.find_element(by().ID, "budget-card").is_displayed()
            and d.find_element(by().CSS_SELECTOR, "#budget [data-key='router-length-b0.5']")
        ),
        "the budget card",
    )

    def shown(v: float) -> str:  # the page prints +v.toFixed(4)
        return str(float(f"{v:.4f}"))

    assert card.text.startswith("router-length-b0.5: target 0.5, threshold ")
    assert f"threshold {shown(budget['threshold'])}," in card.text
    assert f"realised_fraction {shown(budget['realised_fraction'])}," in card.text
