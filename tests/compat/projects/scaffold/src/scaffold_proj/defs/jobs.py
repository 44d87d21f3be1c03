import trellis as dg

orders_job = dg.define_asset_job(name="orders_job", selection=dg.AssetSelection.groups("sales"))


@dg.op
def numbers() -> list[int]:
    return list(range(10))


@dg.op
def squares(numbers: list[int]) -> list[int]:
    return [n * n for n in numbers]


@dg.op
def total(squares: list[int]) -> int:
    return sum(squares)


@dg.job(executor_def=dg.multiprocess_executor.configured({"max_concurrent": 2}))
def crunch_job():
    total(squares(numbers()))
