"""boto3 against Kintsugi with Signature Version 2: a client configured with
signature_version="s3" (Authorization: AWS key:signature), and the default
presigner of a client made with just endpoint_url (boto3 presigns S3 URLs
with SigV2 unless told otherwise).
Usage: boto3-sigv2.py ENDPOINT ACCESS_KEY SECRET_KEY"""
import sys
import time
import http.client
import urllib.parse

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint, access, secret = sys.argv[1:4]


def client(signature_version=None, key=secret):
    config = Config(s3={"addressing_style": "path"}, **({"signature_version": signature_version} if signature_version else {}))
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=access, aws_secret_access_key=key,
                        region_name="us-east-1", config=config)


def code_of(call):
    try:
        call()
    except ClientError as e:
        return e.response["Error"]["Code"]
    raise AssertionError("request succeeded")


def fetch(method, url, data=None):
    """A bare request, as curl sends one: no Content-Type added to a body."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port)
    conn.request(method, parts.path + ("?" + parts.query if parts.query else ""), body=data)
    r = conn.getresponse()
    return r.status, r.read()


v2 = client("s3")
v2.create_bucket(Bucket="sigv2")
body = b"signed with version 2 " * 1000
v2.put_object(Bucket="sigv2", Key="dir/a key+with spaces", Body=body, ContentType="text/plain")
got = v2.get_object(Bucket="sigv2", Key="dir/a key+with spaces")
assert got["Body"].read() == body and got["ContentType"] == "text/plain"
assert [o["Key"] for o in v2.list_objects_v2(Bucket="sigv2", Prefix="dir/")["Contents"]] == ["dir/a key+with spaces"]
assert v2.head_object(Bucket="sigv2", Key="dir/a key+with spaces")["ContentLength"] == len(body)
print("header SigV2: put, get, list, head ok")

assert code_of(lambda: client("s3", key="wrong-secret").get_object(Bucket="sigv2", Key="dir/a key+with spaces")) == "SignatureDoesNotMatch"
print("wrong secret: SignatureDoesNotMatch")

default = client()
url = default.generate_presigned_url("get_object", Params={"Bucket": "sigv2", "Key": "dir/a key+with spaces"}, ExpiresIn=300)
assert "AWSAccessKeyId=" in url and "Signature=" in url and "X-Amz-Algorithm" not in url, url
status, data = fetch("GET", url)
assert status == 200 and data == body, (status, data[:200])
print("default presigner (SigV2) GET ok")

put_url = default.generate_presigned_url("put_object", Params={"Bucket": "sigv2", "Key": "presigned-put"}, ExpiresIn=300)
status, _ = fetch("PUT", put_url, b"uploaded through a presigned v2 url")
assert status == 200, status
assert v2.get_object(Bucket="sigv2", Key="presigned-put")["Body"].read() == b"uploaded through a presigned v2 url"
print("default presigner (SigV2) PUT ok")

status, data = fetch("GET", url.replace("dir/a", "dir/b"))
assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in data, (status, data)
short = default.generate_presigned_url("get_object", Params={"Bucket": "sigv2", "Key": "dir/a key+with spaces"}, ExpiresIn=1)
time.sleep(2.2)
status, data = fetch("GET", short)
assert status == 403 and b"<Code>AccessDenied</Code>" in data and b"expired" in data, (status, data)
print("tampered and expired presigned URLs refused")

v2.delete_object(Bucket="sigv2", Key="dir/a key+with spaces")
v2.delete_object(Bucket="sigv2", Key="presigned-put")
v2.delete_bucket(Bucket="sigv2")
print("boto3 sigv2 ok")
