"""The front end in a real Chromium (issue 19, item 4), served by the real Envoy: a candidate
signs up, searches, uploads a CV and applies; a company user moves the application to
interviewing in another tab; the candidate's page shows the new status through the live feed
without reloading. Every page: no console errors (CSP violations included), no serious or
critical axe-core findings, no sideways scrolling at 375 px."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from http_bridge import web_assets
from tests import factories
from tests.support.browser import check_page, console_errors, wait
from tests.support.rest import STRONG_PASSWORD
from tests.support.servers import RunningEnvoy

pytestmark = pytest.mark.slow
METRICS = Path(__file__).resolve().parents[2] / "var" / "browser" / "metrics.json"


def fill(driver: Any, values: dict[str, str]) -> None:
    for name, value in values.items():
        field = driver.find_element(By.CSS_SELECTOR, f"main [name={name}]")
        if field.tag_name == "select":
            Select(field).select_by_value(value)
        else:
            field.clear()
            field.send_keys(value)


def submit(driver: Any) -> None:
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()


def page_weight(driver: Any) -> dict[str, int]:
    entries: list[dict[str, Any]] = driver.execute_script(
        "return performance.getEntriesByType('navigation').concat("
        "performance.getEntriesByType('resource')).map((e) => ({name: e.name,"
        " transfer: e.transferSize, body: e.decodedBodySize}));")
    return {"transferred": sum(e["transfer"] for e in entries),
            "decoded": sum(e["body"] for e in entries), "requests": len(entries)}


def test_the_page_is_served_with_a_strict_csp_and_cache_headers(rest: httpx.Client) -> None:
    index = rest.get("/")
    assert index.status_code == 200
    assert index.headers["content-type"].startswith("text/html")
    assert index.headers["cache-control"] == "no-cache"
    csp = index.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "<script>" not in index.text  # no inline script: only the module file
    version = web_assets.version()
    assert f"/static/{version}/js/app.js" in index.text
    asset = rest.get(f"/static/{version}/js/app.js")
    assert asset.status_code == 200
    assert "immutable" in asset.headers["cache-control"]
    assert asset.headers["content-type"].startswith("application/javascript")
    assert rest.get("/static/0000/js/app.js").status_code == 404  # an old version is gone
    assert rest.post("/", json={}).status_code != 200  # the page is GET only


def test_candidate_applies_and_sees_the_new_status_live(browser: Any, rest: httpx.Client,
                                                        envoy: RunningEnvoy, tmp_path: Path) -> None:
    word = f"Zeppelin{uuid.uuid4().hex[:6]}"
    owner, job = factories.owner_with_job(rest, title=f"{word} Platform Engineer")
    driver = browser
    METRICS.parent.mkdir(parents=True, exist_ok=True)
    driver.get(envoy.base_url + "/")
    wait(driver, "body[data-search-done]")
    first = page_weight(driver)
    check_page(driver, "search")

    driver.get(envoy.base_url + "/#/signup")
    wait(driver, "main h1", "Create an account")
    check_page(driver, "sign up")
    fill(driver, {"first_name": "Ada", "last_name": "Browser",
                  "email": f"ada-{uuid.uuid4().hex[:8]}@example.com",
                  "password": STRONG_PASSWORD, "user_type": "candidate"})
    submit(driver)
    wait(driver, "#status", "Signed in as Ada")
    wait(driver, "body[data-live-feed=open]")

    started = time.monotonic()
    fill(driver, {"search": word})
    submit(driver)
    wait(driver, "#results-title", "1 jobs")
    search_seconds = time.monotonic() - started
    check_page(driver, "search results")
    driver.save_screenshot(str(METRICS.parent / "search.png"))  # the README's picture
    driver.find_element(By.CSS_SELECTOR, f"[data-job-id='{job['id']}'] button").click()
    wait(driver, "#status", "Applied to")

    driver.find_element(By.CSS_SELECTOR, "a[href='#/me']").click()
    wait(driver, "#applications [data-status=applied]")
    cv = tmp_path / "ada-cv.txt"
    cv.write_text("Ada Browser\nPlatform engineer: Python, PostgreSQL, Envoy.\n")
    driver.find_element(By.CSS_SELECTOR, "main input[type=file]").send_keys(str(cv))
    driver.find_element(By.XPATH, "//button[text()='Upload CV']").click()
    wait(driver, "#documents", cv.name)
    check_page(driver, "my applications")
    candidate_tab = driver.current_window_handle

    driver.switch_to.new_window("tab")
    driver.get(envoy.base_url + "/#/signin")
    wait(driver, "main h1", "Sign in")
    check_page(driver, "sign in")
    fill(driver, {"email": owner["user"]["email"], "password": STRONG_PASSWORD})
    submit(driver)
    wait(driver, "#pipeline [data-status=applied]")
    check_page(driver, "pipeline")
    row = driver.find_element(By.CSS_SELECTOR, "#pipeline [data-application-id]")
    Select(row.find_element(By.CSS_SELECTOR, "select")).select_by_value("interviewing")
    row.find_element(By.XPATH, ".//button[text()='Move']").click()
    wait(driver, "#pipeline [data-status=interviewing]")
    driver.save_screenshot(str(METRICS.parent / "pipeline.png"))
    driver.find_element(By.CSS_SELECTOR, "#sign-out").click()
    wait(driver, "#status", "Signed out")
    driver.close()

    driver.switch_to.window(candidate_tab)
    wait(driver, "#applications [data-status=interviewing]")  # no reload: the live feed
    driver.find_element(By.CSS_SELECTOR, "a[href^='#/notifications']").click()
    wait(driver, "#notifications [data-notification-id]")
    check_page(driver, "notifications")

    driver.get(envoy.base_url + "/")
    wait(driver, "body[data-search-done]")
    cached = page_weight(driver)
    METRICS.write_text(json.dumps({"first_load": first, "cached_load": cached,
                                   "search_to_results_seconds": round(search_seconds, 3)}))
    assert console_errors(driver) == []


def test_the_page_works_through_nginx_over_tls(browser: Any, nginx_edge: Any) -> None:
    """As deployed: the static tree nginx serves, the API behind it, one origin, HTTPS."""
    browser.get(nginx_edge.https_url + "/")
    wait(browser, "body[data-search-done]")
    assert browser.execute_script("return location.protocol") == "https:"
    check_page(browser, "search through nginx")
