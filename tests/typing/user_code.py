"""User-style code that tests/typing/test_typing_surface.py runs mypy over: every decorator,
bare and called, must give its definition type (never ``Any``).

``assert_type`` makes mypy fail on a wrong type; ``reveal_type`` lines are read back by the
test, which compares each revealed type with the one named in the comment on its line.
The test also runs this file: the typed forms must be the forms that work.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import assert_type, reveal_type

import trellis
from trellis import (
    AssetExecutionContext,
    AssetKey,
    AssetOut,
    AssetsDefinition,
    Config,
    GraphDefinition,
    HookContext,
    HookDefinition,
    InitLoggerContext,
    IOManager,
    IOManagerDefinition,
    JobDefinition,
    LoggerDefinition,
    OpDefinition,
    ResourceDefinition,
    RunRequest,
    ScheduleDefinition,
    SensorDefinition,
    asset,
    failure_hook,
    graph,
    graph_asset,
    graph_multi_asset,
    io_manager,
    job,
    logger,
    multi_asset,
    op,
    resource,
    schedule,
    sensor,
    success_hook,
)


class Limits(Config):
    """A typed config."""

    limit: int = 10


@asset
def raw_orders() -> list[int]:
    return [1, 2, 3]


@asset(name="orders", key_prefix=["sales"], group_name="sales", deps=[raw_orders])
def orders(context: AssetExecutionContext, raw_orders: list[int], config: Limits) -> int:
    return sum(raw_orders[: config.limit])


@multi_asset(outs={"a": AssetOut(), "b": AssetOut()})
def pair() -> tuple[int, int]:
    return 1, 2


@op
def one() -> int:
    return 1


@op(name="add_one", tags={"kind": "math"})
def add_one(x: int) -> int:
    return x + 1


@graph_asset
def graph_total(raw_orders: object) -> object:
    return add_one(raw_orders)


@graph_asset(name="prefixed_total", key_prefix=["sales"], group_name="sales")
def prefixed_total(raw_orders: object) -> object:
    return add_one(raw_orders)


@graph_multi_asset(outs={"c": AssetOut(), "d": AssetOut()})
def graph_pair(raw_orders: object) -> object:
    return {"c": add_one(raw_orders), "d": add_one.alias("add_d")(raw_orders)}


@graph
def chain() -> None:
    add_one(one())


@graph(name="named_chain")
def named_chain() -> None:
    add_one(one())


@job
def plain_job() -> None:
    add_one(one())


@job(name="tagged_job", tags={"team": "data"})
def tagged_job() -> None:
    chain()


@resource
def client() -> str:
    return "client"


@resource(config_schema={"url": str})
def configured_client(context: trellis.InitResourceContext) -> str:
    return str(context.resource_config["url"])


@resource({"url": str})
def positional_schema_client(context: trellis.InitResourceContext) -> str:
    return str(context.resource_config["url"])


class MemoryIO(IOManager):
    """Keeps values in a dict."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    def handle_output(self, context: trellis.OutputContext, obj: object) -> None:
        self.values[str(context.step_key)] = obj

    def load_input(self, context: trellis.InputContext) -> object:
        return self.values


@io_manager
def memory_io() -> MemoryIO:
    return MemoryIO()


@io_manager(config_schema={"root": str})
def rooted_io(context: trellis.InitResourceContext) -> MemoryIO:
    return MemoryIO()


@sensor(job=plain_job)
def every_tick() -> Iterator[RunRequest]:
    yield RunRequest(run_key=None)


@sensor
def bare_sensor() -> None:
    return None


@schedule("0 0 * * *", job=tagged_job)
def nightly() -> dict[str, object]:
    return {}


@success_hook
def bare_hook(context: HookContext) -> None:
    context.log.info(context.step_key)


@failure_hook(required_resource_keys={"pager"})
def paging_hook(context: HookContext) -> None:
    context.resources.pager.page(str(context.op_exception))


@failure_hook("named_hook")
def named_hook(context: HookContext) -> None:
    pass


