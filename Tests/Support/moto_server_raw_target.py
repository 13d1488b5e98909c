"""moto's server with signature verification against the request target as sent.

moto re-derives the canonical request from the URL as werkzeug percent-decoded it, so correctly signed requests
for keys with `+`, `%`, `&`, `=` or non-ASCII characters, or query values with `/`, are rejected. This checks
the signature against the raw target instead (werkzeug's RAW_URI). Same command-line flags as `moto_server`.

A test may also make the server fail: `POST /outrider-test/fail-next` with the body `COUNT STATUS` answers the
next COUNT S3 requests with STATUS and S3's error XML (`InternalError` for 500, `SlowDown` for 503), as S3 itself
does under load, without passing them to moto.
"""
import sys
import threading

from moto.core.authorization import ActionAuthenticatorMixin

_check = ActionAuthenticatorMixin._authenticate_and_authorize_action


def _check_raw_target(self, iam_request_cls, resource="*"):
    raw = getattr(getattr(self, "request", None), "environ", {}).get("RAW_URI")
    if not raw:
        return _check(self, iam_request_cls, resource)
    uri, self.uri = self.uri, raw
    try:
        return _check(self, iam_request_cls, resource)
    finally:
        self.uri = uri


ActionAuthenticatorMixin._authenticate_and_authorize_action = _check_raw_target

from moto.moto_server.werkzeug_app import DomainDispatcherApplication  # noqa: E402

_dispatch = DomainDispatcherApplication.__call__
_failures = {"count": 0, "status": 500}
_failures_lock = threading.Lock()
_codes = {500: "InternalError", 503: "SlowDown"}


def _dispatch_with_failures(self, environ, start_response):
    if environ.get("PATH_INFO") == "/outrider-test/fail-next":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        count, status = environ["wsgi.input"].read(length).decode().split()
        with _failures_lock:
            _failures["count"], _failures["status"] = int(count), int(status)
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]
    if not environ.get("PATH_INFO", "").startswith("/moto-api"):
        with _failures_lock:
            failing = _failures["count"] > 0
            if failing:
                _failures["count"] -= 1
            status = _failures["status"]
        if failing:
            code = _codes.get(status, "InternalError")
            body = f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>injected by the test</Message></Error>".encode()
            start_response(f"{status} {code}", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
            return [body]
    return _dispatch(self, environ, start_response)


DomainDispatcherApplication.__call__ = _dispatch_with_failures
from moto.server import main  # noqa: E402

main(sys.argv[1:])
