"""``preview``: the plan plus an hourly cost estimate from current spot prices."""

from __future__ import annotations

from rclaude.deploy.plan import DeploymentPlan


def preview(plan: DeploymentPlan, ctx=None) -> dict:
    """The plan as data, with ``cost`` per region when ``ctx`` (AWS access) is given.

    The estimate uses the cheapest current spot price of each region's first instance
    type (what ``create`` tries first). Without AWS access ``cost`` is None.
    """
    out = plan.to_dict()
    if ctx is None:
        out["cost"] = None
        return out
    from rclaude.deploy.deployer import spot_prices

    regions = []
    total = 0.0
    for r in plan.project.config.regions:
        prices = spot_prices(ctx, r.name, r.instance_types)
        price = prices.get(r.instance_types[0])
        hourly = None if price is None else round(price * r.count, 6)
        total += hourly or 0.0
        regions.append(
            {
                "region": r.name,
                "instance_type": r.instance_types[0],
                "spot_price": price,
                "count": r.count,
                "usd_per_hour": hourly,
            }
        )
    out["cost"] = {"regions": regions, "usd_per_hour": round(total, 6)}
    return out
