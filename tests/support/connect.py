"""Drives `/whatconverts connect` the way a person does (the driver is shared with the demo)."""

from bot.sandbox.driver import button_url, connect_key, connect_link, local, state_of, submit_key

__all__ = ["button_url", "connect_key", "connect_link", "local", "state_of", "submit_key"]
