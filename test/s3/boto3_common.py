"""What the boto3 scripts share: a path-style client from the command line
(ENDPOINT ACCESS_KEY SECRET_KEY BUCKET_SUFFIX), and the S3 error a call
fails with."""
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


def client_from_argv():
    """The client, and the suffix that keeps each boto3 build's buckets apart."""
    endpoint, access, secret, suffix = sys.argv[1:5]
    s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=access, aws_secret_access_key=secret,
                      region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
    return s3, suffix


def error_of(call):
    """(HTTP status, S3 error code) of a call that must fail."""
    try:
        call()
    except ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]
    raise AssertionError("request succeeded")
