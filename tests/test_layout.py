"""The layout's rules, read from the source with `ast`: a change that breaks one fails here.

- `storage/` imports nothing from `bot/`.
- The edges (`bot.slack`, `bot.whatconverts`) import nothing from the capabilities built on them.
- Message builders are pure: nothing they reach does I/O or holds a session.
- `Services` holds collaborators: its module writes nothing to the database.
- No module imports itself back through others (type-only imports count too: they are how a
  circle starts).
- Every module says what it is for; one over 400 lines says why it is one module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "storage")
EDGES = ("bot.slack", "bot.whatconverts")
BUILT_ON_EDGES = ("bot.alerts", "bot.commands", "bot.home", "bot.connect", "bot.listeners", "bot.web", "bot.cli")
BUILT_ON_EDGES += ("bot.app", "bot.scheduler", "bot.sandbox")
BUILDERS = (
    "bot.alerts.cards",
    "bot.alerts.changes",
    "bot.alerts.claim_messages",
    "bot.alerts.speed",
    "bot.alerts.value_modal",
    "bot.alerts.digest_messages",
    "bot.alerts.escalation_messages",
    "bot.commands.help_messages",
    "bot.commands.lead_messages",
    "bot.commands.subscription_messages",
    "bot.connect.messages",
    "bot.connect.settings_messages",
    "bot.home.view",
    "bot.home.modals",
    "bot.home.modal_states",
    "bot.slack.blocks",
    "bot.slack.messages",
    "bot.slack.views",
    "bot.web.pages",
)
# What a pure builder must never reach: the process's collaborators, a session, a network client.
IMPURE = ("bot.services", "storage.db", "storage.batching", "sqlalchemy.ext.asyncio", "aiohttp", "httpx")
IMPURE += ("slack_sdk.web", "slack_bolt")
# What a builder may take from storage itself: rows as the database returns them.
DATA = ("storage.models", "storage.types")
LONG = 400
LONG_REASON = "Why one module:"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def sources() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


@cache
def tree(name: str) -> ast.Module:
    return ast.parse(sources()[name].read_text(), filename=str(sources()[name]))


def imported(name: str) -> set[str]:
    """Every module `name` imports, anywhere in it (top level, functions, `TYPE_CHECKING`)."""
    found: set[str] = set()
    package = name if sources()[name].name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree(name)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                # `from bot.alerts import webhooks` imports the module `bot.alerts.webhooks`.
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in sources() else base)
    return found


def internal(name: str) -> set[str]:
    return {m for m in imported(name) if m in sources()}


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def reachable(start: str, *, through: tuple[str, ...] = ("bot",)) -> set[str]:
    seen: set[str] = set()
    stack = [start]
    while stack:
        for dep in imported(stack.pop()):
            if dep not in seen:
                seen.add(dep)
                if dep in sources() and within(dep, through):
                    stack.append(dep)
    return seen


def test_storage_imports_nothing_from_bot() -> None:
    offending = {
        n: sorted(within_bot)
        for n in sources()
        if n.startswith("storage") and (within_bot := {m for m in imported(n) if within(m, ("bot",))})
    }
    assert offending == {}


def test_the_edges_import_nothing_built_on_them() -> None:
    offending = {
        name: sorted(m for m in imported(name) if within(m, BUILT_ON_EDGES))
        for name in sources()
        if within(name, EDGES)
    }
    assert {k: v for k, v in offending.items() if v} == {}


@pytest.mark.parametrize("builder", BUILDERS)
def test_message_builders_reach_nothing_that_does_io(builder: str) -> None:
    assert builder in sources(), "a builder named here was moved or renamed: update BUILDERS"
    assert sorted(m for m in reachable(builder) if within(m, IMPURE)) == []
    assert sorted(m for m in imported(builder) if within(m, ("storage",)) and not within(m, DATA)) == []


def test_services_holds_collaborators_not_domain_logic() -> None:
    storage_used = {m for m in imported("bot.services") if within(m, ("storage",))}
    assert storage_used <= {"storage.batching"}, "Services queries the database: move that to its capability"
    calls = {
        node.func.attr
        for node in ast.walk(tree("bot.services"))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert not calls & {"execute", "sessions", "begin", "commit"}


def cycles() -> Iterator[list[str]]:
    graph = {name: sorted(internal(name)) for name in sources()}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> Iterator[list[str]]:
        state[node] = 1
        path.append(node)
        for dep in graph[node]:
            if state.get(dep) == 1:
                yield [*path[path.index(dep) :], dep]
            elif dep not in state:
                yield from visit(dep)
        path.pop()
        state[node] = 2

    for name in graph:
        if name not in state:
            yield from visit(name)


def test_no_import_circles() -> None:
    assert [" -> ".join(c) for c in cycles()] == []


def test_every_module_says_what_it_is_for() -> None:
    silent = [n for n in sources() if not n.startswith("storage.migrations") and not ast.get_docstring(tree(n))]
    assert silent == []


def test_a_long_module_says_why_it_is_one_module() -> None:
    long = {n: len(p.read_text().splitlines()) for n, p in sources().items() if len(p.read_text().splitlines()) > LONG}
    unexplained = [n for n in long if LONG_REASON not in (ast.get_docstring(tree(n)) or "")]
    assert unexplained == [], f"over {LONG} lines without {LONG_REASON!r} in the docstring: {long}"


def test_the_rules_see_real_imports() -> None:
    """The checks above read what they claim to: known edges of today's code are found."""
    assert "bot.services" in internal("bot.alerts.webhooks")
    assert "bot.alerts.webhooks" in internal("bot.app")  # `from bot.alerts import webhooks`
    assert "bot.slack.blocks" in internal("bot.sandbox.blockkit") or "bot.sandbox.slack" in internal(
        "bot.sandbox.signing"
    )  # relative imports resolve
    assert within("bot.alerts.cards", ("bot.alerts",)) and not within("bot.alertsx", ("bot.alerts",))
