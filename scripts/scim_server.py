"""A SCIM 2.0 server for the tests: scim2-server's application, behind a bearer token.

Run by scripts/scim-server.sh in the virtual environment that scripts/setup.sh makes
(target/scim-venv). It serves the default resource types of scim2-server (User with the
enterprise extension, Group) from memory, like the `scim2-server` command, and adds what the
tests need and the command lacks:

- STATE_FILE (optional): a journal of the writes, one JSON line each, appended before the
  response is sent, so a server killed (even with SIGKILL) and started again on the same file
  has the same users, ids and meta. It is compacted at start.
- SCIM_DELAY_MS: hold every response back that many milliseconds, after the request was
  served (a create is done even when the client has given up waiting).
- SCIM_ACCESS_LOG=1: log each request to stderr (off by default, so an unread pipe never
  fills up); the errors of the server itself are always logged.

It prints "scim-server: ready on http://127.0.0.1:PORT (N resources)" once it accepts
connections (GET /ServiceProviderConfig, which needs no token, also tells it is up).
PORT 0 takes a free port: the ready line names it.

usage: python scim_server.py PORT TOKEN [STATE_FILE]
"""

import itertools
import json
import logging
import os
import re
import secrets
import sys
import time
from wsgiref.simple_server import WSGIRequestHandler
from wsgiref.simple_server import make_server

from scim2_models import ScimProvider
from scim2_server.memory import InMemoryStorage
from scim2_server.service import ScimService
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME
from scim2_server.testserver.application import BearerTokenApplication
from scim2_server.testserver.cli import ThreadingWSGIServer
from scim2_server.utils import load_default_resource_types
from scim2_server.utils import load_default_schemas
from scim2_server.utils import load_default_service_provider_config


class JournaledStorage(InMemoryStorage):
    """The in-memory storage, whose writes are appended to a file as they happen."""

    def __init__(self, provider, path):
        super().__init__()
        self.provider = provider
        self.path = path
        self.fd = None
        if path is not None:
            self._load()
            self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def _load(self):
        """Replay the journal, then write it back with one line per resource."""
        current = {}
        try:
            with open(self.path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            lines = []
        for number, line in enumerate(lines, 1):
            try:
                record = json.loads(line)
            except ValueError:
                if number == len(lines):
                    break  # a write cut short by a kill
                raise
            key = (record["type"], record["id"])
            if record["op"] == "put":
                current[key] = record["resource"]
            else:
                current.pop(key, None)
        resources = []
        last_version = 0
        with self.provider:
            for (type_name, _), data in current.items():
                model = self.provider.model_for(type_name)
                resources.append(model.model_validate(data))
                version = re.search(r"\d+", str(data.get("meta", {}).get("version")))
                if version:
                    last_version = max(last_version, int(version.group()))
        self.resources = resources
        # New versions must not repeat the ones stored before the restart.
        self.versions = itertools.count(last_version + 1)
        tmp = f"{self.path}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            for (type_name, resource_id), data in current.items():
                f.write(self._line("put", type_name, resource_id, data))
        os.replace(tmp, self.path)

    @staticmethod
    def _line(op, type_name, resource_id, data=None):
        record = {"op": op, "type": type_name, "id": resource_id}
        if data is not None:
            record["resource"] = data
        return json.dumps(record, separators=(",", ":")) + "\n"

    def _put(self, resource):
        if self.fd is not None:
            line = self._line("put", resource.meta.resource_type, resource.id,
                              resource.model_dump(mode="json"))
            os.write(self.fd, line.encode())

    def create(self, resource_type, resource):
        with self.lock:
            created = super().create(resource_type, resource)
            self._put(created)
            return created

    def update(self, resource_type, resource, *, expected_version=None):
        with self.lock:
            updated = super().update(resource_type, resource, expected_version=expected_version)
            self._put(updated)
            return updated

    def delete(self, resource_type, resource_id, *, expected_version=None):
        with self.lock:
            super().delete(resource_type, resource_id, expected_version=expected_version)
            if self.fd is not None:
                os.write(self.fd, self._line("delete", resource_type.name, resource_id).encode())


def delayed(app, delay_ms):
    """A WSGI middleware that holds each response back: the request is served (a write is
    done and journaled) at once, and its response leaves delay_ms later, as from a slow
    server or network, so a client that gives up early has still made the change."""
    if delay_ms <= 0:
        return app

    def serve(environ, start_response):
        body = list(app(environ, start_response))  # wsgiref sends nothing before the body
        time.sleep(delay_ms / 1000)
        return body

    return serve


class RequestHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        if os.environ.get("SCIM_ACCESS_LOG") == "1":
            super().log_message(format, *args)


def main():
    if len(sys.argv) not in (3, 4) or not sys.argv[1].isdigit() or not sys.argv[2]:
        sys.exit("usage: scim_server.py PORT TOKEN [STATE_FILE]")
    port, token = int(sys.argv[1]), sys.argv[2]
    state_file = sys.argv[3] if len(sys.argv) == 4 else None
    logging.basicConfig(level=logging.WARNING, format="scim-server: %(levelname)s %(message)s")

    config = load_default_service_provider_config()
    config.authentication_schemes = [*(config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
    provider = ScimProvider.from_discovery(
        load_default_schemas().values(), load_default_resource_types().values(), config=config
    )
    service = ScimService(provider, secret=secrets.token_urlsafe(32))
    storage = JournaledStorage(provider, state_file)
    app = BearerTokenApplication(storage, provider, service=service, bearer_tokens=[token])
    app = delayed(app, int(os.environ.get("SCIM_DELAY_MS") or 0))

    with make_server("127.0.0.1", port, app, server_class=ThreadingWSGIServer,
                     handler_class=RequestHandler) as server:
        print(f"scim-server: ready on http://127.0.0.1:{server.server_port} "
              f"({len(storage.resources)} resources)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
