from trellis import AssetSelection, define_asset_job

trips_by_week = AssetSelection.groups("metrics") - AssetSelection.keys("trips_by_borough")

trip_update_job = define_asset_job(
    name="trip_update_job",
    selection=AssetSelection.all() - trips_by_week,
)

weekly_update_job = define_asset_job(
    name="weekly_update_job",
    selection=trips_by_week,
)
