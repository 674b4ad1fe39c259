"""``rclaude db upgrade`` / ``rclaude db current``: TaskStore schema migrations."""

from __future__ import annotations

import typer

from rclaude.cli import context
from rclaude.cli.render import print_json


def _url() -> str:
    cfg = context.load()
    if cfg.database == "sqlite":
        data = cfg.resolved_data_dir()
        data.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{data / 'rclaude.db'}"
    return cfg.database


def _safe(url: str) -> str:
    """The URL without its password, for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def register(app: typer.Typer) -> None:
    db = typer.Typer(help="Task database schema: migrate and inspect.", no_args_is_help=True)
    app.add_typer(db, name="db")

    @db.command()
    def upgrade(
        revision: str = typer.Option("head", help="Target revision."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Migrate the task database (config 'database') to the newest schema."""
        from rclaude import migrations

        url = _url()
        before = migrations.current(url)
        after = migrations.upgrade(url, revision)
        if as_json:
            print_json({"database": _safe(url), "from": before, "to": after})
        else:
            typer.echo(f"{_safe(url)}: {before or 'unversioned'} -> {after}")

    @db.command()
    def current(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
        """Show the database's schema revision and the newest one available."""
        from rclaude import migrations

        url = _url()
        rev, head = migrations.current(url), migrations.head()
        if as_json:
            print_json(
                {"database": _safe(url), "current": rev, "head": head, "up_to_date": rev == head}
            )
        else:
            state = "up to date" if rev == head else "run `rclaude db upgrade`"
            typer.echo(f"{_safe(url)}: {rev or 'unversioned'} (head {head}, {state})")
