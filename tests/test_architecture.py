"""The package graph, read from the source with `ast`: which part of the bot may import which.

Direction: `web → delivery → slack → (qtvoice, store, phone, config, runtime, telephony,
directory)`, nothing pointing back up, and the sandbox (the fake QTvoice and Slack) reachable
only from the demo and the CLI. Imports inside functions count the same as the ones on top.
Test modules import what they share from `tests.helpers` and `tests.conftest`, never from
each other.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[1] / "bot"
MAY_IMPORT_SANDBOX = {"bot.demo", "bot.__main__"}


def module_name(path: Path) -> str:
    parts = path.relative_to(BOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> Iterator[str]:
    """Every `bot…` module `path` imports, absolute; `from bot import x` names `bot.x`."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "bot":
                yield from (f"bot.{alias.name}" for alias in node.names)
            else:
                yield node.module


def bot_imports() -> dict[str, set[str]]:
    """Module name → the `bot` modules it imports."""
    return {
        module_name(path): {name for name in imported_modules(path) if name.startswith("bot.")}
        for path in sorted(BOT.rglob("*.py"))
    }


def part(module: str) -> str:
    """The top-level package or module of `bot` a module belongs to: `bot.slack.blocks` → `slack`."""
    return module.split(".")[1] if module.count(".") else module


def part_graph(imports: dict[str, set[str]]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, targets in imports.items():
        edges = graph.setdefault(part(module), set())
        edges.update(part(target) for target in targets if part(target) != part(module))
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as the path that closes it (`[a, b, a]`), or None."""
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in visiting:
            return [*visiting[visiting.index(node) :], node]
        if node in done:
            return None
        visiting.append(node)
        for target in sorted(graph.get(node, ())):
            if cycle := visit(target):
                return cycle
        visiting.pop()
        done.add(node)
        return None

    for start in sorted(graph):
        if cycle := visit(start):
            return cycle
    return None


@pytest.fixture(scope="module")
def imports() -> dict[str, set[str]]:
    return bot_imports()


def test_the_walk_sees_the_bots_imports(imports: dict[str, set[str]]) -> None:
    assert "bot.slack.blocks.notifications" in imports["bot.delivery.notifier"]
    assert "bot.phone" in imports["bot.slack.blocks.kit"]


def test_no_two_parts_of_the_bot_import_each_other_even_through_others(
    imports: dict[str, set[str]],
) -> None:
    assert find_cycle(part_graph(imports)) is None


def test_find_cycle_reports_a_cycle_through_a_third_part() -> None:
    graph = {"web": {"slack"}, "slack": {"delivery"}, "delivery": {"web"}}
    assert find_cycle(graph) == ["delivery", "web", "slack", "delivery"]


def test_slack_listeners_import_neither_the_worker_nor_the_web_app(
    imports: dict[str, set[str]],
) -> None:
    upward = {
        f"{module} → {target}"
        for module, targets in imports.items()
        if part(module) == "slack"
        for target in targets
        if part(target) in {"delivery", "web", "services", "scheduler"}
    }
    assert upward == set()


def test_the_foundations_import_nothing_built_on_them(imports: dict[str, set[str]]) -> None:
    foundations = {"qtvoice", "store", "phone", "config", "logs"}
    built_on_them = {
        "runtime", "directory", "telephony", "slack", "delivery", "reconcile",
        "scheduler", "services", "web", "checks", "operations", "demo", "__main__",
    }  # fmt: skip
    upward = {
        f"{module} → {target}"
        for module, targets in imports.items()
        if part(module) in foundations
        for target in targets
        if part(target) in built_on_them
    }
    assert upward == set()


def test_only_the_demo_and_the_cli_import_the_sandbox(imports: dict[str, set[str]]) -> None:
    outside = {
        f"{module} → {target}"
        for module, targets in imports.items()
        if part(module) != "sandbox" and module not in MAY_IMPORT_SANDBOX
        for target in targets
        if part(target) == "sandbox"
    }
    assert outside == set()


LISTENERS = "bot.slack.listeners"


def is_listener(module: str) -> bool:
    """A listener module, or their package (`from bot.slack.listeners import home`)."""
    return module == LISTENERS or module.startswith(LISTENERS + ".")


def listener_imports(imports: dict[str, set[str]]) -> set[str]:
    """`a → b` for each listener module `a` importing another listener module `b`."""
    return {
        f"{module} → {target}"
        for module, targets in imports.items()
        if module.startswith(LISTENERS + ".")
        for target in targets
        if is_listener(target) and target != module
    }


def test_no_listener_imports_another_listener(imports: dict[str, set[str]]) -> None:
    """What two surfaces share lives below them in `bot.slack`, never in one of them."""
    assert any(module.startswith(LISTENERS + ".") for module in imports)
    assert listener_imports(imports) == set()


def test_a_listener_importing_another_is_caught() -> None:
    """The control: the check above can fail."""
    imports = {
        "bot.slack.listeners.actions": {"bot.slack.listeners.home", "bot.slack.tell"},
        "bot.slack.listeners.home": {"bot.slack.app_home"},
    }
    assert listener_imports(imports) == {"bot.slack.listeners.actions → bot.slack.listeners.home"}


TESTS = BOT.parent / "tests"
SHARED_BY_TESTS = ("tests.helpers", "tests.conftest")


def imported_from_tests(module: str, source: str) -> set[str]:
    """The `tests…` modules and names the test module `module` (its `source`) imports, absolute:
    a relative import is resolved, and `from a import b` names both `a` and `a.b`."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            package = module.split(".")[: -node.level] if node.level else []
            base = ".".join([*package, *([node.module] if node.module else [])])
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in names if name.startswith("tests.")}


def imports_of_other_tests(imports: dict[str, set[str]]) -> set[str]:
    """`a → b` for each test module `a` importing `b` from under `tests` but outside what tests
    share (`tests.helpers`, `tests.conftest`): a helper two tests use lives there, not in one."""
    return {
        f"{module} → {target}"
        for module, targets in imports.items()
        for target in targets
        if not any(
            target == shared or target.startswith(shared + ".") for shared in SHARED_BY_TESTS
        )
    }


def test_no_test_module_imports_another_test_module() -> None:
    imports = {
        module_name(path): imported_from_tests(module_name(path), path.read_text(encoding="utf-8"))
        for path in sorted(TESTS.rglob("test_*.py"))
    }
    assert "tests.helpers.slack" in imports["tests.slack.test_actions"]
    assert imports_of_other_tests(imports) == set()


def test_a_test_module_importing_another_is_caught() -> None:
    """The control: the check above can fail, on absolute and relative imports alike."""
    source = (
        "from tests.conftest import RunningBot\n"
        "from tests.helpers.slack import click\n"
        "from tests import test_cli\n"
        "from .test_actions import answer\n"
        "def f():\n"
        "    import tests.test_delivery\n"
    )
    imported = imported_from_tests("tests.slack.test_home", source)
    assert imports_of_other_tests({"tests.slack.test_home": imported}) == {
        "tests.slack.test_home → tests.test_cli",
        "tests.slack.test_home → tests.slack.test_actions",
        "tests.slack.test_home → tests.slack.test_actions.answer",
        "tests.slack.test_home → tests.test_delivery",
    }
