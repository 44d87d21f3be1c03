"""Layer 7: the ``trellis`` command, an outer shell over the layers before it.

Nothing here is imported by ``import trellis``; click and rich are loaded only when the
command runs. Each module has one job: ``main`` (the command group and error handling),
``loader`` (finding the user's ``Definitions``), the ``*_commands`` modules (one command
group each), ``display`` and ``progress`` (rich output), and small helpers.
"""
