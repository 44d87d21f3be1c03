import trellis as dg

daily_partitions = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-08")


@dg.asset(partitions_def=daily_partitions)
def daily_visits(context: dg.AssetExecutionContext) -> int:
    """Visits of one day (a made-up figure derived from the date)."""
    return int(context.partition_key[-2:]) * 10
