"""The daemon: the process that runs schedules, sensors, declarative automation and the
run queue against an instance (``trellis daemon -f defs.py``).

``daemon.py`` holds the process (``TrellisDaemon``: the lease, the loops, their
heartbeats, ``wake()``); each loop is a module (``scheduler.py``, ``sensor_loop.py``,
``queue_loop.py``) over the shared tick machinery (``ticks.py``: crash-safe run creation
by run key) and user-code isolation (``user_code.py``: a timeout, the traceback on the
tick); ``launcher.py`` is the ``RunLauncher`` interface and the default subprocess
launcher, whose processes run ``run_worker.py``.
"""
