"""``spot-deployer`` / ``rclaude deploy``: parse, call :mod:`rclaude.deploy`, render.

No deployment logic lives here. Every command validates the project completely before
any AWS call; ``--json`` output never contains secret values.
"""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from rclaude.cli.render import print_json, warn

log = logging.getLogger("rclaude.deploy")
_OPTS: dict = {"deployment_dir": None, "manifest": None, "quiet": False, "project": None}


def _console():
    from rich.console import Console

    return Console(stderr=False, highlight=False, quiet=_OPTS["quiet"])


def _project():
    from rclaude.deploy.discovery import discover

    start = _OPTS["project"] or Path.cwd()
    project = discover(start, deployment_dir=_OPTS["deployment_dir"], manifest=_OPTS["manifest"])
    for w in project.warnings:
        if not _OPTS["quiet"]:
            warn(w)
        log.warning(w)
    for f in project.found:
        log.info("discovered %s", f)
    return project


def _plan(project, *, fetch_remote: bool = True, check_schema: bool = False):
    from rclaude.deploy.plan import prepare

    return prepare(project, fetch_remote=fetch_remote, check_schema=check_schema)


def _ctx(project):
    from rclaude.deploy.aws import AwsContext

    return AwsContext(endpoint_url=project.config.aws.endpoint_url)


