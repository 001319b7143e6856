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
- Test hooks under /_test, which need the bearer token too (else 401) and are never delayed,
  counted or faulted themselves (JSON in, JSON out):
  - POST /_test/faults {"status": 503, "count": 2, "retry_after": 1, "paths": "/Users"}: the
    next `count` (default 1) requests whose path starts with `paths` (a string or a list of
    strings, default every path; a leading /v2 of the request is ignored, so "/Users" matches
    /v2/Users too; whatever their token), and of `methods` (["POST"]; default any) are answered `status` (100-599) at once, WITHOUT
    being served (nor delayed), with a SCIM error body {"schemas": [...Error], "status":
    "503", "detail": "injected fault"} (application/scim+json) and, when `retry_after` is
    given, a Retry-After header with it.
    {"status": "drop", ...} instead serves the request (a write is done and journaled) and
    then closes the connection without sending a byte of the response (the client sees the
    connection closed, as when a response is lost). A POST replaces the fault set before;
    count 0 or DELETE /_test/faults clears it. POST, GET and DELETE answer the fault now set:
    {"status": 503 | "drop" | null, "remaining": N, "retry_after": 1 | null, "paths": [...]}.
  - GET /_test/stats: {"requests": N, "by_method": {"GET": n, ...}, "faults": F}, where N
    counts the requests given to the SCIM application (dropped ones included, ones answered
    with an injected status not; those with a bad or no token included) and F the requests a
    fault hit (both kinds). DELETE /_test/stats sets them back to zero and answers them so.

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
import threading
import time
from http import HTTPStatus
from wsgiref.simple_server import ServerHandler
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


# Set in the WSGI environ of a request whose response must not be sent (see RequestHandler).
DROP_RESPONSE = "scim_server.drop_response"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
TEST_PREFIX = "/_test"


def json_response(start_response, status, body, headers=(), content_type="application/json"):
    data = json.dumps(body).encode()
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Injected Fault"
    start_response(f"{status} {phrase}", [("Content-Type", content_type),
                                          ("Content-Length", str(len(data))), *headers])
    return [data]


