import trellis as dg

from .jobs import orders_job

orders_schedule = dg.ScheduleDefinition(job=orders_job, cron_schedule="0 6 * * *")