def build_deploy_app() -> typer.Typer:
    from rclaude.cli.main import new_app

    app = new_app(
        "spot-deployer", "Deploy any project to AWS spot instances from conventions or a manifest."
    )

    @app.callback()
    def _root(
        deployment_dir: Path = typer.Option(
            None, "--deployment-dir", help="Convention directory (default deployment/)."
        ),
        manifest: Path = typer.Option(
            None, "--manifest", help="Manifest file (default .spot/deployment.yaml)."
        ),
        project: Path = typer.Option(None, "--project", "-C", help="Project directory."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors and results."),
        log_file: Path = typer.Option(None, "--log-file", help="Append a detailed log here."),
    ) -> None:
        _OPTS.update(deployment_dir=deployment_dir, manifest=manifest, quiet=quiet, project=project)
        previous = _OPTS.pop("log_handler", None)
        if previous is not None:  # one log file per invocation (matters in-process)
            log.removeHandler(previous)
            previous.close()
        if log_file:
            handler = logging.FileHandler(log_file)
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
            log.addHandler(handler)
            log.setLevel(logging.INFO)
            _OPTS["log_handler"] = handler

    @app.command()
    def version() -> None:
        """Print the version."""
        from rclaude import __version__

        typer.echo(f"spot-deployer (rclaude) {__version__}")

    @app.command()
    def init(
        stack: str = typer.Option(
            "basic", "--stack", help="basic, python, node, compose or multi-service."
        ),
    ) -> None:
        """Scaffold .spot/config.yaml and a starter deployment/ (never overwrites)."""
        from rclaude.deploy.discovery import slug
        from rclaude.deploy.templates import init as do_init

        root = (_OPTS["project"] or Path.cwd()).resolve()
        report = do_init(root, stack, slug(root.name))
        c = _console()
        for f in report["created"]:
            c.print(f"[green]created[/green] {f}")
        for f in report["skipped"]:
            c.print(f"[yellow]kept existing[/yellow] {f}")
        c.print("next steps:")
        for i, step in enumerate(report["next_steps"], 1):
            c.print(f"  {i}. {step}")

    @app.command()
    def validate(json_out: bool = typer.Option(False, "--json")) -> None:
        """Check everything (files, paths, services, tarball, user-data) without AWS."""
        from rclaude.cloudinit import validator_available

        project = _project()
        schema = validator_available()
        plan = _plan(project, check_schema=schema)
        result = {
            "valid": True,
            "deployment_id": plan.deployment_id,
            "mode": project.mode,
            "discovered": project.found,
            "warnings": project.warnings,
            "cloud_init_schema": "checked" if schema else "skipped (cloud-init missing)",
        }
        if json_out:
            print_json(result)
            return
        c = _console()
        for f in project.found:
            c.print(f"[dim]found[/dim] {f}")
        c.print(
            f"[green]valid[/green] {project.mode} project, deployment {plan.deployment_id}; "
            f"cloud-init schema {result['cloud_init_schema']}"
        )

    @app.command()
    def preview(
        json_out: bool = typer.Option(False, "--json"),
        offline: bool = typer.Option(False, "--offline", help="Skip spot prices (no AWS call)."),
    ) -> None:
        """Files, services, packages, estimated boot time and cost per hour."""
        from rclaude.deploy.cost import preview as do_preview

        project = _project()
        plan = _plan(project)
        data = do_preview(plan, None if offline else _ctx(project))
        if json_out:
            print_json(data)
            return
        _render_plan(data)

    @app.command()
    def create(
        dry_run: bool = typer.Option(False, "--dry-run", help="Show the plan; no AWS call."),
        json_out: bool = typer.Option(False, "--json"),
    ) -> None:
        """Create or converge the deployment (idempotent)."""
        from rclaude.deploy import deployer, hooks

        project = _project()
        plan = _plan(project)
        if dry_run:
            data = plan.to_dict()
            print_json(data) if json_out else _render_plan(data)
            return
        hooks.run_local(project, "pre")
        try:
            result = _with_progress(
                [r.name for r in project.config.regions],
                lambda progress: deployer.create(plan, _ctx(project), progress=progress),
            )
        except Exception:
            hooks.run_local(project, "error")
            raise
        hooks.run_local(project, "post")
        log.info(
            "create finished: %s",
            {k: len(v.get("instances", [])) for k, v in result.regions.items()},
        )
        if json_out:
            print_json(result.to_dict())
            return
        c = _console()
        for region, info in result.regions.items():
            c.print(
                f"[bold]{region}[/bold]: {len(info['instances'])} instance(s), "
                f"launched {len(info['launched'])}, terminated {len(info['terminated'])}"
            )
        if not result.mutating_calls:
            c.print("[green]already converged[/green]: no change made")

    @app.command(name="list")
    def list_cmd(json_out: bool = typer.Option(False, "--json")) -> None:
        """Deployments found by their tags in the configured regions."""
        from rclaude.deploy import deployer

        project = _project()
        regions = [r.name for r in project.config.regions]
        data = deployer.list_deployments(_ctx(project), regions)
        if json_out:
            print_json(data)
            return
        from rich.table import Table

        t = Table("deployment", "region", "instances")
        for did, per in sorted(data.items()):
            for region, n in sorted(per.items()):
                t.add_row(did, region, str(n))
        _console().print(t)

    @app.command()
    def status(json_out: bool = typer.Option(False, "--json")) -> None:
        """Each instance's boot phase, first failure and log tail (refreshed from AWS)."""
        from rclaude.deploy import deployer

        project = _project()
        cfg = project.config
        data = deployer.status(
            _ctx(project),
            project.root,
            project.deployment_id,
            [r.name for r in cfg.regions],
            home_region=cfg.regions[0].name,
            bucket=cfg.aws.bucket,
            username=cfg.aws.username,
        )
        if json_out:
            print_json(data)
            return
        from rich.table import Table

        t = Table("region", "instance", "ip", "state", "boot phase", "boot state")
        for region, rows in data.items():
            for r in rows:
                t.add_row(
                    region,
                    r["id"],
                    r.get("public_ip") or "-",
                    r["state"] or "-",
                    r["phase"],
                    r["boot_state"],
                )
        c = _console()
        c.print(t)
        for rows in data.values():
            for r in rows:
                if r.get("failed_phase"):
                    c.print(f"[red]{r['id']} failed in {r['failed_phase']}[/red]")
                    for line in r.get("log_tail") or []:
                        c.print(f"  {line}", markup=False)

    @app.command()
    def destroy(
        deployment_id: str = typer.Option(
            None, "--deployment-id", help="Destroy this id (default: this project's)."
        ),
        region: list[str] = typer.Option(
            None,
            "--region",
            help="Regions to clean (default: the config's; the first holds the bucket and secret).",
        ),
        endpoint_url: str = typer.Option(None, "--endpoint-url", hidden=True),
        yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
        json_out: bool = typer.Option(False, "--json"),
    ) -> None:
        """Remove only this deployment's instances, network, S3 objects, secret and role."""
        from rclaude.deploy import deployer, hooks
        from rclaude.deploy.aws import AwsContext
        from rclaude.errors import UsageError

        project = None
        if not (deployment_id and region):
            project = _project()
        did = deployment_id or project.deployment_id
        regions = list(region or [r.name for r in project.config.regions])
        if not regions:
            raise UsageError(
                "no region to destroy in", code="RC-DEPLOY-091", hint="pass --region (repeatable)"
            )
        if not yes and not typer.confirm(f"destroy deployment {did}?"):
            raise typer.Exit(1)
        cfg = project.config if project else None
        ctx = AwsContext(endpoint_url=endpoint_url or (cfg.aws.endpoint_url if cfg else None))
        report = deployer.destroy(
            ctx, did, regions, home_region=regions[0], bucket=cfg.aws.bucket if cfg else None
        )
        if project is not None and did == project.deployment_id:
            hooks.run_local(project, "cleanup")
        if json_out:
            print_json(report)
            return
        c = _console()
        for name, items in report.items():
            c.print(f"[bold]{name}[/bold]: {len(items)} resource(s) deleted")

    @app.command()
    def migrate(
        rollback: bool = typer.Option(False, "--rollback", help="Undo the last migration."),
    ) -> None:
        """Convert a legacy layout (config.yaml + instance/) to .spot/ (with a backup)."""
        from rclaude.deploy import legacy

        root = (_OPTS["project"] or Path.cwd()).resolve()
        report = legacy.rollback(root) if rollback else legacy.migrate(root)
        print_json(report)

    @app.command()
    def schema(
        out_dir: Path = typer.Option(None, "--out", help="Write *.schema.json here."),
    ) -> None:
        """Export JSON Schemas of .spot/config.yaml and .spot/deployment.yaml."""
        import json

        from rclaude.deploy.schema import json_schemas
        from rclaude.fsutil import atomic_write

        schemas = json_schemas()
        if out_dir is None:
            print_json(schemas)
            return
        for name, doc in schemas.items():
            stem = Path(name).name.replace(".yaml", "")
            atomic_write(out_dir / f"spot-{stem}.schema.json", json.dumps(doc, indent=2))

    return app


def _with_progress(regions: list[str], run):
    """Run ``run(progress)`` with one Rich progress line per region."""
    if _OPTS["quiet"]:
        return run(lambda region, msg: log.info("%s: %s", region, msg))
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    # Progress goes to stderr so stdout stays clean for --json.
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as bar:
        tasks = {r: bar.add_task(f"{r}: waiting", total=None) for r in regions}

        def progress(region: str, message: str) -> None:
            log.info("%s: %s", region, message)
            if region in tasks:
                bar.update(tasks[region], description=f"{region}: {message}")

        return run(progress)


def _render_plan(data: dict) -> None:
    c = _console()
    c.print(f"[bold]deployment[/bold] {data['deployment_id']} ({data['mode']})")
    for r in data["regions"]:
        c.print(f"  {r['name']}: {r['count']} x {'/'.join(r['instance_types'])}")
    c.print(f"packages: {', '.join(data['packages']) or '-'}")
    c.print(
        f"files: {len(data['files'])} ({data['bundle']['bytes']} bytes bundle, "
        f"{data['bundle']['delivery']})"
    )
    c.print(f"scripts: {', '.join(data['scripts']) or '-'}")
    c.print(f"services (start order): {', '.join(data['services']) or '-'}")
    c.print(f"secrets: {data['secrets']['count']} file(s)")
    c.print(f"ingress: {', '.join(data['allowed_cidrs'])}")
    c.print(f"estimated boot time: ~{data['estimated_boot_seconds']} s")
    cost = data.get("cost")
    if cost:
        c.print(f"estimated cost: ${cost['usd_per_hour']}/hour")


def register(app: typer.Typer) -> None:
    """Mount the deployer as ``rclaude deploy``."""
    app.add_typer(build_deploy_app(), name="deploy")
