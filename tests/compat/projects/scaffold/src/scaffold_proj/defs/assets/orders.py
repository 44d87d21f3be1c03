import trellis as dg


@dg.asset(group_name="sales")
def raw_orders(warehouse: dg.ResourceParam[dict]) -> list[dict]:
    """Orders as the warehouse holds them."""
    return list(warehouse["orders"])


@dg.asset(group_name="sales")
def order_totals(context: dg.AssetExecutionContext, raw_orders: list[dict]) -> dict:
    """Revenue per region."""
    totals: dict[str, float] = {}
    for order in raw_orders:
        totals[order["region"]] = totals.get(order["region"], 0.0) + order["amount"]
    context.log.info(f"{len(totals)} regions")
    return totals
