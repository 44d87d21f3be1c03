"""Pipes, the orchestrating side: running code outside Trellis (a subprocess today) that
reads the step's context and reports back over the Pipes protocol (``docs/pipes-protocol.md``;
the external side is the ``trellis_pipes`` module).

``subprocess_client.py`` (``PipesSubprocessClient``) runs a command in a session;
``session.py`` (``open_pipes_session``, ``PipesSession``) is the session itself, for code
that starts the process on its own; ``context_data.py`` builds what the process reads;
``readers.py`` holds the context injectors and message readers; ``message_handler.py``
turns messages into the step's events and results; ``client.py`` the client base class
and ``PipesClientCompletedInvocation``."""
