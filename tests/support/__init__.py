"""Test support: databases on both engines and the app running on a real port."""
