"""boto3 against Kintsugi: conditional writes, a retried completion, parts
and object attributes. Features the installed botocore does not know are
skipped, and say so. Usage: boto3-semantics.py ENDPOINT ACCESS_KEY SECRET_KEY"""
import hashlib
import sys

from boto3_common import client, error_of

endpoint, access, secret = sys.argv[1:4]
s3 = client(endpoint, access, secret)


def knows(operation, member):
    return member in s3.meta.service_model.operation_model(operation).input_shape.members


s3.create_bucket(Bucket="boto-semantics")

if knows("PutObject", "IfNoneMatch"):
    s3.put_object(Bucket="boto-semantics", Key="once", Body=b"first", IfNoneMatch="*")
    assert error_of(lambda: s3.put_object(Bucket="boto-semantics", Key="once", Body=b"second", IfNoneMatch="*")) == (412, "PreconditionFailed")
    etag = s3.head_object(Bucket="boto-semantics", Key="once")["ETag"]
    s3.put_object(Bucket="boto-semantics", Key="once", Body=b"third", IfMatch=etag)
    assert s3.get_object(Bucket="boto-semantics", Key="once")["Body"].read() == b"third"
    print("conditional writes ok")
else:
    print("conditional writes skipped: this botocore has no IfNoneMatch")

part1 = b"a" * (5 << 20)
part2 = b"b" * 1000
upload = s3.create_multipart_upload(Bucket="boto-semantics", Key="mpu")["UploadId"]
e1 = s3.upload_part(Bucket="boto-semantics", Key="mpu", UploadId=upload, PartNumber=1, Body=part1)["ETag"]
e2 = s3.upload_part(Bucket="boto-semantics", Key="mpu", UploadId=upload, PartNumber=2, Body=part2)["ETag"]
parts = {"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]}
first = s3.complete_multipart_upload(Bucket="boto-semantics", Key="mpu", UploadId=upload, MultipartUpload=parts)["ETag"]
again = s3.complete_multipart_upload(Bucket="boto-semantics", Key="mpu", UploadId=upload, MultipartUpload=parts)["ETag"]
assert first == again, (first, again)
print("retried completion ok")

got = s3.get_object(Bucket="boto-semantics", Key="mpu", PartNumber=2)
assert got["ResponseMetadata"]["HTTPStatusCode"] == 206 and got["PartsCount"] == 2 and got["Body"].read() == part2
assert error_of(lambda: s3.get_object(Bucket="boto-semantics", Key="mpu", PartNumber=3)) == (416, "InvalidPartNumber")
print("partNumber ok")

if hasattr(s3, "get_object_attributes"):
    attrs = s3.get_object_attributes(Bucket="boto-semantics", Key="mpu", ObjectAttributes=["ETag", "ObjectParts", "ObjectSize", "StorageClass"])
    assert attrs["ObjectSize"] == len(part1) + len(part2) and attrs["ObjectParts"]["TotalPartsCount"] == 2, attrs
    assert '"%s"' % attrs["ETag"] == first and attrs["StorageClass"] == "STANDARD"
    print("object attributes ok")

md5 = hashlib.md5(hashlib.md5(part1).digest() + hashlib.md5(part2).digest()).hexdigest()
assert first == '"%s-2"' % md5
s3.delete_object(Bucket="boto-semantics", Key="mpu")
s3.delete_object(Bucket="boto-semantics", Key="once")
s3.delete_bucket(Bucket="boto-semantics")
print("boto3 semantics ok")
