"""The dashboard's 转派单位与12345热线 section in Chromium (issue 24): opened, its table and figures fit a 1366x768
window and a 390 px phone without scrolling sideways, and another town's supervisor sees the empty states.

Set HAZARD_SHOTS=<folder> to keep the screenshots (figures-1366.png, figures-390.png, figures-empty.png).
"""
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("HAZARD_SHOTS")


def _section(open_page, accounts, who: str, width: int, query: str = ""):
    headers = {"Authorization": f"Bearer {accounts[who]['token']}"}
    page, log = open_page(f"/dashboard{query}", extra_http_headers=headers)
    page.set_viewport_size({"width": width, "height": 768})
    page.reload(wait_until="load")
    section = page.locator("#section-bodies")
    section.locator("summary").click()
    expect(section.locator("details")).to_have_attribute("open", "")
    section.scroll_into_view_if_needed()
    return page, section, log


def _shot(section, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        section.screenshot(path=str(Path(SHOTS) / name))


@pytest.mark.parametrize("width", [1366, 390])
def test_the_section_shows_the_figures_at_both_widths(known, open_page, accounts, width):
    page, section, log = _section(open_page, accounts, "sup_a", width, f"?since={known['since']}")
    _shot(section, f"figures-{width}.png")
    expect(section.locator("#body-figures tbody tr")).to_have_count(2)
    expect(section.locator('#body-figures tbody tr').first.locator('[data-figure="sign_rate"]')).to_have_text("50.0%")
    expect(section.locator('#hotline-figures [data-figure="satisfaction_rate"]')).to_have_text("66.7%")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    assert not log.errors


def test_another_town_sees_the_empty_states(known, open_page, accounts):
    page, section, log = _section(open_page, accounts, "sup_b", 1366)
    _shot(section, "figures-empty.png")
    expect(section.locator("#body-figures-empty")).to_have_text("本期无转派")
    expect(section.locator("#hotline-figures-empty")).to_have_text("本期无热线工单")
    assert not log.errors
