"""Helpers first written for tests/browser/test_a11y_browser.py, now shared by several test modules."""
from __future__ import annotations

from tests.support.paths import VENDOR

AXE = VENDOR / "axe-core" / "axe.min.js"


BLOCKING = ("serious", "critical")


# Third-party widgets whose markup is not ours, left out of the check (the rest of the page is checked), with why.
WIDGETS = {"/api/docs": (".swagger-ui", "swagger-ui-dist's own rendering: low-contrast labels and buttons nested in "
                                       "buttons, upstream's to fix; the page is for developers, not volunteers")}


RUN_AXE = """async (exclude) => {
  const context = exclude ? {include: [document], exclude: [[exclude]]} : document;
  const result = await axe.run(context, {resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}));
}"""


def violations(page, path: str) -> list[dict]:
    page.evaluate(AXE.read_text())
    return page.evaluate(RUN_AXE, WIDGETS.get(path, (None,))[0])

