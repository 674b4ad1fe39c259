"""AWS footprint commands: ``init-deployment``, ``cost``, ``check`` and ``aws-workers``.

Thin: parse flags, call :mod:`rclaude.infra` / :mod:`rclaude.compute.aws`, render.
"""

from __future__ import annotations

from pathlib import Path

import typer

from rclaude.cli import context
from rclaude.cli.render import print_json, warn


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def _parse_params(items: list[str]) -> dict[str, str]:
    from rclaude.errors import UsageError

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(
                f"--param {item!r} is not KEY=VALUE",
                code="RC-INFRA-013",
                hint="e.g. --param AllowedCidr=203.0.113.7/32",
            )
        out[key] = value
    return out


def _write_template(path: Path, template: dict) -> None:
    from rclaude import fsutil
    from rclaude.infra.cfn import dumps

    if path.suffix in (".yaml", ".yml"):
        import yaml

        text = yaml.safe_dump(template, sort_keys=False, width=1000)
    else:
        text = dumps(template)
    fsutil.atomic_write(path, text)


def _render_plan(plan) -> None:
    from rich.table import Table

    console = _console()
    if plan.empty:
        console.print(f"stack [bold]{plan.stack_name}[/bold]: no changes")
        return
    how = "computed locally: the stack does not exist" if plan.local else "change set"
    table = Table(title=f"stack {plan.stack_name} — {how}")
    for col in ("action", "resource", "type", "replacement"):
        table.add_column(col)
    for c in plan.changes:
        table.add_row(c.action, c.logical_id, c.resource_type, c.replacement or "")
    console.print(table)


