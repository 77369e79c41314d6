"""End-to-end tests in a real Chromium (pytest -m browser)."""
