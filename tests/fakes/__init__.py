"""Test doubles for external services (Slack) used by the test suite."""
