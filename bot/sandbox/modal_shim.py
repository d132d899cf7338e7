"""Open modals, kept by id, for a fake Slack that does not keep them itself.

The sandbox page shows the modals the app opened and sends their submissions back, so it needs
what a Slack client has: the open views (`open_modals`), `views.push` / `views.update` answered,
an ack's `response_action` applied (`answer_submission`), a close (`close_view`), and fresh
trigger ids (`new_trigger_id`). The fake Slack on branch i15-modals offers exactly these methods
(with trigger ids that expire after 3 s); `with_modals` then returns it unchanged and this module
can be deleted. Until then it adds them, with the same names and the same behaviour.
"""

from __future__ import annotations

import copy
import secrets
from typing import Any, ClassVar

from bot.sandbox.slack import FakeSlack


def with_modals(base: type[FakeSlack]) -> type[FakeSlack]:
    """`base` itself when it keeps modals, else `base` with the modal methods added."""
    if hasattr(base, "open_modals"):
        return base

    class KeepsModals(base):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._open_views: dict[str, dict[str, Any]] = {}

        def new_trigger_id(self) -> str:
            """A trigger_id shaped like Slack's; the first part is the issue time in epoch ms."""
            return f"{int(self._clock() * 1000)}.{secrets.randbelow(10**9)}.{secrets.token_hex(10)}"

        def open_modals(self) -> list[dict[str, Any]]:
            """Every open view, in the order they were opened, as the user sees each now."""
            with self._lock:
                return copy.deepcopy(list(self._open_views.values()))

        def close_view(self, view_id: str) -> None:
            """The user closes the modal, its stack with it."""
            with self._lock:
                root = self._open_views.get(view_id, {}).get("root_view_id", view_id)
                for open_id in [i for i, v in self._open_views.items() if v["root_view_id"] == root]:
                    del self._open_views[open_id]

        def answer_submission(self, view_id: str, ack: dict[str, Any] | None) -> None:
            """An empty ack closes the view; `update` replaces it, `push` stacks one, `clear` closes all."""
            action, new = (ack or {}).get("response_action"), (ack or {}).get("view")
            with self._lock:
                current = self._open_views.get(view_id)
                if current is None or action == "errors":
                    return
                if action == "update" and isinstance(new, dict):
                    self._open_views[view_id] = self._modal(new, current["team_id"], previous=current)
                elif action == "push" and isinstance(new, dict):
                    pushed = self._modal(new, current["team_id"], root=current)
                    self._open_views[pushed["id"]] = pushed
                elif action == "clear":
                    self.close_view(view_id)
                else:
                    del self._open_views[view_id]

        def _modal(
            self,
            view: dict[str, Any],
            team_id: str,
            *,
            previous: dict[str, Any] | None = None,
            root: dict[str, Any] | None = None,
        ) -> dict[str, Any]:
            out = self._view_body(view, self._team(team_id))
            if previous is not None:
                out.update({k: previous[k] for k in ("id", "root_view_id", "previous_view_id")})
            elif root is not None:
                out.update(root_view_id=root["root_view_id"], previous_view_id=root["id"])
            return out

        def _keep(self, params: dict[str, Any], team: Any, **where: Any) -> dict[str, Any] | str:
            view = params.get("view")
            if not isinstance(view, dict) or "type" not in view:
                return "invalid_arguments"
            out = self._modal(view, team.id, **where)
            self._open_views[out["id"]] = out
            return {"view": copy.deepcopy(out)}

        def _views_open(self, params: dict[str, Any], info: Any, team: Any) -> dict[str, Any] | str:
            return self._keep(params, team) if params.get("trigger_id") else "invalid_arguments"

        def _views_push(self, params: dict[str, Any], info: Any, team: Any) -> dict[str, Any] | str:
            below = next((v for v in reversed(self._open_views.values()) if v["team_id"] == team.id), None)
            if not params.get("trigger_id") or below is None:
                return "invalid_arguments" if below else "not_found"
            return self._keep(params, team, root=below)

        def _views_update(self, params: dict[str, Any], info: Any, team: Any) -> dict[str, Any] | str:
            view_id, external_id = params.get("view_id"), params.get("external_id")
            current = self._open_views.get(view_id) if view_id else None
            if external_id:
                current = next((v for v in self._open_views.values() if v.get("external_id") == external_id), None)
            if current is None or current["team_id"] != team.id:
                return "not_found"
            if params.get("hash") and params["hash"] != current["hash"]:
                return "hash_conflict"
            return self._keep(params, team, previous=current)

        _methods: ClassVar[dict[str, Any]] = {
            **base._methods,
            "views.open": _views_open,
            "views.push": _views_push,
            "views.update": _views_update,
        }

    return KeepsModals
