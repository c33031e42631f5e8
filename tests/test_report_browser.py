"""The report in a real headless browser: every figure present, with a size, no errors."""

from __future__ import annotations

import shutil

import pytest

from gentune.release import release

pytestmark = [pytest.mark.browser, pytest.mark.skipif(
    not (shutil.which("chromium") and shutil.which("chromedriver")),
    reason="Debian's chromium and chromium-driver are not installed (scripts/setup-browser)")]


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1200,900"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    yield driver
    driver.quit()


def _check_page(browser, path, figures: set[str]) -> None:
    browser.get(path.resolve().as_uri())
    found = browser.find_elements("css selector", "figure.gentune-figure")
    ids = {element.get_attribute("id") for element in found}
    assert figures <= ids, figures - ids
    for element in found:
        image = element.find_element("tag name", "img")
        assert browser.execute_script("return arguments[0].complete && "
                                      "arguments[0].naturalWidth", image) > 0
        assert image.size["width"] > 0 and image.size["height"] > 0
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []


def test_release_report_renders(browser, tiny_gbsg, tmp_path) -> None:
    from gentune.tuning.api import tune

    tune(str(tiny_gbsg), generator="gaussian_copula", n_trials=3, out=tmp_path / "t",
         workers=1, show_progress=False, raw_validity="off", samples_per_trial=1)
    release(best_json=tmp_path / "t" / "best.json", rows=80, out=tmp_path / "r")
    _check_page(browser, tmp_path / "r" / "report.html",
                {"km-curves", "marginals", "correlation-difference", "hpo-alignment"})
    _check_page(browser, tmp_path / "t" / "report.html",
                {"optimisation-history", "hyperparameter-importance", "km-curves",
                 "marginals", "correlation-difference", "hpo-alignment"})
