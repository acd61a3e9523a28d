import { describe, expect, it } from 'vitest';

import type { S3Request } from '../../plugins/transport-h3/context.js';
import { matchRoute } from '../../plugins/transport-h3/routes.js';

/** A request as the transport hands it to the router: method, raw path, query, headers. */
function request(line: string, headers: Record<string, string> = {}, virtualBucket?: string): S3Request {
  const [method, target] = line.split(' ') as [string, string];
  const q = target.indexOf('?');
  return {
    method, rawPath: q < 0 ? target : target.slice(0, q), query: new URLSearchParams(q < 0 ? '' : target.slice(q + 1)), headers,
    body: (async function* () {})(), ...(virtualBucket !== undefined ? { virtualBucket } : {}),
  };
}

describe('the route table: a request selects exactly one operation, decided from its method, path and sub-resources', () => {
  it.each([
    ['GET /', 'ListBuckets'],
    ['PUT /b', 'CreateBucket'],
    ['PUT /b/', 'CreateBucket'],
    ['GET /b', 'ListObjects'],
    ['GET /b?list-type=2&prefix=x', 'ListObjectsV2'],
    ['GET /b?versions', 'ListObjectVersions'],
    ['GET /b?uploads&prefix=a', 'ListMultipartUploads'],
    ['POST /b?delete', 'DeleteObjects'],
    ['POST /b', 'PostObject'],
    ['OPTIONS /b/k', 'PreflightCors'],
    ['PUT /b/k', 'PutObject'],
    ['PUT /b/a/b/c', 'PutObject'],
    ['GET /b/k?versionId=x&response-content-type=y', 'GetObject'],
    ['PUT /b/k?tagging', 'PutObjectTagging'],
    ['PUT /b/k?uploadId=u&partNumber=1', 'UploadPart'],
    ['POST /b/k?uploads', 'CreateMultipartUpload'],
    ['POST /b/k?uploadId=u', 'CompleteMultipartUpload'],
    ['GET /b/k?uploadId=u', 'ListParts'],
    ['PUT /b?versioning', 'PutBucketVersioning'],
    ['GET /b?intelligent-tiering&id=x', 'GetBucketIntelligentTieringConfiguration'],
    ['GET /b?intelligent-tiering', 'ListBucketIntelligentTieringConfigurations'],
    ['PUT /b/k?retention', 'PutObjectRetention'],
  ])('%s → %s', (line, name) => {
    expect(matchRoute(request(line)).name).toBe(name);
  });

  it('tells copies from writes by x-amz-copy-source, and reads the level from the Host when it names the bucket', () => {
    expect(matchRoute(request('PUT /b/k', { 'x-amz-copy-source': '/a/b' })).name).toBe('CopyObject');
    expect(matchRoute(request('PUT /b/k?uploadId=u&partNumber=1', { 'x-amz-copy-source': '/a/b' })).name).toBe('UploadPartCopy');
    expect(matchRoute(request('GET /', {}, 'b')).name).toBe('ListObjects');
    expect(matchRoute(request('GET /k', {}, 'b')).name).toBe('GetObject');
  });

  it('selects nothing for sub-resources that name no operation together, or for a method the level has not', () => {
    for (const line of ['PUT /b/k?tagging&acl', 'DELETE /b?versioning', 'POST /b/k', 'PATCH /b/k', 'GET /b/k?uploads', 'PUT /b?tagging&cors']) {
      const m = matchRoute(request(line));
      expect([line, m.name, m.route]).toEqual([line, 'Unknown', undefined]);
    }
  });

  it('says what a route needs: the reads anyone may be allowed, on the bucket or the object', () => {
    const needs = (line: string) => matchRoute(request(line)).route?.needs?.(request(line));
    expect(needs('GET /b/k')).toEqual({ action: 's3:GetObject', object: true, anyone: true });
    expect(needs('HEAD /b/k?versionId=v')).toEqual({ action: 's3:GetObjectVersion', object: true, anyone: true });
    expect(needs('GET /b?list-type=2')).toEqual({ action: 's3:ListBucket', object: false, anyone: true });
    expect(needs('GET /b?versions')).toEqual({ action: 's3:ListBucketVersions', object: false, anyone: true });
    expect(needs('PUT /b/k')).toBeUndefined();
    expect(needs('DELETE /b/k')).toBeUndefined();
  });
});
