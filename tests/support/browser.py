"""Driving Debian's Chromium from tests: the driver (never Selenium Manager, which would try
to download one), axe-core from node_modules, console and layout checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PHONE_WIDTH = 375
WAIT_SECONDS = 20


def new_driver(extra_arguments: tuple[str, ...] = (), *, accept_insecure_certs: bool = True
               ) -> webdriver.Chrome:
    """Headless Chromium with a phone-width window and the browser console recorded. By default
    any certificate is accepted (the local nginx edge's self-signed loopback certificate); the
    deploy test turns that off and pins the deployed key instead."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--no-first-run", "--disable-extensions",
                     f"--window-size={PHONE_WIDTH},800", *extra_arguments):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.accept_insecure_certs = accept_insecure_certs
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def wait(driver: webdriver.Chrome, css: str, text: str | None = None) -> Any:
    """The element matching `css` once present (and containing `text`, when given)."""
    until = WebDriverWait(driver, WAIT_SECONDS)
    if text is not None:
        until.until(expected_conditions.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))
    return until.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css)))


def console_errors(driver: webdriver.Chrome) -> list[dict[str, Any]]:
    """Console entries of level SEVERE since the last call (CSP violations are among them)."""
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def serious_accessibility_findings(driver: webdriver.Chrome) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the current page."""
    driver.execute_script(AXE.read_text())
    result: dict[str, Any] = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document).then((r) => done(r), (e) => done({error: String(e)}));")
    assert "error" not in result, result
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def scrolls_sideways(driver: webdriver.Chrome) -> bool:
    return bool(driver.execute_script(
        "return document.documentElement.scrollWidth > document.documentElement.clientWidth;"))


def check_page(driver: webdriver.Chrome, name: str) -> None:
    """No console errors (CSP violations included), no serious axe findings, no sideways scroll."""
    assert console_errors(driver) == [], f"console errors on {name}"
    assert serious_accessibility_findings(driver) == [], f"axe findings on {name}"
    assert not scrolls_sideways(driver), f"{name} scrolls sideways at {PHONE_WIDTH} px"
