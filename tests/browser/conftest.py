"""Browser tests use the `browser` and `watch` fixtures of tests/conftest.py."""
