"""Benchmark: create 100 spot instances across 5 regions on a moto server, then re-run.

Prints ONE JSON line: wall time of the first create, AWS API calls per instance, and
the converged re-run's wall time, calls and mutating calls (expected: 0).

    .venv/bin/python bench/deploy_fleet.py [--instances 100] [--regions 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REGIONS = [
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "sa-east-1",
    "ca-central-1",
]
AMZN = "/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-gp2"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--instances", type=int, default=100)
    ap.add_argument("--regions", type=int, default=5)
    args = ap.parse_args()

    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from tests.support.moto_server import moto_server

    from rclaude.deploy import deployer
    from rclaude.deploy.aws import AwsContext
    from rclaude.deploy.discovery import discover
    from rclaude.deploy.plan import prepare

    regions = REGIONS[: args.regions]
    per, extra = divmod(args.instances, len(regions))
    with moto_server() as url, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "bench"
        (root / ".spot").mkdir(parents=True)
        (root / "deployment").mkdir()
        (root / "deployment/setup.sh").write_text("#!/bin/bash\necho bench\n")
        (root / "secrets").mkdir()
        (root / "secrets/token").write_text("t\n")
        lines = [
            f"  - {{name: {r}, count: {per + (1 if i < extra else 0)}, "
            f"instance_type: [t3.micro, t3a.micro]}}"
            for i, r in enumerate(regions)
        ]
        (root / ".spot/config.yaml").write_text(
            "aws:\n  deployment_name: bench\n  allowed_cidrs: [198.51.100.7/32]\n"
            f"  endpoint_url: {url}\n  image_parameter: {AMZN}\nregions:\n"
            + "\n".join(lines)
            + "\n"
        )

        plan = prepare(discover(root))
        ctx = AwsContext(endpoint_url=url)
        t0 = time.perf_counter()
        first = deployer.create(plan, ctx)
        create_s = time.perf_counter() - t0
        launched = sum(len(r["instances"]) for r in first.regions.values())

        ctx2 = AwsContext(endpoint_url=url)
        t0 = time.perf_counter()
        deployer.create(prepare(discover(root)), ctx2)
        rerun_s = time.perf_counter() - t0

    print(
        json.dumps(
            {
                "benchmark": "deploy_fleet",
                "instances": launched,
                "regions": len(regions),
                "create_wall_s": round(create_s, 3),
                "create_api_calls": ctx.total_calls,
                "api_calls_per_instance": round(ctx.total_calls / max(launched, 1), 3),
                "create_mutating_calls": sum(ctx.mutating_calls.values()),
                "run_instances_calls": ctx.calls.get("ec2:RunInstances", 0),
                "rerun_wall_s": round(rerun_s, 3),
                "rerun_api_calls": ctx2.total_calls,
                "rerun_mutating_calls": sum(ctx2.mutating_calls.values()),
            }
        )
    )


if __name__ == "__main__":
    main()
