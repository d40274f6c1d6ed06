"""Minimal gunicorn settings: threaded workers, sized from the environment.

``gunicorn -c gunicorn.conf.py wsgi:app``. Command-line flags override these values.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# A model reply can take a while; GEMINI_TIMEOUT bounds it inside the worker.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
