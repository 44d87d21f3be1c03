"""The external script of Dagster's Pipes subprocess tutorial, with ``dagster_pipes`` →
``trellis_pipes`` (the orders are a list instead of a pandas DataFrame)."""

from trellis_pipes import PipesContext, open_dagster_pipes


def main():
    orders = [{"order_id": 1, "item_id": 432}, {"order_id": 2, "item_id": 878}]
    total_orders = len(orders)
    # get the Dagster Pipes context
    context = PipesContext.get()
    # send log messages back to Dagster
    context.log.info(f"processing {total_orders} orders")
    # extras and environment variables, as the reference shows them
    region = context.extras.get("region", "all")
    # send structured metadata back to Dagster
    context.report_asset_materialization(
        metadata={"total_orders": total_orders, "region": region},
        data_version="alpha",
    )


if __name__ == "__main__":
    # connect to Dagster Pipes
    with open_dagster_pipes():
        main()
