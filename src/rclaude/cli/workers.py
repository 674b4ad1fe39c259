"""Worker-side commands: ``worker``, ``orchestrator`` and ``workers`` (list/stop)."""

from __future__ import annotations

import typer

from rclaude.cli import context
from rclaude.cli.render import print_json


def register(app: typer.Typer) -> None:
    @app.command()
    def worker(
        worker_id: str | None = typer.Option(None, "--worker-id", help="Id to register under."),
        burst: bool = typer.Option(False, "--burst", help="Exit as soon as the queue is empty."),
        idle_timeout: float | None = typer.Option(
            None, "--idle-timeout", help="Exit after S idle seconds."
        ),
        concurrency: int | None = typer.Option(None, "--concurrency", help="Tasks run at once."),
        drain_timeout: float | None = typer.Option(
            None, "--drain-timeout", help="SIGTERM grace for running tasks."
        ),
    ) -> None:
        """Run a worker: lease tasks from the queue and run them."""
        import logging
        import sys

        logging.basicConfig(
            level="INFO",
            stream=sys.stderr,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        from rclaude.worker.__main__ import serve

        raise typer.Exit(
            serve(
                worker_id=worker_id,
                idle_timeout=idle_timeout,
                concurrency=concurrency,
                burst=burst,
                drain_timeout=drain_timeout,
            )
        )

    @app.command()
    def orchestrator(
        interval: float | None = typer.Option(None, help="Seconds between reconciles."),
        once: bool = typer.Option(False, "--once", help="Reconcile once and exit."),
        metrics_port: int = typer.Option(
            0, "--metrics-port", help="Serve Prometheus metrics on 127.0.0.1:PORT (0: off)."
        ),
        cloudwatch: bool | None = typer.Option(
            None,
            "--cloudwatch/--no-cloudwatch",
            help="Publish figures to CloudWatch (default: on for the aws backend).",
        ),
    ) -> None:
        """Scale workers to the queue depth (loop)."""
        import logging
        import sys

        logging.basicConfig(
            level="INFO",
            stream=sys.stderr,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        from rclaude.orchestrator.loop import Orchestrator

        p = context.platform()
        orch = Orchestrator(p)
        if once:
            p.service.reap_dead_letters()
            d = orch.reconcile(scale_down=True)
            typer.echo(
                f"depth={orch.figures.depth} workers={orch.figures.workers} "
                f"desired={d.desired} launch={d.launch} stop={d.stop} ({d.reason})"
            )
            return
        if metrics_port:
            from rclaude.orchestrator.metrics import serve_prometheus

            serve_prometheus(orch, metrics_port)
        publish = None
        if cloudwatch if cloudwatch is not None else p.config.backend == "aws":
            from rclaude.orchestrator.metrics import cloudwatch_publisher

            publish = cloudwatch_publisher(p.config)
        orch.run(interval=interval, publish=publish)

    workers_app = typer.Typer(
        help="Inspect and stop workers of the configured backend.", no_args_is_help=True
    )
    app.add_typer(workers_app, name="workers")

    @workers_app.command("list")
    def list_(as_json: bool = typer.Option(False, "--json")) -> None:
        """List workers as the compute backend sees them."""
        p = context.platform()
        ws = p.compute.list()
        if as_json:
            print_json([w.__dict__ for w in ws])
            return
        if not ws:
            typer.echo("no workers")
        for w in ws:
            typer.echo(
                f"{w.id}  {w.backend}  {w.state}  busy {w.busy}/{w.slots}  pid {w.pid or '-'}"
            )

    @workers_app.command("stop")
    def stop_idle() -> None:
        """Stop every idle worker (busy ones are never stopped)."""
        p = context.platform()
        ids = [w.id for w in p.compute.list()]
        stopped = p.compute.stop(ids)
        typer.echo(f"stopped {len(stopped)} idle worker(s)")
