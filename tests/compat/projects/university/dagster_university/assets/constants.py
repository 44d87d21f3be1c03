TAXI_TRIPS_TEMPLATE_FILE_PATH = "data/raw/taxi_trips.csv"
TRIPS_BY_BOROUGH_FILE_PATH = "data/outputs/trips_by_borough.csv"
TRIPS_BY_WEEK_FILE_PATH = "data/outputs/trips_by_week.csv"