def scim_error(start_response, status, detail, headers=()):
    body = {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": detail}
    return json_response(start_response, status, body, headers, "application/scim+json")


class TestHooks:
    """A WSGI middleware for the tests: injected faults and request counts, driven through
    /_test (see the module's docstring). Its state is shared by the server's threads, under
    a lock."""

    def __init__(self, app, token):
        self.app = app
        self.token = token
        self.lock = threading.Lock()
        self.fault = None  # {"status", "remaining", "retry_after", "paths"}
        self.requests = 0
        self.by_method = {}
        self.faults = 0

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO") or "/"
        if path == TEST_PREFIX or path.startswith(TEST_PREFIX + "/"):
            return self.control(environ, start_response, path)
        method = environ.get("REQUEST_METHOD", "GET")
        with self.lock:
            fault = self._take_fault(path, method)
            if fault is not None:
                self.faults += 1
            if fault is None or fault["status"] == "drop":
                self.requests += 1
                self.by_method[method] = self.by_method.get(method, 0) + 1
        if fault is None:
            return self.app(environ, start_response)
        if fault["status"] == "drop":
            environ[DROP_RESPONSE] = True
            return self.app(environ, start_response)
        headers = []
        if fault["retry_after"] is not None:
            headers.append(("Retry-After", str(fault["retry_after"])))
        return scim_error(start_response, fault["status"], "injected fault", headers)

    def _take_fault(self, path, method):
        """The fault this request gets, if any, counted off (the lock is held)."""
        fault = self.fault
        if fault is None:
            return None
        if fault.get("methods") and method not in fault["methods"]:
            return None
        paths = [path]
        if path == "/v2" or path.startswith("/v2/"):
            paths.append(path[3:] or "/")
        if not any(p.startswith(prefix) for p in paths for prefix in fault["paths"]):
            return None
        fault["remaining"] -= 1
        if fault["remaining"] <= 0:
            self.fault = None
        return fault

    def _fault_state(self):
        fault = self.fault or {"status": None, "remaining": 0, "retry_after": None, "paths": [],
                               "methods": None}
        return dict(fault, paths=list(fault["paths"]))

    def control(self, environ, start_response, path):
        scheme, _, token = (environ.get("HTTP_AUTHORIZATION") or "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(token, self.token):
            return scim_error(start_response, 401, "missing or bad bearer token",
                              [("WWW-Authenticate", "Bearer")])
        method = environ.get("REQUEST_METHOD", "GET")
        resource = path[len(TEST_PREFIX):].rstrip("/")
        if resource == "/faults":
            if method == "POST":
                try:
                    fault = self._parse_fault(environ)
                except ValueError as error:
                    return scim_error(start_response, 400, str(error))
                with self.lock:
                    self.fault = fault
                    state = self._fault_state()
            elif method in ("GET", "DELETE"):
                with self.lock:
                    if method == "DELETE":
                        self.fault = None
                    state = self._fault_state()
            else:
                return scim_error(start_response, 405, f"{method} {path}",
                                  [("Allow", "GET, POST, DELETE")])
            return json_response(start_response, 200, state)
        if resource == "/stats":
            if method not in ("GET", "DELETE"):
                return scim_error(start_response, 405, f"{method} {path}",
                                  [("Allow", "GET, DELETE")])
            with self.lock:
                if method == "DELETE":
                    self.requests, self.by_method, self.faults = 0, {}, 0
                stats = {"requests": self.requests, "by_method": dict(self.by_method),
                         "faults": self.faults}
            return json_response(start_response, 200, stats)
        return scim_error(start_response, 404, f"no test hook at {path}")

    @staticmethod
    def _parse_fault(environ):
        """The fault of a POST /_test/faults, or ValueError with what is wrong."""
        try:
            size = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(size) or b"{}")
        except ValueError:
            raise ValueError("the body must be a JSON object") from None
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        unknown = set(body) - {"status", "count", "retry_after", "paths", "methods"}
        if unknown:
            raise ValueError(f"unknown fields: {sorted(unknown)}")
        status = body.get("status")
        if not (status == "drop" or (type(status) is int and 100 <= status <= 599)):
            raise ValueError('status must be an HTTP status (100-599) or "drop"')
        count = body.get("count", 1)
        if type(count) is not int or count < 0:
            raise ValueError("count must be an integer >= 0")
        retry_after = body.get("retry_after")
        if retry_after is not None and not (
                (type(retry_after) is int and retry_after >= 0)
                or (isinstance(retry_after, str) and retry_after.isprintable())):
            raise ValueError("retry_after must be an integer >= 0 or a string")
        paths = body.get("paths", "/")
        if isinstance(paths, str):
            paths = [paths]
        if (not isinstance(paths, list) or not paths
                or not all(isinstance(p, str) and p.startswith("/") for p in paths)):
            raise ValueError('paths must be a path ("/Users") or a non-empty list of them')
        methods = body.get("methods")
        if methods is not None and (not isinstance(methods, list)
                                    or not all(isinstance(m, str) for m in methods)):
            raise ValueError('methods must be a list of HTTP methods (["POST"])')
        if count == 0:
            return None
        return {"status": status, "remaining": count, "retry_after": retry_after,
                "paths": paths, "methods": [m.upper() for m in methods] if methods else None}


class DroppingServerHandler(ServerHandler):
    """wsgiref's handler, which sends nothing of a response marked DROP_RESPONSE: the
    application has run (and its body is consumed), then the connection is closed."""

    def finish_response(self):
        if not self.environ.get(DROP_RESPONSE):
            return super().finish_response()
        try:
            for _ in self.result:
                pass
        finally:
            self.request_handler.close_connection = True
            self.close()


class RequestHandler(WSGIRequestHandler):
    def handle(self):
        """WSGIRequestHandler.handle (Python 3.11), with DroppingServerHandler."""
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.requestline = ""
            self.request_version = ""
            self.command = ""
            self.send_error(414)
            return
        if not self.parse_request():  # an error was sent
            return
        handler = DroppingServerHandler(
            self.rfile, self.wfile, self.get_stderr(), self.get_environ(), multithread=False
        )
        handler.request_handler = self  # for the log
        handler.run(self.server.get_app())

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
    app = TestHooks(app, token)

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
