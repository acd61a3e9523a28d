"""boto3 against Kintsugi: Object Lock — bucket configuration, retention and
legal hold on write and after, what COMPLIANCE and GOVERNANCE allow, and
DeleteObjects answering per key.
Usage: boto3-object-lock.py ENDPOINT ACCESS_KEY SECRET_KEY BUCKET_SUFFIX"""
import datetime
import sys

from boto3_common import client, error_of

endpoint, access, secret, suffix = sys.argv[1:5]
s3 = client(endpoint, access, secret)


def days(n):
    # Whole seconds: what comes back is compared with what went in.
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    return now + datetime.timedelta(days=n)


bucket = f"boto-worm-{suffix}"
s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
assert s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"] == {"ObjectLockEnabled": "Enabled"}
assert error_of(lambda: s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})) == (409, "InvalidBucketState")

conf = {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}}
s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=conf)
assert s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"] == conf
bad = {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1, "Years": 1}}}
assert error_of(lambda: s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=bad)) == (400, "MalformedXML")

# The default retention lands on a plain put.
v_default = s3.put_object(Bucket=bucket, Key="default", Body=b"x")["VersionId"]
head = s3.head_object(Bucket=bucket, Key="default", VersionId=v_default)
assert head["ObjectLockMode"] == "GOVERNANCE", head
assert head["ObjectLockRetainUntilDate"] > days(0), head

# COMPLIANCE: extended, never shortened, never deleted.
until = days(2)
v_comp = s3.put_object(Bucket=bucket, Key="compliance", Body=b"c", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until)["VersionId"]
assert s3.get_object_retention(Bucket=bucket, Key="compliance", VersionId=v_comp)["Retention"] == {"Mode": "COMPLIANCE", "RetainUntilDate": until}
assert error_of(lambda: s3.delete_object(Bucket=bucket, Key="compliance", VersionId=v_comp, BypassGovernanceRetention=True)) == (403, "AccessDenied")
assert error_of(lambda: s3.put_object_retention(Bucket=bucket, Key="compliance", VersionId=v_comp, BypassGovernanceRetention=True,
                                                Retention={"Mode": "COMPLIANCE", "RetainUntilDate": days(1)})) == (403, "AccessDenied")
later = days(3)
s3.put_object_retention(Bucket=bucket, Key="compliance", VersionId=v_comp, Retention={"Mode": "COMPLIANCE", "RetainUntilDate": later})
assert s3.get_object_retention(Bucket=bucket, Key="compliance", VersionId=v_comp)["Retention"] == {"Mode": "COMPLIANCE", "RetainUntilDate": later}

# GOVERNANCE: only with the bypass.
assert error_of(lambda: s3.delete_object(Bucket=bucket, Key="default", VersionId=v_default)) == (403, "AccessDenied")
assert error_of(lambda: s3.put_object_retention(Bucket=bucket, Key="default", VersionId=v_default, Retention={})) == (403, "AccessDenied")
s3.put_object_retention(Bucket=bucket, Key="default", VersionId=v_default, Retention={}, BypassGovernanceRetention=True)
assert error_of(lambda: s3.get_object_retention(Bucket=bucket, Key="default", VersionId=v_default)) == (404, "NoSuchObjectLockConfiguration")

# A legal hold blocks the delete until it is lifted.
s3.put_object_legal_hold(Bucket=bucket, Key="default", VersionId=v_default, LegalHold={"Status": "ON"})
assert s3.get_object_legal_hold(Bucket=bucket, Key="default", VersionId=v_default)["LegalHold"] == {"Status": "ON"}
assert error_of(lambda: s3.delete_object(Bucket=bucket, Key="default", VersionId=v_default, BypassGovernanceRetention=True)) == (403, "AccessDenied")

# DeleteObjects answers each key.
v_free = s3.put_object(Bucket=bucket, Key="free", Body=b"f", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=days(1))["VersionId"]
out = s3.delete_objects(Bucket=bucket, BypassGovernanceRetention=True, Delete={"Objects": [
    {"Key": "default", "VersionId": v_default}, {"Key": "free", "VersionId": v_free}, {"Key": "compliance", "VersionId": v_comp}]})
assert [d["Key"] for d in out.get("Deleted", [])] == ["free"], out
assert sorted((e["Key"], e["Code"]) for e in out["Errors"]) == [("compliance", "AccessDenied"), ("default", "AccessDenied")], out

s3.put_object_legal_hold(Bucket=bucket, Key="default", VersionId=v_default, LegalHold={"Status": "OFF"})
s3.delete_object(Bucket=bucket, Key="default", VersionId=v_default)
assert error_of(lambda: s3.delete_bucket(Bucket=bucket)) == (409, "BucketNotEmpty")
print("boto3 object lock ok")