def register(app: typer.Typer) -> None:
    @app.command("init-deployment")
    def init_deployment(
        mode: str = typer.Option("self-hosted", "--mode", help="Deployment mode."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Print template and changes only."),
        destroy: bool = typer.Option(False, "--destroy", help="Delete the stack."),
        template_out: Path | None = typer.Option(
            None, "--template-out", help="Write the template (JSON, or YAML by suffix) and stop."
        ),
        stack_name: str = typer.Option("rclaude", "--stack-name"),
        with_aurora: bool = typer.Option(False, "--with-aurora", help="Aurora PostgreSQL v2."),
        with_redis: bool = typer.Option(False, "--with-redis", help="ElastiCache Redis."),
        region: str | None = typer.Option(None, "--region", help="Default: aws.region."),
        param: list[str] = typer.Option([], "--param", help="Template parameter KEY=VALUE."),
        yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before --destroy."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Provision (or update, or --destroy) the self-hosted AWS footprint."""
        from rclaude.config import user_config_path
        from rclaude.infra import deploy
        from rclaude.infra.template import TemplateOptions

        cfg = context.load()
        req = deploy.DeployRequest(
            mode=mode,
            stack_name=stack_name,
            region=region or cfg.aws.region,
            endpoint_url=cfg.aws.endpoint_url,
            profile=cfg.aws.profile,
            deployment=cfg.aws.deployment,
            options=TemplateOptions(with_aurora=with_aurora, with_redis=with_redis),
            parameters=_parse_params(param),
            dry_run=dry_run,
            config_path=user_config_path(),
        )
        if template_out is not None:
            deploy.validate(req)
            _write_template(template_out, deploy.template_for(req))
            typer.echo(f"wrote {template_out}")
            return
        if destroy:
            if not yes and not typer.confirm(f"Delete stack {stack_name} in {req.region}?"):
                raise typer.Exit(1)
            gone = deploy.destroy_deployment(req)
            typer.echo(f"deleted stack {stack_name}" if gone else f"no stack {stack_name}")
            return
        result = deploy.init_deployment(req)
        if as_json:
            data = result.to_dict()
            if dry_run:
                data["template"] = result.template
            print_json(data)
            return
        if dry_run:
            from rclaude.infra.cfn import dumps

            typer.echo(dumps(result.template), nl=False)
        _render_plan(result.plan)
        if result.config_keys:
            typer.echo(f"updated {result.config_path}: {', '.join(result.config_keys)}")

    @app.command("cost")
    def cost(
        as_json: bool = typer.Option(False, "--json"),
        task_minutes: float = typer.Option(10.0, "--task-minutes", min=0.1),
        offline: bool = typer.Option(False, "--offline", help="Do not ask AWS for spot prices."),
    ) -> None:
        """Estimate cost per mode and per task, and the four scale phases."""
        from rclaude.infra.cost import report

        cfg = context.load()
        ec2 = None
        if not offline:
            try:
                from rclaude import awsutil

                ec2 = awsutil.client(
                    "ec2",
                    region=cfg.aws.region,
                    endpoint_url=cfg.aws.endpoint_url,
                    profile=cfg.aws.profile,
                    max_attempts=2,
                    connect_timeout=3,
                )
            except Exception as exc:
                warn(f"no live spot prices: {exc}")
        data = report(cfg, task_minutes=task_minutes, ec2=ec2)
        if as_json:
            print_json(data)
            return
        _render_cost(data)

    @app.command("check")
    def check(
        backend: str | None = typer.Option(None, "--backend", help="e.g. aws, aws:fargate."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Verify credentials and permissions for a backend (read-only / dry-run calls)."""
        from rclaude.infra.check import check_backend

        items = check_backend(context.load(), backend)
        if as_json:
            print_json([i.to_dict() for i in items])
        else:
            console = _console()
            for i in items:
                mark = "[green]ok[/green]  " if i.ok else "[red]FAIL[/red]"
                console.print(f"{mark} {i.name}: {i.detail}")
                if i.hint and not i.ok:
                    console.print(f"      [yellow]hint:[/yellow] {i.hint}")
        if not all(i.ok for i in items):
            raise typer.Exit(1)

    aws_workers = typer.Typer(
        help="AWS workers: list them by tag, sweep orphans.", no_args_is_help=True
    )
    app.add_typer(aws_workers, name="aws-workers")

    def _compute(mode: str | None):
        from rclaude.compute.aws import AwsCompute

        return AwsCompute(context.load(), {}, mode=mode)

    @aws_workers.command("list")
    def list_workers(
        mode: str | None = typer.Option(None, "--mode", help="Default: aws.mode."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """List this deployment's workers from AWS tags."""
        workers = _compute(mode).list()
        if as_json:
            print_json([w.__dict__ for w in workers])
            return
        if not workers:
            typer.echo("no workers")
        for w in workers:
            d = w.details
            where = d.get("instance_type") or d.get("capacity_provider") or d.get("launch_type")
            typer.echo(f"{w.id}  {w.backend}  {w.state}  {where or '-'}  {d.get('az') or ''}")

    @aws_workers.command("gc")
    def gc(
        mode: str | None = typer.Option(None, "--mode", help="Default: aws.mode."),
        all_modes: bool = typer.Option(False, "--all-modes", help="Sweep every mode."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Only show what would go."),
        grace: float = typer.Option(
            900.0, "--grace", help="Seconds a worker may take to register."
        ),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Remove orphaned workers: stopped instances, idle workers, never-registered ones."""
        from rclaude.config.schema import AWS_MODES

        cfg = context.load()
        known = None
        try:
            from rclaude.platform import Platform

            known = {w.id for w in Platform(cfg).tasks.workers()}
        except Exception as exc:
            warn(f"worker registry unavailable ({exc}); not sweeping unregistered workers")
        modes = list(AWS_MODES) if all_modes else [mode]
        reports = {}
        from rclaude.errors import RclaudeError

        for m in modes:
            try:
                report = _compute(m).sweep(known=known, grace=grace, dry_run=dry_run)
            except RclaudeError as exc:
                if not all_modes:
                    raise
                # e.g. no ECS cluster: the other modes are still swept
                warn(f"{m}: {exc.message}")
                continue
            reports[m or cfg.aws.mode] = report
        if as_json:
            print_json({m: r.__dict__ for m, r in reports.items()})
            return
        verb = "would remove" if dry_run else "removed"
        for m, r in reports.items():
            for wid in r.removed:
                typer.echo(f"{verb} {wid} ({m}): {r.reasons[wid]}")
        total = sum(len(r.removed) for r in reports.values())
        typer.echo(f"{verb} {total} orphaned worker(s)")


def _render_cost(data: dict) -> None:
    from rich.table import Table

    console = _console()
    modes = Table(title=f"AWS modes in {data['region']} (task of {data['task_minutes']:g} min)")
    for col in (
        "mode",
        "worker",
        "USD/h",
        "slots",
        "per task",
        "per task (cold)",
        "USD/month/worker",
        "price",
    ):
        modes.add_column(col, no_wrap=col == "mode")
    for m in data["modes"]:
        modes.add_row(
            m["mode"],
            m["resource"],
            f"{m['hourly']:.4f}",
            str(m["slots"]),
            f"{m['per_task']:.4f}",
            f"{m['per_task_cold']:.4f}",
            f"{m['monthly_per_worker']:.2f}",
            m["price_source"],
        )
    console.print(modes)
    phases = Table(title=f"scale phases (workers in {data['phases_mode']} mode), USD/month")
    for col in (
        "phase",
        "users",
        "tasks",
        "workers",
        "control plane",
        "Aurora ACU",
        "Redis",
        "regions",
        "total",
    ):
        phases.add_column(col, no_wrap=col in ("phase", "total"))
    for p in data["phases"]:
        phases.add_row(
            p["name"],
            f"{p['users']:,}",
            f"{p['concurrent_tasks']:,}",
            f"{p['workers']:,}",
            str(p["control_plane_tasks"]),
            f"{p['aurora_acu']:g}",
            p["redis"],
            str(p["regions"]),
            f"{p['total']:,.0f}",
        )
    console.print(phases)
    console.print("[dim]estimates from list prices; data transfer, EBS and support excluded[/dim]")
