"""What the running app imports is installed by `pip install .` alone (README command 1), not only by the
test extra: a library imported at run time must come from svea_web's own dependencies or theirs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import metadata

from packaging.requirements import Requirement

ROOT_DIST = "svea_web"
# Imported by the app's processes (web, worker, sandbox, supervisor), each in a fresh interpreter.
# Imported only when present (SQLAlchemy 2.1 tries greenlet for asyncio; playwright brings it in here).
OPTIONAL_IMPORTS = {"greenlet"}
ENTRY_MODULES = ("svea_web", "svea_web.sandbox", "svea_web.supervisor", "svea_web.periodic", "worker")


def _runtime_closure() -> set[str]:
    """Every distribution `pip install svea_web` brings in (no extras of svea_web's own)."""
    seen: set[str] = set()
    todo = [(ROOT_DIST, frozenset[str]())]
    while todo:
        name, extras = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen and not extras:
            continue
        seen.add(key)
        for raw in metadata.requires(name) or []:
            requirement = Requirement(raw)
            if requirement.marker is not None and not any(
                requirement.marker.evaluate({"extra": extra}) for extra in (extras or {""})
            ):
                continue
            if name == ROOT_DIST and requirement.marker is not None:
                continue  # svea_web's own extras (test)
            todo.append((requirement.name, frozenset(requirement.extras)))
    return seen


def _imported_distributions() -> set[str]:
    """The distributions whose modules a fresh interpreter holds after the app has started up."""
    script = (
        "import sys, json\n"
        "from importlib import metadata\n"
        "from svea_web import create_app\n"
        "app = create_app({'TESTING': True, 'SQLALCHEMY_DATABASE_URI': 'sqlite://', 'SECRET_KEY': 'x',\n"
        "                  'ENCRYPTION_KEYS': 'kQ1xWkzRRW0BBYz6p3yE-fJg_3DSOpT1VLeZG-ShwxI='})\n"
        f"for name in {ENTRY_MODULES!r}: __import__(name)\n"
        "with app.test_request_context(): app.test_client().get('/login')\n"
        "owners = metadata.packages_distributions()\n"
        "top = {m.split('.')[0] for m in list(sys.modules)}\n"
        "print(json.dumps(sorted({d for t in top for d in owners.get(t, [])})))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    return {re.sub(r"[-_.]+", "-", name).lower() for name in json.loads(out.stdout.strip().splitlines()[-1])}


def test_every_library_the_app_imports_is_a_runtime_dependency() -> None:
    closure = _runtime_closure()
    missing = sorted(_imported_distributions() - closure - OPTIONAL_IMPORTS - {"svea-web"})
    assert not missing, f"imported at run time but not installed by `pip install .`: {missing}"