@logger
def bare_logger(init_context: InitLoggerContext) -> logging.Logger:
    return logging.Logger("bare")


@logger({"level": str}, description="configured")
def configured_logger(init_context: InitLoggerContext) -> logging.Logger:
    return logging.Logger("configured", init_context.logger_config["level"])


key = AssetKey(["sales", "orders"])
defs = trellis.Definitions(assets=[raw_orders, orders, pair], jobs=[plain_job])

assert_type(raw_orders, AssetsDefinition)
assert_type(orders, AssetsDefinition)
assert_type(pair, AssetsDefinition)
assert_type(one, OpDefinition)
assert_type(add_one, OpDefinition)
assert_type(chain, GraphDefinition)
assert_type(named_chain, GraphDefinition)
assert_type(plain_job, JobDefinition)
assert_type(tagged_job, JobDefinition)
assert_type(client, ResourceDefinition)
assert_type(configured_client, ResourceDefinition)
assert_type(positional_schema_client, ResourceDefinition)
assert_type(memory_io, IOManagerDefinition)
assert_type(rooted_io, IOManagerDefinition)
assert_type(every_tick, SensorDefinition)
assert_type(bare_sensor, SensorDefinition)
assert_type(nightly, ScheduleDefinition)
assert_type(bare_hook, HookDefinition)
assert_type(paging_hook, HookDefinition)
assert_type(named_hook, HookDefinition)
assert_type(bare_logger, LoggerDefinition)
assert_type(configured_logger, LoggerDefinition)

reveal_type(raw_orders)  # AssetsDefinition
reveal_type(orders)  # AssetsDefinition
reveal_type(pair)  # AssetsDefinition
reveal_type(graph_total)  # AssetsDefinition
reveal_type(prefixed_total)  # AssetsDefinition
reveal_type(graph_pair)  # AssetsDefinition
reveal_type(one)  # OpDefinition
reveal_type(add_one)  # OpDefinition
reveal_type(chain)  # GraphDefinition
reveal_type(named_chain)  # GraphDefinition
reveal_type(plain_job)  # JobDefinition
reveal_type(tagged_job)  # JobDefinition
reveal_type(client)  # ResourceDefinition
reveal_type(configured_client)  # ResourceDefinition
reveal_type(positional_schema_client)  # ResourceDefinition
reveal_type(memory_io)  # IOManagerDefinition
reveal_type(rooted_io)  # IOManagerDefinition
reveal_type(every_tick)  # SensorDefinition
reveal_type(bare_sensor)  # SensorDefinition
reveal_type(nightly)  # ScheduleDefinition
reveal_type(bare_hook)  # HookDefinition
reveal_type(paging_hook)  # HookDefinition
reveal_type(bare_logger)  # LoggerDefinition
reveal_type(configured_logger)  # LoggerDefinition
reveal_type(key)  # AssetKey
reveal_type(defs)  # Definitions
reveal_type(plain_job.execute_in_process())  # ExecuteInProcessResult

# What an editor shows for each decorator: every keyword argument, by name and type.
reveal_type(trellis.asset)  # signature of trellis.defs.asset_decorators.asset
reveal_type(trellis.multi_asset)  # signature of trellis.defs.asset_decorators.multi_asset
reveal_type(trellis.graph_asset)  # signature of trellis.defs.graph_asset.graph_asset
reveal_type(trellis.graph_multi_asset)  # signature of trellis.defs.graph_asset.graph_multi_asset
reveal_type(trellis.op)  # signature of trellis.defs.op.op
reveal_type(trellis.graph)  # signature of trellis.defs.graph.graph
reveal_type(trellis.job)  # signature of trellis.defs.job.job
reveal_type(trellis.resource)  # signature of trellis.defs.resource.resource
reveal_type(trellis.io_manager)  # signature of trellis.defs.io_manager.io_manager
reveal_type(trellis.sensor)  # signature of trellis.defs.sensor.sensor
reveal_type(trellis.schedule)  # signature of trellis.defs.schedule.schedule
reveal_type(trellis.Definitions)  # signature of trellis.defs.definitions.Definitions
