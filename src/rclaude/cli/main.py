"""Entry points for ``rclaude`` and ``spot-deployer``.

Each room registers its commands from its own module (``register(app)``); adding a
room is one line in ``COMMAND_MODULES``. Library errors (``RclaudeError``) are mapped
to exit codes here and printed without a traceback unless ``--debug``.
"""

from __future__ import annotations

import importlib
import os
import sys

import typer

from rclaude.cli.state import STATE as _STATE

COMMAND_MODULES = (
    "rclaude.cli.tasks",
    "rclaude.cli.config_cmd",
    "rclaude.cli.workers",
    "rclaude.cli.server",
    "rclaude.cli.db",
    "rclaude.cli.deploy",
    "rclaude.cli.infra",
)


def new_app(name: str, help: str) -> typer.Typer:
    """A top-level Typer app with the house settings (no completion install, no pretty
    tracebacks: errors are rendered by :func:`run_app`)."""
    return typer.Typer(
        name=name,
        help=help,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )


def build_app() -> typer.Typer:
    app = new_app(
        "rclaude", "Run commands and coding-agent tasks on cloud compute, with live output."
    )

    @app.callback()
    def _root(
        debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
    ) -> None:
        _STATE["debug"] = debug or bool(os.environ.get("RCLAUDE_DEBUG"))

    @app.command()
    def version() -> None:
        """Print the rclaude version."""
        from rclaude import __version__

        typer.echo(f"rclaude {__version__}")

    for name in COMMAND_MODULES:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # a room not built yet
                continue
            raise
        mod.register(app)
    return app


def split_command(argv: list[str]) -> tuple[list[str], list[str] | None]:
    """For ``rclaude run … -- CMD …``: the options part and the command after ``--``."""
    sub = next((a for a in argv if not a.startswith("-")), None)
    if sub == "run" and "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1 :]
    return argv, None


def run_app(app: typer.Typer, prog: str, argv: list[str] | None = None) -> int:
    from rclaude.errors import RclaudeError

    argv = list(sys.argv[1:] if argv is None else argv)
    argv, command = split_command(argv)
    _STATE["command"] = command
    try:
        rv = app(args=argv, prog_name=prog, standalone_mode=False)
        return rv if isinstance(rv, int) else 0
    except RclaudeError as exc:
        if _STATE["debug"]:
            import traceback

            traceback.print_exc()
        from rclaude.cli.render import print_error

        print_error(exc)
        return exc.exit_code
    except SystemExit as exc:  # typer.Exit / sys.exit inside commands
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        for mod in _click_exception_modules():
            if isinstance(exc, getattr(mod, "NoArgsIsHelpError", ())):
                return 0  # the help text has been shown
            if isinstance(exc, getattr(mod, "Abort", ())):
                return 130
            if isinstance(exc, getattr(mod, "ClickException", ())):
                exc.show()
                return 64 if isinstance(exc, getattr(mod, "UsageError", ())) else exc.exit_code
            if isinstance(exc, getattr(mod, "Exit", ())):
                return exc.exit_code
        if _STATE["debug"]:
            raise
        print(f"internal error: {exc!r} (run with --debug for the traceback)", file=sys.stderr)
        return 70


def _click_exception_modules() -> list:
    """Click's exception classes: typer may bundle its own copy of click besides the
    standalone package, and either may raise."""
    mods = []
    for name in ("typer._click.exceptions", "click.exceptions"):
        try:
            mods.append(importlib.import_module(name))
        except ImportError:
            pass
    return mods


def main() -> None:
    sys.exit(run_app(build_app(), "rclaude"))


def spot_deployer_main() -> None:
    try:
        from rclaude.cli.deploy import build_deploy_app
    except ModuleNotFoundError:
        print("spot-deployer: deploy any project to AWS spot instances (not built yet)")
        sys.exit(0)
    sys.exit(run_app(build_deploy_app(), "spot-deployer"))


if __name__ == "__main__":
    main()
