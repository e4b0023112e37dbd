"""An import-linter contract type the built-in ones lack: "only the standard library".

``lint-imports`` (configured in pyproject.toml, run by .ci/run) loads it from here. The
built-in ``forbidden`` contract lists what may not be imported; the hall's domain rule is the
other way round — everything but the standard library and the domain itself is forbidden.
"""

from __future__ import annotations

import sys
from typing import Any

from importlinter import Contract, ContractCheck, fields, output


def _within(name: str, packages: list[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


class StdlibOnlyContract(Contract):
    """The source packages import only the standard library and themselves."""

    type_name = "stdlib_only"

    source_modules = fields.ListField(subfield=fields.ModuleField())

    def check(self, graph: Any, verbose: bool) -> ContractCheck:
        """Find every direct import of a source module that leaves the allowed set."""
        sources = [module.name for module in self.source_modules]  # type: ignore[attr-defined]
        bad: list[tuple[str, str]] = []
        for source in sources:
            for module in sorted({source} | graph.find_descendants(source)):
                for imported in sorted(graph.find_modules_directly_imported_by(module)):
                    top = imported.split(".")[0]
                    if not _within(imported, sources) and top not in sys.stdlib_module_names:
                        bad.append((module, imported))
        return ContractCheck(kept=not bad, metadata={"imports": bad})

    def render_broken_contract(self, check: ContractCheck) -> None:
        """List each import that is not the standard library."""
        for importer, imported in check.metadata["imports"]:
            output.print_error(f"{importer} imports {imported}", bold=False)
