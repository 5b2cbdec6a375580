"""The test suite; see tests/conftest.py for its folders."""
import pytest

# The shared helpers hold asserts: pytest rewrites them as it does test modules. This runs before
# tests/conftest.py imports the first of them.
pytest.register_assert_rewrite("tests.support")
