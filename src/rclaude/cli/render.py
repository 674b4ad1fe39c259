"""Rendering helpers shared by all commands: errors, tables, JSON."""

from __future__ import annotations

import json
import sys
from typing import Any

from rclaude.errors import RclaudeError


def print_error(exc: RclaudeError) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console(stderr=True, highlight=False, soft_wrap=True)
    where = f" [dim]({escape(str(exc.where))})[/dim]" if exc.where and str(exc.where) else ""
    console.print(f"[bold red]error[/bold red] [dim]{exc.code}[/dim]: {escape(exc.message)}{where}")
    if exc.hint:
        console.print(f"  [yellow]hint:[/yellow] {escape(exc.hint)}")


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, sort_keys=False) + "\n")


def warn(message: str) -> None:
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"[yellow]warning:[/yellow] {escape(message)}"
    )
