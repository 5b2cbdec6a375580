"""Helpers first written for tests/browser/test_csp_browser.py, now shared by several test modules."""


# Runs before any page script (injected by the browser, so outside the page's CSP): record every violation.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""

