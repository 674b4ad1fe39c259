"""``rclaude config show|backend|set|schema|path`` and ``rclaude migrate``.

Thin: each command parses, calls :mod:`rclaude.config`, renders. The interactive
backend picker is the one piece of UI logic here (numbered choices on a TTY).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer

from rclaude.cli.render import print_json, warn
from rclaude.errors import UsageError

_PROJECT_HELP = "Write .rclaude.yaml (nearest one, or in this directory) instead of the user file."


def _target(project: bool) -> Path:
    from rclaude.config.loader import project_target, user_config_path

    return project_target(Path.cwd()) if project else user_config_path()


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def show(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")):
    """Show the effective configuration and where every value comes from."""
    from rclaude.config import load_config
    from rclaude.config import show as view

    loaded = load_config(cwd=Path.cwd())
    for message in loaded.warnings:
        warn(message)
    if as_json:
        print_json(view.as_json(loaded))
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("key", "value", "source"):
        table.add_column(column, overflow="fold")
    for row in view.rows(loaded):
        value = row.value if isinstance(row.value, str) else json.dumps(row.value)
        style = "dim" if row.source == "default" else ""
        table.add_row(escape(row.key), escape(value), escape(row.source), style=style)
    _console().print(table)


def _pick(console, title: str, options: dict[str, str], prompt: str) -> str:
    """Numbered picker: accepts the number or the name; asks again on anything else."""
    console.print(f"[bold]{title}[/bold]")
    names = list(options)
    for i, name in enumerate(names, 1):
        console.print(f"  {i}) [cyan]{name:<10}[/cyan] {options[name]}")
    while True:
        answer = console.input(f"{prompt} [1-{len(names)}]: ").strip()
        if answer.isdigit() and 1 <= int(answer) <= len(names):
            return names[int(answer) - 1]
        if answer in options:
            return answer
        console.print(f"[red]choose a number from 1 to {len(names)} or a name[/red]")


def backend(
    provider: str | None = typer.Argument(None, help="codespace, aws, fly or local."),
    mode: str | None = typer.Option(None, "--mode", help="AWS mode: ec2, ecs, shared, fargate."),
    project: bool = typer.Option(False, "--project", help=_PROJECT_HELP),
):
    """Choose where workers run: a provider, then (for aws) a mode."""
    from rclaude.config import backends, set_backend

    console = _console()
    if provider is None:
        if not sys.stdin.isatty():
            raise UsageError(
                "no provider given and stdin is not a terminal; choices:\n"
                + backends.choices_text(),
                code="RC-USAGE-010",
                hint="for example: rclaude config backend aws --mode ecs",
            )
        provider = _pick(console, "Where should workers run?", backends.PROVIDER_INFO, "Provider")
        if provider == "aws" and mode is None:
            mode = _pick(console, "How should AWS run them?", backends.MODE_INFO, "Mode")
    target = _target(project)
    choice = set_backend(target, provider, mode)
    if choice.warning:
        warn(choice.warning)
    console.print(f"[bold]{choice.summary}[/bold]  (written to {target})")
    console.print(f"Next: {choice.next_step}")


def set_(
    key: str = typer.Argument(..., help="Dotted key, e.g. aws.ec2.instanceType."),
    value: str = typer.Argument(..., help="Value, read as YAML: 3, true, [a, b], null."),
    project: bool = typer.Option(False, "--project", help=_PROJECT_HELP),
):
    """Set one key in the user file (or .rclaude.yaml), validated before writing."""
    from rclaude.config import legacy, set_value

    target = _target(project)
    set_value(target, key, value)
    if key == "backend" and legacy.is_legacy_backend(value):
        warn(f"backend '{value}' is deprecated: written as {legacy.new_form(value)}")
    _console().print(f"set {key} = {value} in {target}")


def schema(out: Path | None = typer.Option(None, "--out", help="Write to FILE instead of stdout.")):
    """Print the JSON Schema of the config files (for editors)."""
    from rclaude import fsutil
    from rclaude.config import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if out is None:
        sys.stdout.write(text)
        return
    fsutil.atomic_write(out, text, mode=0o644)
    _console().print(
        f"wrote {out}  (first line of a config file: "
        f"# yaml-language-server: $schema={out.absolute()})"
    )


def path():
    """Print the config files rclaude reads, in the order they apply."""
    from rclaude.config.loader import config_files

    for f in config_files(Path.cwd()):
        state = "" if f.exists else "  (not found)"
        typer.echo(f"{f.layer:<8} {f.path}{state}")
    if os.environ.get("RCLAUDE_CONFIG"):
        typer.echo("(user file set by RCLAUDE_CONFIG)")


def migrate(
    file: Path | None = typer.Option(None, "--file", help="Migrate this file only."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would change; write nothing."),
):
    """Rewrite legacy backend names in config files (keeps a .bak backup)."""
    from rclaude.config import migrate_file
    from rclaude.config.loader import config_files

    paths = [file] if file else [f.path for f in config_files(Path.cwd()) if f.exists]
    if not paths:
        typer.echo("no config files found: nothing to migrate")
        return
    for p in paths:
        typer.echo(migrate_file(p, dry_run=dry_run).summary)


def register(app: typer.Typer) -> None:
    config_app = typer.Typer(help="Show and change the configuration (user file, .rclaude.yaml).")

    @config_app.callback(invoke_without_command=True)
    def _help_without_subcommand(ctx: typer.Context) -> None:
        # Plain help and exit 0 (no_args_is_help raises a usage error instead).
        if ctx.invoked_subcommand is None:
            typer.echo(ctx.get_help())

    config_app.command("show")(show)
    config_app.command("backend")(backend)
    config_app.command("set")(set_)
    config_app.command("schema")(schema)
    config_app.command("path")(path)
    app.add_typer(config_app, name="config")
    app.command("migrate")(migrate)
