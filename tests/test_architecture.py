"""The import rules of ARCHITECTURE.md, kept by walking every module's imports (function-local ones included):
no import cycle; a lower layer never imports a higher one; domain code imports no Flask and no HTTP module; no
blueprint imports another."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Domain layers, lowest first: a module may import its own layer and the ones below, never one above.
LAYERS = [
    {"backend", "backend.db", "backend.money", "backend.errors", "backend.clock", "backend.config", "backend.irs",
     "backend.memory",
     "backend.events"},
    {"backend.audit", "backend.outbox", "backend.jobs"},
    {"backend.identity"},
    {"backend.plans"},
    {"backend.accounts"},
    {"backend.enrollment"},
    # Plan documents sit below payroll: a plan's first pay run waits for its signed adoption agreement.
    {"backend.documents"},
    {"backend.payroll"},
    {"backend.compliance"},
    {"backend.billing", "notifications"},
    # Oversight reads every package below (documents and billing status included) for the staff's views.
    {"backend.oversight"},
]
# Above every domain layer: HTTP, the composition root, the command line, the demo, the schema registry.
TOP = {"backend.web", "backend.wiring", "backend.app", "backend.cli", "backend.demo", "backend.models", "mobile_api"}
PACKAGES = ("backend", "mobile_api", "notifications")
FLASK = ("flask", "flask_smorest", "werkzeug")
# Schemas describe the API's shapes on marshmallow (not Flask) with the web layer's schema base and pagination.
SCHEMA_HELPERS = {"backend.web.schema", "backend.web.pagination"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, at any depth of the file (a `from x import y` may name module x.y)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


MODULES = {module_name(p): p for base in PACKAGES for p in (ROOT / base).rglob("*.py")}
GRAPH = {name: {i for i in imports_of(path) if i in MODULES} for name, path in MODULES.items()}


def test_imports_are_absolute():
    """A relative import would slip past every rule here: the project writes each import in full."""
    relative = sorted(name for name, path in MODULES.items() for node in ast.walk(ast.parse(path.read_text()))
                      if isinstance(node, ast.ImportFrom) and node.level > 0)
    assert not relative, relative


def unit_of(module: str) -> str:
    """The layer unit a module belongs to: its package under backend (backend.plans), or a top-level module."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "backend" else parts[0]


def is_blueprint(module: str) -> bool:
    """A blueprint module: `api.py`, or `<subject>_api.py` where a package has several (oversight's people_api)."""
    last = module.split(".")[-1]
    return "." in module and (last == "api" or last.endswith("_api"))


def is_http(module: str) -> bool:
    return unit_of(module) in TOP or is_blueprint(module)


def rank(module: str) -> int | None:
    unit = unit_of(module)
    return next((i for i, layer in enumerate(LAYERS) if unit in layer), None)


def test_every_package_has_a_layer():
    assert all(is_http(m) or rank(m) is not None for m in MODULES), \
        sorted(m for m in MODULES if not is_http(m) and rank(m) is None)


def test_there_is_no_import_cycle():
    cycles, state = [], {}

    def visit(module, stack):
        state[module] = "open"
        for target in sorted(GRAPH[module]):
            if state.get(target) == "open":
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target, stack + [target])
        state[module] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    assert not cycles, cycles


@pytest.mark.parametrize("module", sorted(m for m in MODULES if not is_http(m)))
def test_domain_modules_import_only_their_layer_and_below(module):
    higher = sorted(target for target in GRAPH[module]
                    if not is_http(target) and unit_of(target) != unit_of(module) and rank(target) > rank(module))
    assert not higher, f"{module} reaches up to {higher}: publish an event, or move the code up"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if not is_http(m)))
def test_domain_modules_import_no_flask_and_no_http_module(module):
    allowed = SCHEMA_HELPERS if module.endswith((".schemas", "_schemas")) else set()
    http = sorted(t for t in GRAPH[module] if is_http(t) and t not in allowed)
    flask = sorted(i for i in imports_of(MODULES[module]) if i.split(".")[0] in FLASK)
    assert not http and not flask, (http, flask)


def test_no_blueprint_imports_another():
    blueprints = {m for m in MODULES if is_blueprint(m)}
    crossing = {m: sorted(GRAPH[m] & (blueprints - {m})) for m in blueprints}
    assert not any(crossing.values()), crossing


def test_the_web_layer_imports_no_blueprint():
    web = [m for m in MODULES if unit_of(m) == "backend.web"]
    assert not [(m, t) for m in web for t in GRAPH[m] if is_blueprint(t)]
