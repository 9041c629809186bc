"""WSGI entry point for gunicorn: ``gunicorn wsgi:app``.

Under ``gunicorn --preload`` (what ``make run`` runs) this module is imported once, in the master,
before the workers are forked: the graph, engine, catalogue and circuits are then loaded here, in
full, so every worker (a restarted one too) starts ready and shares those pages with the others; they
are then frozen out of the garbage collector (``api/prefork.py``), which would otherwise copy them.
Without ``--preload`` each worker loads in the background and answers 503 "loading" meanwhile.
"""

import os
import sys

from werkzeug.middleware.proxy_fix import ProxyFix

from api import create_app
from api.prefork import freeze_before_fork

app = create_app()

if "--preload" in sys.argv or os.environ.get("GALIBOT_PRELOAD") == "1":
    app.extensions["galibot.graph"].wait()  # a worker's thread would not survive the fork
    freeze_before_fork()  # the loaded objects stay shared: no worker's collector copies their pages

if os.environ.get("GALIBOT_BEHIND_PROXY") == "1":
    # nginx (api/serve.py) sets X-Forwarded-For to the client's address and gunicorn listens on a Unix socket only
    # nginx can reach, so the header cannot be forged; rate limits then count real clients, not 127.0.0.1
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)
