#!/usr/bin/env bash
# Drives a running Kintsugi server with three independent S3 clients from
# Debian (AWS CLI, rclone, s3cmd). Each stores files and must get exactly the
# same bytes back (sha256), lists, copies, deletes and meets the errors.
# Usage: clients.sh ENDPOINT ACCESS_KEY SECRET_KEY WORKDIR
set -euo pipefail
endpoint="$1"; access="$2"; secret="$3"; work="$4"
hostport="${endpoint#http://}"
mkdir -p "$work"
cd "$work"
say() { echo "--- $*"; }
same() { [ "$(sha256sum < "$1" | cut -d' ' -f1)" = "$(sha256sum < "$2" | cut -d' ' -f1)" ] || { echo "MISMATCH $1 $2"; exit 1; }; }

head -c 1000 /dev/urandom > small.bin
head -c $((20 * 1024 * 1024 + 13)) /dev/urandom > big.bin

say "aws cli"
export AWS_ACCESS_KEY_ID="$access" AWS_SECRET_ACCESS_KEY="$secret" AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
aws="aws --endpoint-url $endpoint"
$aws s3 mb s3://cli-bucket
$aws s3 cp --no-progress small.bin s3://cli-bucket/dir/small.bin
$aws s3 cp --no-progress big.bin s3://cli-bucket/dir/big.bin   # multipart (8 MiB parts by default)
$aws s3 ls s3://cli-bucket/dir/ | grep big.bin > /dev/null  # not -q: an early exit breaks the pipe (pipefail)
$aws s3 cp --no-progress s3://cli-bucket/dir/big.bin aws-big.out
same big.bin aws-big.out
$aws s3api head-object --bucket cli-bucket --key dir/small.bin | grep '"ContentLength": 1000' > /dev/null  # not -q: an early exit breaks the pipe (pipefail)
$aws s3 cp --no-progress s3://cli-bucket/dir/small.bin s3://cli-bucket/copy.bin
$aws s3 cp --no-progress s3://cli-bucket/copy.bin aws-copy.out
same small.bin aws-copy.out
if $aws s3api get-object --bucket cli-bucket --key nope nope.out 2> err.txt; then echo "expected NoSuchKey"; exit 1; fi
grep -q NoSuchKey err.txt
if $aws s3 rb s3://cli-bucket 2> err.txt; then echo "expected BucketNotEmpty"; exit 1; fi
grep -q BucketNotEmpty err.txt
$aws s3 rm --recursive s3://cli-bucket/
$aws s3 rb s3://cli-bucket

say "rclone"
cat > rclone.conf <<CONF
[k]
type = s3
provider = Other
access_key_id = $access
secret_access_key = $secret
endpoint = $endpoint
region = us-east-1
CONF
# rclone refuses AWS_CA_BUNDLE on a plain-http endpoint.
rc="env -u AWS_CA_BUNDLE rclone --config rclone.conf"
$rc mkdir k:rclone-bucket
$rc copyto big.bin k:rclone-bucket/a/big.bin
$rc copyto small.bin k:rclone-bucket/a/small.bin
$rc lsf k:rclone-bucket/a/ | sort | tr '\n' ' ' | grep "big.bin small.bin" > /dev/null  # not -q: an early exit breaks the pipe (pipefail)
$rc copyto k:rclone-bucket/a/big.bin rclone-big.out
same big.bin rclone-big.out
$rc check --one-way --download . k:rclone-bucket/a/ --include "*.bin" 2>&1 | tail -2
$rc purge k:rclone-bucket

say "s3cmd"
s3="s3cmd --no-ssl --host=$hostport --host-bucket=$hostport --access_key=$access --secret_key=$secret"
$s3 mb s3://s3cmd-bucket
$s3 put big.bin s3://s3cmd-bucket/x/big.bin
$s3 put small.bin s3://s3cmd-bucket/x/small.bin
$s3 ls s3://s3cmd-bucket/x/ | grep small.bin > /dev/null  # not -q: an early exit breaks the pipe (pipefail)
$s3 get s3://s3cmd-bucket/x/big.bin s3cmd-big.out
same big.bin s3cmd-big.out
$s3 del s3://s3cmd-bucket/x/big.bin s3://s3cmd-bucket/x/small.bin
$s3 rb s3://s3cmd-bucket
echo "all clients ok"
