"""moto's server with signature verification against the request target as sent.

moto re-derives the canonical request from the URL as werkzeug percent-decoded it, so correctly signed requests
for keys with `+`, `%`, `&`, `=` or non-ASCII characters, or query values with `/`, are rejected. This checks
the signature against the raw target instead (werkzeug's RAW_URI). Same command-line flags as `moto_server`.
"""
import sys

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
from moto.server import main  # noqa: E402

main(sys.argv[1:])
