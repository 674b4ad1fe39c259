"""Service ordering: systemd units are installed and started dependencies first."""

from __future__ import annotations

from rclaude.deploy.schema import Service
from rclaude.errors import ValidationError, closest


def dependency_order(services: list[Service], *, file: str | None = None) -> list[Service]:
    """Services sorted so each comes after everything in its ``depends_on``.

    Ties keep the manifest order (stable, so output is deterministic). Raises
    ``ValidationError`` for an unknown dependency, a duplicate name or a cycle (the cycle
    is named in the message).
    """
    by_name: dict[str, Service] = {}
    for s in services:
        if s.name in by_name:
            raise ValidationError(
                f"service '{s.name}' is defined twice",
                code="RC-DEPLOY-030",
                hint="give each service a unique name",
            )
        by_name[s.name] = s
    for s in services:
        for dep in s.depends_on:
            if dep not in by_name:
                guess = closest(dep, list(by_name))
                raise ValidationError(
                    f"service '{s.name}' depends on unknown service '{dep}'",
                    code="RC-DEPLOY-031",
                    hint=f"did you mean '{guess}'?" if guess else "define it under services:",
                )
    done: list[Service] = []
    placed: set[str] = set()
    remaining = list(services)
    while remaining:
        ready = [s for s in remaining if all(d in placed for d in s.depends_on)]
        if not ready:
            raise ValidationError(
                f"service dependency cycle: {' -> '.join(_cycle(remaining))}",
                code="RC-DEPLOY-032",
                hint="remove one depends_on entry of the cycle",
            )
        first = ready[0]
        done.append(first)
        placed.add(first.name)
        remaining.remove(first)
    return done


def _cycle(remaining: list[Service]) -> list[str]:
    """One concrete cycle among ``remaining`` (for the error message)."""
    deps = {s.name: [d for d in s.depends_on] for s in remaining}
    node = remaining[0].name
    path: list[str] = []
    while node not in path:
        path.append(node)
        node = next(d for d in deps[node] if d in deps)
    return path[path.index(node) :] + [node]
