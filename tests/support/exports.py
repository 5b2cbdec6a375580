"""Helpers first written for tests/http/test_exports.py, now shared by several test modules."""


INJECTIONS = ["=HYPERLINK(\"http://x\")", "+1+2", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1+1"]

