"""Helpers and fixtures shared by several test modules; no test module imports another.

The helpers hold asserts too: tests/__init__.py has pytest rewrite this package as it does test modules.
"""
