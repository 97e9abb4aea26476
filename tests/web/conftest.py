"""Browser tests: one headless Chromium per module (Debian's chromium and chromium-driver,
installed by `make setup`), a screenshot under var/browser/ when a test fails."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hotgigs.dev import edge
from tests.support.browser import new_driver
from tests.support.servers import RunningEnvoy

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "browser"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report: Any = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    driver = new_driver()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(autouse=True)
def screenshot_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if request.node.stash.get(FAILED, False) and "browser" in request.fixturenames:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        driver = request.getfixturevalue("browser")
        for index, handle in enumerate(driver.window_handles):
            driver.switch_to.window(handle)
            driver.save_screenshot(str(SCREENSHOTS / f"{request.node.name}-{index}.png"))


@pytest.fixture(scope="module")
def nginx_edge(envoy: RunningEnvoy, tmp_path_factory: pytest.TempPathFactory) -> Iterator[edge.Edge]:
    """The deploy's nginx site (TLS) in front of the suite's Envoy, serving web/ as in production."""
    with edge.nginx(tmp_path_factory.mktemp("web-nginx"),
                    [envoy.base_url.removeprefix("http://")]) as running:
        yield running
