"""The quickstart project: three assets over a CSV of orders, a resource with config, a
custom IO manager that writes JSON, and an op job that turns the summary into a report.

The JSON IO manager writes under ``$QUICKSTART_OUTPUT_DIR`` (default: ``output/`` next to
this file). Port to Dagster by replacing ``trellis`` with ``dagster`` in the imports.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

from trellis import (
    AssetExecutionContext,
    Config,
    ConfigurableIOManager,
    ConfigurableResource,
    Definitions,
    In,
    InputContext,
    OpExecutionContext,
    OutputContext,
    asset,
    define_asset_job,
    job,
    op,
)

HERE = Path(__file__).parent
OUTPUT_DIR = os.environ.get("QUICKSTART_OUTPUT_DIR") or str(HERE / "output")


class OrdersSource(ConfigurableResource):
    """Where the raw orders come from: a CSV file."""

    path: str = str(HERE / "data" / "orders.csv")

    def read_rows(self) -> list[dict[str, str]]:
        """Every row of the CSV as a dict."""
        with open(self.path, newline="") as f:
            return list(csv.DictReader(f))


class JsonIOManager(ConfigurableIOManager):
    """Stores each asset as a JSON file under ``base_dir`` (one file per asset key)."""

    base_dir: str

    def _path(self, context: OutputContext | InputContext) -> Path:
        key = context.asset_key if context.asset_key is not None else None
        parts = key.path if key is not None else [context.step_key, context.name]
        return Path(self.base_dir).joinpath(*parts).with_suffix(".json")

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        path = self._path(context)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(obj, indent=2, sort_keys=True))
        context.add_output_metadata({"path": str(path), "bytes": path.stat().st_size})

    def load_input(self, context: InputContext) -> Any:
        return json.loads(self._path(context.upstream_output).read_text())


@asset(group_name="sales", kinds={"csv"}, owners=["data@example.com"])
def raw_orders(context: AssetExecutionContext, orders: OrdersSource) -> list[dict[str, Any]]:
    """Every order from the CSV, numbers parsed."""
    rows = [
        {
            "order_id": int(r["order_id"]),
            "region": r["region"],
            "product": r["product"],
            "quantity": int(r["quantity"]),
            "unit_price": float(r["unit_price"]),
            "status": r["status"],
        }
        for r in orders.read_rows()
    ]
    context.add_output_metadata({"rows": len(rows)})
    return rows


class CleaningConfig(Config):
    """Which order statuses count as revenue."""

    keep_statuses: list[str] = ["shipped"]


@asset(group_name="sales")
def shipped_orders(
    context: AssetExecutionContext, config: CleaningConfig, raw_orders: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Orders whose status counts as revenue, with their amount."""
    kept = [
        {**o, "amount": round(o["quantity"] * o["unit_price"], 2)}
        for o in raw_orders
        if o["status"] in config.keep_statuses
    ]
    context.log.info("kept %d of %d orders", len(kept), len(raw_orders))
    context.add_output_metadata({"rows": len(kept), "dropped": len(raw_orders) - len(kept)})
    return kept


@asset(group_name="sales", io_manager_key="json_io_manager")
def revenue_by_region(
    context: AssetExecutionContext, shipped_orders: list[dict[str, Any]]
) -> dict[str, float]:
    """Revenue per region, written as JSON by the custom IO manager."""
    totals: dict[str, float] = {}
    for order in shipped_orders:
        totals[order["region"]] = round(totals.get(order["region"], 0.0) + order["amount"], 2)
    context.add_output_metadata({"regions": len(totals), "total": round(sum(totals.values()), 2)})
    return dict(sorted(totals.items()))


@op(ins={"summary": In(asset_key=revenue_by_region.key, input_manager_key="json_io_manager")})
def load_summary(summary: dict[str, float]) -> dict[str, float]:
    """Read the summary asset back through the JSON IO manager."""
    return summary


@op(config_schema={"title": str})
def format_report(context: OpExecutionContext, summary: dict[str, float]) -> str:
    """A small text report of the summary."""
    width = max(len(r) for r in summary)
    lines = [context.op_config["title"], "=" * len(context.op_config["title"])]
    lines += [f"{region:<{width}}  {amount:>9.2f}" for region, amount in summary.items()]
    lines.append(f"{'total':<{width}}  {sum(summary.values()):>9.2f}")
    context.log.info("report has %d regions", len(summary))
    return "\n".join(lines)


@job(config={"ops": {"format_report": {"config": {"title": "Revenue by region"}}}})
def report_job() -> None:
    """Turn the revenue summary into a text report."""
    format_report(load_summary())


sales_job = define_asset_job(
    "sales_job", selection="*", description="Materialize the sales assets."
)

defs = Definitions(
    assets=[raw_orders, shipped_orders, revenue_by_region],
    jobs=[sales_job, report_job],
    resources={
        "orders": OrdersSource(),
        "json_io_manager": JsonIOManager(base_dir=OUTPUT_DIR),
    },
)
