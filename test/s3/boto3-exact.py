"""boto3 against Kintsugi: keys, prefixes and tag values kept byte-exact, and
the small gaps ceph/s3-tests found (issue 22), as boto3 users meet them.
Usage: boto3-exact.py ENDPOINT ACCESS_KEY SECRET_KEY KEYS_JSON BUCKET_PREFIX
KEYS_JSON: {"exact": [...keys], "neighbours": [...keys nothing may touch]}"""
import json
import sys

import boto3
import urllib3
from botocore import UNSIGNED
from botocore.config import Config

from boto3_common import client, error_of

endpoint, access, secret, keys_json, prefix = sys.argv[1:6]
table = json.loads(keys_json)
exact, neighbours = table["exact"], table["neighbours"]
s3 = client(endpoint, access, secret)
http = urllib3.PoolManager()


def by_bytes(keys):
    return sorted(keys, key=lambda k: k.encode("utf-8"))


def listed(bucket, v1=False):
    paginator = s3.get_paginator("list_objects" if v1 else "list_objects_v2")
    keys = []
    for page in paginator.paginate(Bucket=bucket, PaginationConfig={"PageSize": 5}):
        keys += [c["Key"] for c in page.get("Contents", [])]
    return keys


# --- keys -------------------------------------------------------------------
bucket = prefix + "-keys"
s3.create_bucket(Bucket=bucket)
every = exact + neighbours
for key in every:
    s3.put_object(Bucket=bucket, Key=key, Body=("body of " + key).encode())
assert listed(bucket) == by_bytes(every), listed(bucket)
assert listed(bucket, v1=True) == by_bytes(every), listed(bucket, v1=True)
left = list(every)
for key in exact:
    answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key}]})
    assert [d["Key"] for d in answer.get("Deleted", [])] == [key], (key, answer)
    assert "Errors" not in answer, answer
    left.remove(key)
    assert listed(bucket) == by_bytes(left), (key, listed(bucket))
for key in neighbours:
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == ("body of " + key).encode(), key
print("keys ok")

# --- tag values, lifecycle prefixes ------------------------------------------
s3.put_object(Bucket=bucket, Key="tagged", Body=b"x")
tags = [{"Key": "a", "Value": " leading"}, {"Key": "b", "Value": "trailing "}, {"Key": " c ", "Value": " "}]
s3.put_object_tagging(Bucket=bucket, Key="tagged", Tagging={"TagSet": tags})
assert s3.get_object_tagging(Bucket=bucket, Key="tagged")["TagSet"] == tags
rules = [{"ID": "tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp "}, "Expiration": {"Days": 30}}]
s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
assert s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0]["Filter"] == {"Prefix": "tmp "}
print("values ok")

# --- listing gaps (test_bucket_list_prefix_unreadable, test_bucket_listv2_continuationtoken_empty) ---
assert s3.list_objects(Bucket=bucket, Prefix="\x0a")["Prefix"] == "\x0a"
assert s3.list_objects_v2(Bucket=bucket, Prefix="\x0a")["Prefix"] == "\x0a"
s3.put_object(Bucket=bucket, Key="report x", Body=b"x")
v1 = s3.list_objects(Bucket=bucket, Prefix="report", Delimiter=" ", Marker="repor ")
assert (v1["Prefix"], v1["Delimiter"], v1["Marker"]) == ("report", " ", "repor "), v1
assert [p["Prefix"] for p in v1["CommonPrefixes"]] == ["report "], v1
empty_token = s3.list_objects_v2(Bucket=bucket, ContinuationToken="")
assert empty_token["ContinuationToken"] == "" and empty_token["IsTruncated"] is False, empty_token
print("listing ok")

# --- x-amz-tagging answered in AWS's order (test_put_obj_with_tags) -----------
s3.put_object(Bucket=bucket, Key="header-tags", Body=b"x", Tagging="foo=bar&bar")
assert s3.get_object_tagging(Bucket=bucket, Key="header-tags")["TagSet"] == [{"Key": "bar", "Value": ""}, {"Key": "foo", "Value": "bar"}]
print("tag order ok")

# --- CreateBucket of an owned bucket: 200 as in us-east-1, 409 when it asks for more --
s3.create_bucket(Bucket=bucket)
assert error_of(lambda: s3.create_bucket(Bucket=bucket, ACL="public-read")) == (409, "BucketAlreadyOwnedByYou")
print("create bucket ok")

# --- an anonymous PUT with Expect: 100-continue is refused at once (test_100_continue) --
anonymous = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                         config=Config(signature_version=UNSIGNED, s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
assert error_of(lambda: anonymous.put_object(Bucket=bucket, Key="anonymous", Body=b"x" * (1 << 20))) == (403, "AccessDenied")
print("100-continue ok")

# --- special names copied in parts, then the bucket emptied by DeleteObjects (test_multipart_copy_special_names) --
special = prefix + "-special"
s3.create_bucket(Bucket=special)
for name in [" ", "_", "__", "?versionId"]:
    s3.put_object(Bucket=special, Key=name, Body=b"s" * 1000)
    upload = s3.create_multipart_upload(Bucket=special, Key="mymultipart")["UploadId"]
    part = s3.upload_part_copy(Bucket=special, Key="mymultipart", UploadId=upload, PartNumber=1, CopySource={"Bucket": special, "Key": name})
    s3.complete_multipart_upload(Bucket=special, Key="mymultipart", UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["CopyPartResult"]["ETag"]}]})
    assert s3.get_object(Bucket=special, Key="mymultipart")["Body"].read() == b"s" * 1000
everything = [{"Key": k} for k in listed(special)]
assert s3.delete_objects(Bucket=special, Delete={"Objects": everything}).get("Errors") is None
assert listed(special) == []
s3.delete_bucket(Bucket=special)
print("special names ok")

# --- generate_presigned_post's default form: a Signature Version 2 policy ------
posts = prefix + "-post"
s3.create_bucket(Bucket=posts)
form = s3.generate_presigned_post(posts, "up/${filename}", Conditions=[["content-length-range", 1, 1000]], ExpiresIn=600)
assert "AWSAccessKeyId" in form["fields"] and "signature" in form["fields"], form


def post(url, fields, data=b"hello", filename="f.txt"):
    r = http.request("POST", url, fields=list(fields.items()) + [("file", (filename, data))])
    return r.status


assert post(form["url"], form["fields"]) == 204
assert s3.get_object(Bucket=posts, Key="up/f.txt")["Body"].read() == b"hello"
assert post(form["url"], {**form["fields"], "signature": form["fields"]["signature"][::-1]}) == 403
assert post(form["url"].replace(posts, bucket), form["fields"]) == 403
assert post(form["url"], {**form["fields"], "x-amz-meta-extra": "1"}) == 403
assert post(form["url"], form["fields"], data=b"x" * 2000) == 400
expired = s3.generate_presigned_post(posts, "late", ExpiresIn=-60)
assert post(expired["url"], expired["fields"]) == 403
print("presigned post ok")
print("boto3 exact ok")
