"""What the boto3 scripts share: a path-style client, and the S3 error a
call fails with."""
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


def client(endpoint, access, secret):
    """A signed, path-style client of the server at ENDPOINT."""
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=access, aws_secret_access_key=secret,
                        region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))


def error_of(call):
    """(HTTP status, S3 error code) of a call that must fail."""
    try:
        call()
    except ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]
    raise AssertionError("request succeeded")
