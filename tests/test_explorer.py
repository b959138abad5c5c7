"""The book's size explorer (``_static/explorer/explorer.js``) against convlib, in headless Chromium.

The JavaScript port of convlib's one-axis resolvers runs in a real browser, from a ``file://``
page, on every configuration of :func:`convlib.proof.explorer.sweep` (sizes, pads, unread cells
and the reason code of every refusal must equal convlib's), and the widget itself is driven:
changing the input size must change the displayed output size and the drawn grid. Skipped only
when Debian's chromium or chromedriver is not installed.
"""

import json
import time
from pathlib import Path

import pytest
from chromium import needs_chromium, start_chromium

from convlib.proof.explorer import FIELDS, REASON_CODES, sweep

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "_static" / "explorer"
SHOTS = ROOT / "_build" / "screenshots"
CHUNK = 50_000

pytestmark = [needs_chromium, pytest.mark.slow]

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>size explorer</title>
<link rel="stylesheet" href="{css}">
<script src="{js}"></script>
<style>body {{ font-family: sans-serif; margin: 0 auto; max-width: 800px; padding: 1rem; }}</style>
</head><body>
<h1>Size explorer</h1>
<p>Try any convolution size.</p>
<div class="conv-explorer" data-op="conv"></div>
</body></html>
"""


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> str:
    """A page on disk that loads the book's explorer files, as the offline book does."""
    out = tmp_path_factory.mktemp("explorer") / "index.html"
    out.write_text(
        PAGE.format(css=(STATIC / "explorer.css").as_uri(), js=(STATIC / "explorer.js").as_uri()),
        encoding="utf-8",
    )
    return out.as_uri()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    driver.set_script_timeout(120)  # the whole sweep is evaluated in a few long calls
    yield driver
    driver.quit()


def _console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_javascript_equals_convlib_on_the_whole_sweep(browser, page):
    started = time.perf_counter()
    rows = sweep()
    configs = [c.as_json() for c, _ in rows]
    browser.get(page)
    assert browser.execute_script("return typeof window.ConvExplorer") == "object"
    got = []
    for i in range(0, len(configs), CHUNK):  # as JSON text: WebDriver converts nested lists slowly
        got += json.loads(
            browser.execute_script(
                "return JSON.stringify(window.ConvExplorer.evaluateAll(JSON.parse(arguments[0])));",
                json.dumps(configs[i : i + CHUNK]),
            )
        )
    assert len(got) == len(rows)
    wrong = [(c, want, have) for (c, want), have in zip(rows, got) if have != want]
    assert not wrong, (
        f"{len(wrong)} of {len(rows)} configurations differ from convlib (fields {FIELDS}); first ones:\n"
        + "\n".join(f"{c} convlib {want} explorer {have}" for c, want, have in wrong[:10])
    )
    codes = {want[0] for _, want in rows} - {None}
    assert codes == set(REASON_CODES), f"reason codes never exercised: {set(REASON_CODES) - codes}"
    assert len(rows) > 100_000
    assert _console_errors(browser) == []
    print(
        f"\nexplorer.js equals convlib on {len(rows)} configurations in {time.perf_counter() - started:.1f} s"
    )


def _out(driver) -> str:
    return driver.find_element("css selector", ".conv-explorer .cx-out").text


def _grid(driver) -> tuple[str, str, int]:
    svg = driver.find_element("css selector", ".conv-explorer svg.cx-grid")
    return (
        svg.get_attribute("data-rows"),
        svg.get_attribute("data-cols"),
        len(svg.find_elements("css selector", "rect.cx-cell")),
    )


def _set(driver, name: str, value) -> None:
    box = driver.find_element("css selector", f".conv-explorer [name={name}]")
    if box.tag_name == "select":
        from selenium.webdriver.support.ui import Select

        Select(box).select_by_value(str(value))
    else:
        box.clear()
        box.send_keys(str(value))


def test_widget_follows_its_controls(browser, page):
    from selenium.webdriver.common.by import By

    browser.get(page)
    root = browser.find_element(By.CSS_SELECTOR, ".conv-explorer")
    assert root.get_attribute("data-cx-mounted") == "1"
    # defaults: 7 x 8 input, 3 x 3 kernel, stride 1, "same" -> 7 x 8, pads ((1, 1), (1, 1))
    assert _out(browser) == "7 \u00d7 8"
    assert _grid(browser) == ("9", "10", 90)

    _set(browser, "nH", 12)
    assert _out(browser) == "12 \u00d7 8"
    assert _grid(browser) == ("14", "10", 140)

    _set(browser, "sH", 2)
    _set(browser, "sW", 2)
    _set(browser, "padding", "valid")
    assert _out(browser) == "5 \u00d7 3"  # floor((12-3)/2)+1, floor((8-3)/2)+1
    details = root.find_element(By.CSS_SELECTOR, ".cx-details").text
    assert "1 input cell at the right" in details  # 8 columns, windows reach column 7 only

    # stepping the window moves its outline
    window = root.find_element(By.CSS_SELECTOR, "rect.cx-window")
    x0 = window.get_attribute("x")
    root.find_element(By.CSS_SELECTOR, "button[aria-label='next window']").click()
    assert root.find_element(By.CSS_SELECTOR, "rect.cx-window").get_attribute("x") != x0
    assert "(0, 1) of 5 \u00d7 3" in root.find_element(By.CSS_SELECTOR, ".cx-where").text

    # a refusal replaces the numbers, with convlib's reason
    _set(browser, "kW", 9)
    assert root.find_element(By.CSS_SELECTOR, ".cx-reason").text == "no-window-fits"
    assert root.find_elements(By.CSS_SELECTOR, ".cx-out") == []

    # pooling: a pad over half the window is refused, as in PyTorch
    _set(browser, "kW", 2)
    _set(browser, "op", "pool_max")
    _set(browser, "padding", "explicit")
    _set(browser, "left", 2)
    assert root.find_element(By.CSS_SELECTOR, ".cx-reason").text == "pad-over-half-pool"
    _set(browser, "left", 1)
    _set(browser, "right", 1)
    assert _out(browser) == "6 \u00d7 5"  # height: floor((12+2-3)/2)+1; width: floor((8+2-2)/2)+1

    # the copy button copies or, without clipboard access, selects the code
    root.find_element(By.CSS_SELECTOR, "button.cx-copy").click()
    code = root.find_element(By.CSS_SELECTOR, "pre.cx-code").text
    assert "F.max_pool2d(x, kernel_size=(3, 2), stride=(2, 2), padding=(1, 1)" in code
    assert _console_errors(browser) == []

    SHOTS.mkdir(parents=True, exist_ok=True)
    _set(browser, "op", "conv")
    _set(browser, "padding", "same")
    browser.save_screenshot(str(SHOTS / "explorer.png"))
