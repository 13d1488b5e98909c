"""Signs S3 requests with botocore, for the differential test of the Swift SigV4 signer.

Reads a JSON list of cases on stdin, each {method, endpoint, bucket, key, query: [[name, value]], headers:
[[name, value]], body (text), unsigned_payload (bool), timestamp ("YYYYMMDDTHHMMSSZ"), access_key, secret_key,
region, expires}. Builds the request target the way botocore's S3 serializer does (key percent-encoded with
"/" and "~" kept, query parameters given decoded) and signs it with botocore's S3SigV4Auth into the header and
with S3SigV4QueryAuth into the query string. Prints a JSON list of {target, authorization, presigned_target}.
"""
import datetime
import json
import sys
from urllib.parse import urlsplit

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.utils import percent_encode


def sign(case):
    moment = datetime.datetime.strptime(case["timestamp"], "%Y%m%dT%H%M%SZ")
    botocore.auth.get_current_datetime = lambda *args, **kwargs: moment
    credentials = Credentials(case["access_key"], case["secret_key"])
    path = "/" + percent_encode(case["bucket"]) + ("/" + percent_encode(case["key"], safe="/~") if case["key"] else "")
    url = case["endpoint"] + path

    def request(body=True):
        r = AWSRequest(method=case["method"], url=url, params=[tuple(p) for p in case["query"]],
                       headers=dict(case["headers"]), data=case["body"].encode("utf-8") if body else b"")
        r.context["client_config"] = Config(s3={"payload_signing_enabled": not case["unsigned_payload"]})
        return r

    signed = request()
    botocore.auth.S3SigV4Auth(credentials, "s3", case["region"]).add_auth(signed)
    prepared = signed.prepare()
    presigned = request(body=False)
    botocore.auth.S3SigV4QueryAuth(credentials, "s3", case["region"], expires=case["expires"]).add_auth(presigned)
    parts = urlsplit(prepared.url)
    presigned_parts = urlsplit(presigned.url)
    return {
        "target": parts.path + ("?" + parts.query if parts.query else ""),
        "authorization": prepared.headers["Authorization"],
        "content_sha256": prepared.headers["X-Amz-Content-SHA256"],
        "presigned_target": presigned_parts.path + "?" + presigned_parts.query,
    }


print(json.dumps([sign(case) for case in json.load(sys.stdin)]))
