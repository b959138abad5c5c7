"""The size explorer refuses a field typed wrong before any arithmetic, in headless Chromium.

An empty field (also what a browser makes of a number field holding no number), a fraction, or a
value outside the range of the field's arrows replaces the numbers with one sentence naming the
field and its range, and marks the field ``aria-invalid``; a field the configuration does not read
(hidden or disabled) is never refused; correcting the field brings the numbers back. The arithmetic
itself is proven against convlib by ``tests/test_explorer.py``.
"""

from pathlib import Path

import pytest
from chromium import needs_chromium, start_chromium

STATIC = Path(__file__).resolve().parents[1] / "_static" / "explorer"

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    page = tmp_path_factory.mktemp("explorer-input") / "index.html"
    page.write_text(
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>explorer input</title>'
        f'<link rel="stylesheet" href="{(STATIC / "explorer.css").as_uri()}">'
        f'<script src="{(STATIC / "explorer.js").as_uri()}"></script></head>'
        f'<body><div class="conv-explorer" data-op="conv"></div></body></html>',
        encoding="utf-8",
    )
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield driver, page.as_uri()
    driver.quit()


@pytest.fixture
def browser(chromium):
    """The page freshly loaded, in its default state (7 x 8 input, 3 x 3 kernel, "same")."""
    driver, uri = chromium
    driver.get(uri)
    return driver


def _field(driver, name):
    return driver.find_element("css selector", f".conv-explorer [name={name}]")


def _type(driver, name, text):
    box = _field(driver, name)
    box.clear()
    if text:
        box.send_keys(text)


def _summary(driver) -> str:
    return driver.find_element("css selector", ".conv-explorer .cx-summary").text


def _shown_size(driver) -> str | None:
    found = driver.find_elements("css selector", ".conv-explorer .cx-out")
    return found[0].text if found else None


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("nH", "", "input height: enter a whole number from 1 to 64"),
        ("nH", "-", "input height: enter a whole number from 1 to 64"),  # the browser empties it
        ("nH", "65", "input height must be a whole number from 1 to 64 here, got 65"),
        ("nW", "0", "input width must be a whole number from 1 to 64 here, got 0"),
        ("kH", "2.5", "kernel height must be a whole number from 1 to 15 here, got 2.5"),
        ("sW", "9", "stride (width) must be a whole number from 1 to 8 here, got 9"),
    ],
)
def test_a_bad_field_is_refused_by_name_and_range(browser, name, text, message):
    _type(browser, name, text)
    assert _summary(browser) == "check the field: " + message
    assert "NaN" not in browser.find_element("css selector", ".conv-explorer").text
    assert _shown_size(browser) is None
    assert _field(browser, name).get_attribute("aria-invalid") == "true"
    assert browser.find_elements("css selector", ".conv-explorer .cx-grid") == []

    _type(browser, name, "5")  # corrected: the numbers come back and the mark goes
    assert _shown_size(browser) is not None
    assert _field(browser, name).get_attribute("aria-invalid") is None
    assert browser.find_elements("css selector", ".conv-explorer [aria-invalid]") == []


def test_fields_the_configuration_does_not_read_are_not_refused(browser):
    # The per-side pads are hidden while the padding is "same": an empty one changes nothing.
    browser.execute_script(
        "const box = document.querySelector('.conv-explorer [name=top]');"
        "box.value = ''; box.dispatchEvent(new Event('input'));"
    )
    assert _shown_size(browser) == "7 \u00d7 8"
    # ...until the pads are used.
    from selenium.webdriver.support.ui import Select

    Select(_field(browser, "padding")).select_by_value("explicit")
    assert _summary(browser) == "check the field: pad top: enter a whole number from 0 to 16"
    _type(browser, "top", "1")
    assert _shown_size(browser) == "7 \u00d7 8"


def test_convlibs_own_refusals_keep_their_reason_code(browser):
    from selenium.webdriver.support.ui import Select

    Select(_field(browser, "padding")).select_by_value("valid")
    _type(browser, "kW", "9")  # a valid field, a size no window fits
    assert browser.find_element("css selector", ".conv-explorer .cx-reason").text == "no-window-fits"
    assert _field(browser, "kW").get_attribute("aria-invalid") is None
    _type(browser, "kW", "3")
    assert _shown_size(browser) == "5 \u00d7 6"
    severe = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []
