import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

/** Every key of a bucket, page after page (ListObjectsV2 with continuation tokens). */
export async function listKeys(client: S3Client, bucket: string, pageSize?: number): Promise<string[]> {
  const keys: string[] = [];
  let ContinuationToken: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken, ...(pageSize ? { MaxKeys: pageSize } : {}) }));
    keys.push(...(page.Contents ?? []).map((c) => c.Key!));
    ContinuationToken = page.NextContinuationToken;
  } while (ContinuationToken);
  return keys;
}
