"""Steps in other processes: the ``StepRequest`` a worker receives and the worker loop
(``worker.py``), where the job's code lives (``code_pointer.py``), and what a run must
satisfy before its steps may leave this process (``cross_process.py``)."""
