"""The reference's multi-asset script: one materialization per asset key."""

from trellis_pipes import PipesContext, open_dagster_pipes

if __name__ == "__main__":
    with open_dagster_pipes():
        context = PipesContext.get()
        context.report_asset_materialization(asset_key="orders", metadata={"rows": 2})
        context.report_asset_materialization(asset_key="users", metadata={"rows": 5})
