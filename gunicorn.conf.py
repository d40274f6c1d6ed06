"""gunicorn settings for chatapp: ``gunicorn -c gunicorn.conf.py wsgi:app`` (or ``make serve``).

Every value comes from an environment variable with a default that suits one small host.
gthread workers keep one thread per open request, so a streamed reply holds a thread, not a
process: raise ``GUNICORN_THREADS`` for many concurrent streams, ``GUNICORN_WORKERS`` for CPU.
The app is imported in each worker (no preload), so no database or Redis connection is ever
shared across a fork.
"""

import multiprocessing
import os


def _env_int(name: str, default: int) -> int:
    """Return the integer environment variable ``name``, or ``default`` when unset."""
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


bind = os.environ.get(
    "GUNICORN_BIND", f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
)
worker_class = "gthread"
workers = _env_int("GUNICORN_WORKERS", min(multiprocessing.cpu_count() + 1, 8))
# Each open stream holds a thread, asleep while the model writes: 3 workers x 128 threads hold
# about 380 streams at once on a 2-CPU host (docs/benchmarks.md measured 500 with 2 x 300).
threads = _env_int("GUNICORN_THREADS", 128)
# Seconds a worker may stay silent before it is restarted (gthread workers heartbeat while
# their threads serve long requests, so this does not cut streams short).
timeout = _env_int("GUNICORN_TIMEOUT", 120)
# Seconds that running requests get to finish on a restart or shutdown (SIGTERM).
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Seconds an idle kept-alive connection stays open. Behind a load balancer this must be longer
# than the balancer's own idle timeout, so that the balancer, not gunicorn, closes idle
# connections: gunicorn closing one just as the balancer reuses it fails that request (README).
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# gunicorn's own messages and the app's (flask-limiter falling back to memory, health checks,
# model errors) go to stderr; the access log to stdout.
logconfig_dict = {
    "root": {"level": loglevel.upper(), "handlers": ["error_console"]},
    "loggers": {
        "gunicorn.error": {
            "level": loglevel.upper(),
            "handlers": ["error_console"],
            "propagate": False,
        },
        "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
    },
}
# gunicorn's control socket (for ``gunicornc``) defaults to one path per user, which two
# instances on a host would fight over: it is off unless given a path of its own.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not control_socket
