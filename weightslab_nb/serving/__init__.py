"""Backend services: ``serve``, ``keep_serving``, and the remote session of ``wl.connect``.

Nothing starts at import. :func:`serve` starts an HTTP server on 127.0.0.1 in daemon threads
that runs validated session commands (:mod:`weightslab_nb.serving.commands`) and the calls of
a remote session (:mod:`weightslab_nb.serving.calls`); the console client (``weightslab-nb
cli``, :mod:`weightslab_nb.serving.client`) and a notebook's
:class:`~weightslab_nb.serving.remote.RemoteSession` talk to it with the token written to
``<root_log_dir>/serving.json``. See :mod:`weightslab_nb.serving.backend` for the protocol.
"""

from weightslab_nb.serving.backend import (GRPC_UNAVAILABLE, TOKEN_FILE, CommandServer,
                                           keep_serving, serve, stop_serving)
from weightslab_nb.serving.client import BackendError, Client

__all__ = ["serve", "keep_serving", "stop_serving", "CommandServer", "Client", "BackendError",
           "TOKEN_FILE", "GRPC_UNAVAILABLE"]
