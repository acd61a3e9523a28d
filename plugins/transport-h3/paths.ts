import { S3Error } from './s3-error.js';

/** Percent-decoding of a path part; a malformed escape is S3's InvalidURI, not a crash. */
export function decodePath(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new S3Error('InvalidURI');
  }
}

/** Bucket and key of a request: path-style `/bucket/key`, or the key alone after a virtual-host bucket. */
export function bucketAndKey(rawPath: string, virtualBucket?: string): { bucket: string; key: string } {
  const path = rawPath.startsWith('/') ? rawPath.slice(1) : rawPath;
  if (virtualBucket !== undefined) return { bucket: virtualBucket, key: decodePath(path) };
  const slash = path.indexOf('/');
  if (slash < 0) return { bucket: decodePath(path), key: '' };
  return { bucket: decodePath(path.slice(0, slash)), key: decodePath(path.slice(slash + 1)) };
}

/** Whether a request addresses the service, a bucket or an object, from the raw path alone (nothing decoded). */
export function levelOf(rawPath: string, virtualBucket?: string): 'service' | 'bucket' | 'object' {
  const path = rawPath.startsWith('/') ? rawPath.slice(1) : rawPath;
  if (virtualBucket !== undefined) return path === '' ? 'bucket' : 'object';
  if (path === '') return 'service';
  const slash = path.indexOf('/');
  return slash < 0 || slash === path.length - 1 ? 'bucket' : 'object';
}

/** `x-amz-copy-source`: `bucket/key` (url-encoded, maybe with a leading slash and `?versionId=`). */
export function parseCopySource(header: string): { bucket: string; key: string; versionId?: string } {
  const [path, query] = header.split('?');
  const versionId = new URLSearchParams(query ?? '').get('versionId') ?? undefined;
  const decoded = decodePath(path!.replace(/^\//, ''));
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1) throw new S3Error('InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey');
  return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1), ...(versionId !== undefined ? { versionId } : {}) };
}
