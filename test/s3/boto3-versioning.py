"""boto3 against Kintsugi: versioning (stacks, markers, the null version while
suspended, paging ListObjectVersions, copy from a version), object tagging
and lifecycle rules run by a server with short lifecycle days.
Usage: boto3-versioning.py ENDPOINT ACCESS_KEY SECRET_KEY BUCKET_SUFFIX"""
import sys
import time

from boto3_common import client, error_of

endpoint, access, secret, suffix = sys.argv[1:5]
s3 = client(endpoint, access, secret)


def all_versions(bucket, **kw):
    """(key, version id, latest, is marker) newest first per key, through every page."""
    out = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, **kw):
        rows = [(v["Key"], v["VersionId"], v["IsLatest"], False, v["LastModified"]) for v in page.get("Versions", [])]
        rows += [(m["Key"], m["VersionId"], m["IsLatest"], True, m["LastModified"]) for m in page.get("DeleteMarkers", [])]
        out += rows
    return out


bucket = "boto-ver-" + suffix
s3.create_bucket(Bucket=bucket)
assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
s3.put_object(Bucket=bucket, Key="doc", Body=b"null version")
s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
ids = [s3.put_object(Bucket=bucket, Key="doc", Body=b"v%d" % i)["VersionId"] for i in range(3)]
assert len(set(ids)) == 3
assert s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"v2"
assert s3.get_object(Bucket=bucket, Key="doc", VersionId=ids[0])["Body"].read() == b"v0"
assert s3.get_object(Bucket=bucket, Key="doc", VersionId="null")["Body"].read() == b"null version"
marker = s3.delete_object(Bucket=bucket, Key="doc")
assert marker["DeleteMarker"] is True
assert error_of(lambda: s3.head_object(Bucket=bucket, Key="doc"))[0] == 404
assert error_of(lambda: s3.head_object(Bucket=bucket, Key="doc", VersionId=marker["VersionId"]))[0] == 405
rows = all_versions(bucket)
assert len(rows) == 5 and sum(1 for r in rows if r[2]) == 1, rows
s3.delete_object(Bucket=bucket, Key="doc", VersionId=marker["VersionId"])
assert s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"v2"
copied = s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "doc", "VersionId": ids[1]})
assert copied["CopySourceVersionId"] == ids[1]
assert s3.get_object(Bucket=bucket, Key="copy")["Body"].read() == b"v1"
print("versions ok")

# Suspended: a put replaces the null version and keeps the others.
s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
s3.put_object(Bucket=bucket, Key="doc", Body=b"null again")
doc = [r for r in all_versions(bucket, Prefix="doc") if r[0] == "doc"]
assert [r[1] for r in doc] == ["null"] + ids[::-1], doc
print("suspended ok")

# Paging through many versions of one key.
s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
many = [s3.put_object(Bucket=bucket, Key="many", Body=b"%d" % i)["VersionId"] for i in range(120)]
listed = [r[1] for r in all_versions(bucket, Prefix="many", MaxKeys=7)]
assert listed == many[::-1], (len(listed), len(many))
print("paging ok")

# Tagging, by version too.
s3.put_object(Bucket=bucket, Key="tagged", Body=b"t", Tagging="a=1&b=2")
assert s3.get_object_tagging(Bucket=bucket, Key="tagged")["TagSet"] == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
assert s3.get_object(Bucket=bucket, Key="tagged")["TagCount"] == 2
s3.put_object_tagging(Bucket=bucket, Key="doc", VersionId=ids[0], Tagging={"TagSet": [{"Key": "old", "Value": "yes"}]})
assert s3.get_object_tagging(Bucket=bucket, Key="doc", VersionId=ids[0])["TagSet"] == [{"Key": "old", "Value": "yes"}]
too_many = {"TagSet": [{"Key": "k%d" % i, "Value": "v"} for i in range(11)]}
assert error_of(lambda: s3.put_object_tagging(Bucket=bucket, Key="tagged", Tagging=too_many)) == (400, "InvalidTag")
s3.delete_object_tagging(Bucket=bucket, Key="tagged")
assert s3.get_object_tagging(Bucket=bucket, Key="tagged")["TagSet"] == []
print("tagging ok")

# Lifecycle (the server runs with LIFECYCLE_DAY_SECONDS=2): current versions
# under exp/ expire into markers, noncurrent versions go.
s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
    {"ID": "exp", "Status": "Enabled", "Filter": {"Prefix": "exp/"}, "Expiration": {"Days": 1},
     "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
]})
rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
assert rules[0]["ID"] == "exp" and rules[0]["Expiration"] == {"Days": 1}, rules
put = s3.put_object(Bucket=bucket, Key="exp/a", Body=b"x")
assert 'rule-id="exp"' in put["Expiration"], put
deadline = time.time() + 30
while time.time() < deadline:
    rows = all_versions(bucket, Prefix="exp/")
    if rows and all(r[3] for r in rows):
        break
    time.sleep(0.5)
rows = all_versions(bucket, Prefix="exp/")
assert rows and all(r[3] for r in rows), rows
assert error_of(lambda: s3.get_object(Bucket=bucket, Key="exp/a"))[0] == 404
print("lifecycle ok")
print("boto3 versioning ok")
