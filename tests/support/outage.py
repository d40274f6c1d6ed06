"""Make an app's database unreachable on demand, and bring it back.

PostgreSQL: the app connects through :class:`TcpProxy`; :meth:`DatabaseOutage.cut` closes
every connection through it and refuses new ones (what a network partition or a database
restart looks like to the app), :meth:`DatabaseOutage.restore` lets connections through again.
SQLite has no connection to cut, so every statement fails with ``sqlite3.OperationalError``
("disk I/O error") while the outage lasts.
"""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import threading
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import make_url

from chatapp.extensions import db


class TcpProxy:
    """Forward a local port to ``host:port`` until cut."""

    def __init__(self, host: str, port: int) -> None:
        self._upstream = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._cut = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        """Close every forwarded connection and refuse new ones."""
        self._cut.set()
        with self._lock:
            for sock in self._open:
                _close(sock)
            self._open.clear()

    def restore(self) -> None:
        """Forward new connections again."""
        self._cut.clear()

    def close(self) -> None:
        """Stop listening and close everything."""
        self.cut()
        _close(self._listener)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            if self._cut.is_set():
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self._upstream)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._open.update((client, upstream))
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            with contextlib.suppress(OSError):
                while data := source.recv(65536):
                    target.sendall(data)
        finally:
            _close(source)
            _close(target)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


class DatabaseOutage:
    """An outage switch for one test database (SQLite file or PostgreSQL)."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._down = threading.Event()
        self._proxy: TcpProxy | None = None
        if not database_url.startswith("sqlite"):
            url = make_url(database_url)
            self._proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
            self.app_url = url.set(host="127.0.0.1", port=self._proxy.port).render_as_string(
                hide_password=False
            )
        else:
            self.app_url = database_url

    def attach(self, app: Flask) -> None:
        """Make ``app`` (built on :attr:`app_url`) feel the outage."""
        if self._proxy is None:
            with app.app_context():
                event.listen(db.engine, "before_cursor_execute", self._refuse)

    def _refuse(self, *_args: Any) -> None:
        if self._down.is_set():
            raise sqlite3.OperationalError("disk I/O error")

    def cut(self) -> None:
        """The database becomes unreachable."""
        self._down.set()
        if self._proxy is not None:
            self._proxy.cut()

    def restore(self) -> None:
        """The database is back."""
        self._down.clear()
        if self._proxy is not None:
            self._proxy.restore()

    def close(self) -> None:
        """Release the proxy."""
        if self._proxy is not None:
            self._proxy.close()
