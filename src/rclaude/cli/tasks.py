"""Task commands: run, list, status, logs, attach, stop, results."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import typer

from rclaude.cli import context
from rclaude.cli.render import print_json
from rclaude.cli.state import STATE as _STATE
from rclaude.errors import UsageError

_STATE_STYLE = {
    "queued": "cyan",
    "starting": "cyan",
    "running": "blue",
    "succeeded": "green",
    "failed": "red",
    "cancelled": "yellow",
    "timed_out": "magenta",
    "lost": "red",
}


def _ago(ts: float | None) -> str:
    if not ts:
        return "-"
    d = time.time() - ts
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if d >= size:
            return f"{int(d // size)}{unit} ago"
    return f"{int(d)}s ago"


def _dur(task) -> str:
    d = task.duration
    return "-" if d is None else (f"{d:.1f}s" if d < 60 else f"{int(d // 60)}m{int(d % 60):02d}s")


def _parse_env(pairs: list[str]) -> dict[str, str]:
    env = {}
    for pair in pairs or []:
        if "=" not in pair or pair.startswith("="):
            raise UsageError(
                f"--env expects KEY=VALUE, got {pair!r}",
                code="RC-USAGE-003",
                hint="for example: --env DEBUG=1",
            )
        k, v = pair.split("=", 1)
        env[k] = v
    return env


def _on_idle(svc):
    reconcile = getattr(svc, "reconcile", None)
    return (lambda: reconcile()) if reconcile else None


def register(app: typer.Typer) -> None:
    @app.command(context_settings={"allow_interspersed_args": True})
    def run(
        name: str | None = typer.Argument(None, help="Optional task name (e.g. task-1)."),
        detach: bool = typer.Option(False, "--detach", "-d", help="Print the task id and return."),
        timeout: float | None = typer.Option(
            None, help="Kill the command after this many seconds."
        ),
        env: list[str] = typer.Option(
            None, "--env", "-e", help="KEY=VALUE for the command (repeatable)."
        ),
        backend: str | None = typer.Option(
            None, help="Compute provider for this task: local, aws, fly, codespace."
        ),
        aws_mode: str | None = typer.Option(
            None, "--aws-mode", help="AWS mode for this task: ec2, ecs, shared, fargate."
        ),
        no_pty: bool = typer.Option(
            False, "--no-pty", help="Run with pipes instead of a terminal (byte-exact output)."
        ),
        no_sync: bool = typer.Option(
            False, "--no-sync", help="Do not upload the project directory."
        ),
        project: Path = typer.Option(
            Path("."), "--project", "-C", help="Project directory to snapshot."
        ),
        max_attempts: int | None = typer.Option(
            None, help="Deliveries before the task is dead-lettered."
        ),
        prompt: str | None = typer.Option(
            None, help="Run the configured coding agent with this prompt."
        ),
        repo: str | None = typer.Option(None, help="Git repository the agent works on."),
        branch: str | None = typer.Option(None, help="Base branch for --repo."),
        auto_commit: bool | None = typer.Option(
            None,
            "--auto-commit/--no-auto-commit",
            help="Commit the agent's changes on rclaude/<task>.",
        ),
        push: bool | None = typer.Option(None, "--push/--no-push", help="Push the task branch."),
        pull_request: bool | None = typer.Option(
            None,
            "--pull-request/--no-pull-request",
            help="Open a pull request (implies --auto-commit --push).",
        ),
        notify: bool = typer.Option(False, "--notify", help="Send the configured notifications."),
        as_json: bool = typer.Option(
            False, "--json", help="With --detach: print the task as JSON."
        ),
    ) -> None:
        """Run a command (after --) or an agent prompt as a task and stream its output."""
        from rclaude.model import TaskSpec

        command = _STATE.get("command") or []
        overrides: dict = {}
        if backend:
            overrides["backend"] = backend
        if aws_mode:
            overrides.setdefault("aws", {})["mode"] = aws_mode
            if not backend:
                overrides["backend"] = "aws"
        cfg = context.load(overrides)
        if not command and not prompt:
            raise UsageError(
                "no command given",
                code="RC-USAGE-002",
                hint="put the command after '--', e.g. rclaude run -- make test",
            )
        cols, rows = _term_size()
        extra: dict = {"notify": True} if notify else {}
        if pull_request:
            auto_commit = push = True if auto_commit is None else auto_commit
            push = True if push is None else push
        for key, value in (
            ("auto_commit", auto_commit),
            ("push", push),
            ("pull_request", pull_request),
        ):
            if value is not None:
                extra[key] = value
        if repo:
            no_sync = True  # the workspace is the clone, not this directory
        spec = TaskSpec(
            command=tuple(command),
            name=name,
            env=_parse_env(env),
            timeout=timeout or cfg.tasks.timeout,
            pty=cfg.tasks.pty and not no_pty,
            cols=cols,
            rows=rows,
            max_attempts=max_attempts or cfg.tasks.max_attempts,
            backend=cfg.backend,
            aws_mode=cfg.aws.mode if cfg.backend == "aws" else None,
            prompt=prompt,
            repo=repo,
            branch=branch,
            extra=extra,
        )
        from rclaude.platform import Platform

        svc = context.service(overrides) if cfg.server.url else Platform(cfg).service
        proj = None if no_sync else project.resolve()
        if proj is not None and not proj.is_dir():
            raise UsageError(f"project directory {project} does not exist", code="RC-USAGE-004")
        task = svc.submit(spec, project=proj)
        if detach:
            if as_json:
                print_json(task.to_dict())
            else:
                typer.echo(task.id)
            return
        from rclaude.cli import terminal

        if sys.stdin.isatty() and sys.stdout.isatty():
            code = terminal.attach(svc, task, on_idle=_on_idle(svc))
        else:
            code = terminal.stream(svc, task, on_idle=_on_idle(svc))
        raise typer.Exit(0 if code is None else code)

    @app.command("list")
    def list_(
        all_: bool = typer.Option(False, "--all", "-a", help="Include finished tasks."),
        limit: int = typer.Option(50, help="At most this many tasks."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """List tasks (active ones unless --all)."""
        from rclaude.model import ACTIVE_STATES

        svc = context.service()
        tasks = svc.list(states=None if all_ else ACTIVE_STATES, limit=limit)
        if as_json:
            print_json([t.to_dict() for t in tasks])
            return
        from rich.console import Console
        from rich.table import Table

        table = Table(box=None, header_style="bold")
        for col in ("ID", "NAME", "STATE", "ATTEMPT", "EXIT", "CREATED", "DURATION"):
            table.add_column(col, no_wrap=True)
        table.add_column("COMMAND", no_wrap=True, overflow="ellipsis", max_width=50)
        for t in tasks:
            style = _STATE_STYLE.get(t.state.value, "")
            cmd = " ".join(t.spec.command) if t.spec.command else f"(agent) {t.spec.prompt or ''}"
            table.add_row(
                t.id,
                t.name or "",
                f"[{style}]{t.state.value}[/]",
                str(t.attempt),
                "" if t.exit_code is None else str(t.exit_code),
                _ago(t.created_at),
                _dur(t),
                cmd[:60],
            )
        Console().print(
            table if tasks else "[dim]no tasks (use --all to include finished ones)[/dim]"
        )

    @app.command()
    def status(
        task_ref: str = typer.Argument(..., metavar="TASK"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Show one task: state, attempts, exit code, timing, changes."""
        svc = context.service()
        task = svc.get(task_ref)
        attempts = svc.attempts(task)
        if as_json:
            d = task.to_dict()
            d["attempts"] = [a.__dict__ | {"state": a.state.value} for a in attempts]
            print_json(d)
            return
        from rich.console import Console

        c = Console(highlight=False)
        style = _STATE_STYLE.get(task.state.value, "")
        c.print(f"[bold]{task.id}[/bold] {task.name or ''}")
        c.print(
            f"  state:    [{style}]{task.state.value}[/]"
            + (f" ({task.reason})" if task.reason else "")
        )
        c.print(f"  command:  {' '.join(task.spec.command) or task.spec.prompt}")
        c.print(f"  attempt:  {task.attempt} of at most {task.spec.max_attempts}")
        if task.exit_code is not None or task.signal:
            c.print(
                f"  exit:     {task.exit_code if task.signal is None else 'signal ' + str(task.signal)}"
            )
        c.print(f"  created:  {_ago(task.created_at)}   duration: {_dur(task)}")
        if task.worker_id:
            c.print(f"  worker:   {task.worker_id}")
        for a in attempts:
            c.print(
                f"  attempt {a.number}: {a.state.value}" + (f" — {a.reason}" if a.reason else "")
            )
        if task.result:
            r = task.result
            c.print(
                f"  changes:  {len(r.get('added', []))} added, {len(r.get('modified', []))} "
                f"modified, {len(r.get('deleted', []))} deleted"
            )
            if r.get("pull_request"):
                c.print(f"  pull request: {r['pull_request']}")
            agent = r.get("agent") or {}
            if agent.get("cost_usd") is not None or agent.get("tokens"):
                c.print(
                    f"  agent:    {agent.get('tool_calls', 0)} tool calls, tokens {agent.get('tokens')}, "
                    f"cost ${agent.get('cost_usd')}"
                )

    @app.command()
    def logs(
        task_ref: str = typer.Argument(..., metavar="TASK"),
        follow: bool = typer.Option(
            False, "--follow", "-f", help="Keep streaming until the task ends."
        ),
        attempt: int | None = typer.Option(None, help="Attempt number (default: the latest)."),
        as_json: bool = typer.Option(False, "--json", help="One JSON object per chunk."),
    ) -> None:
        """Print a task's output (of one attempt)."""
        svc = context.service()
        task = svc.get(task_ref)
        if as_json:
            # One JSON object per chunk; for agent tasks, the parsed agent events follow
            # the chunk they were completed in ({"kind": "agent", "event": {...}}).
            chunks = (
                (ev.chunk for ev in svc.follow(task, attempt=attempt) if ev.chunk)
                if follow
                else svc.read(task, attempt)
            )
            parser = None
            if task.spec.prompt:
                from rclaude.agent import StreamParser

                parser = StreamParser()
            for ch in chunks:
                sys.stdout.write(
                    json.dumps(
                        {
                            "seq": ch.seq,
                            "kind": ch.kind.value,
                            "ts": ch.ts,
                            "data": ch.data.decode("utf-8", "replace"),
                        }
                    )
                    + "\n"
                )
                if parser is not None:
                    events = parser.feed(ch.data) if ch.kind.value == "out" else parser.finish()
                    for ev in events:
                        sys.stdout.write(
                            json.dumps({"seq": ch.seq, "kind": "agent", "event": ev.to_dict()})
                            + "\n"
                        )
                sys.stdout.flush()
            return
        if follow:
            from rclaude.cli import terminal

            code = terminal.stream(svc, task, attempt=attempt, on_idle=_on_idle(svc))
            raise typer.Exit(0 if code is None else code)
        out = sys.stdout.buffer
        for ch in svc.read(task, attempt):
            if ch.kind.value == "out":
                out.write(ch.data)
        out.flush()

    @app.command()
    def attach(
        task_ref: str = typer.Argument(..., metavar="TASK"),
        no_replay: bool = typer.Option(False, "--no-replay", help="Skip earlier output."),
    ) -> None:
        """Attach this terminal to a running task (Ctrl-] detaches)."""
        from rclaude.cli import terminal

        svc = context.service()
        task = svc.get(task_ref)
        code = terminal.attach(svc, task, replay=not no_replay, on_idle=_on_idle(svc))
        raise typer.Exit(0 if code is None else code)

    @app.command()
    def stop(task_ref: str = typer.Argument(..., metavar="TASK")) -> None:
        """Cancel a task: queued ones never start, running ones are killed."""
        svc = context.service()
        task = svc.cancel(task_ref)
        typer.echo(
            f"{task.id}: {task.state.value}"
            + (" (cancel requested)" if not task.state.terminal else "")
        )

    @app.command()
    def results(
        task_ref: str = typer.Argument(..., metavar="TASK"),
        download: Path | None = typer.Option(None, "--download", help="Write changed files here."),
        apply_deletions: bool = typer.Option(
            False, help="With --download: delete removed files too."
        ),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Show (and optionally download) the files a task added, modified and deleted."""
        svc = context.service()
        task = svc.get(task_ref)
        r = task.result
        if r is None:
            from rclaude.errors import ConflictError

            raise ConflictError(
                f"task {task.id} has no results yet ({task.state.value})",
                code="RC-TASK-007",
                hint="wait for it to finish: rclaude logs -f",
            )
        if as_json:
            print_json(r | {"pull_request": (task.result or {}).get("pull_request")})
        else:
            for mark, key in (("A", "added"), ("M", "modified"), ("D", "deleted")):
                for rel in r.get(key, []):
                    typer.echo(f"{mark} {rel}")
            git = r.get("git") or {}
            if git.get("branch"):
                typer.echo(
                    f"branch: {git['branch']}"
                    + (f" @ {git['commit'][:12]}" if git.get("commit") else "")
                )
            for err in git.get("errors", []):
                typer.echo(f"git error: {err}", err=True)
            if r.get("pull_request"):
                typer.echo(f"pull request: {r['pull_request']}")
            if not (r.get("added") or r.get("modified") or r.get("deleted") or git):
                typer.echo("no changes")
        if download is not None and r.get("snapshot"):
            written = svc.download_results(task, download, apply_deletions=apply_deletions)
            typer.echo(f"wrote {len(written)} file(s) to {download}", err=True)


def _term_size() -> tuple[int, int]:
    try:
        size = os.get_terminal_size(sys.stdout.fileno())
        return size.columns, size.lines
    except OSError:
        return 80, 24
