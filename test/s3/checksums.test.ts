import { createHash, randomBytes } from 'node:crypto';

import { Crc32cJs, Crc32Js, Crc64NvmeJs } from '@aws-sdk/checksums/crc';
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, GetObjectAttributesCommand, GetObjectCommand, HeadObjectCommand,
  ListPartsCommand, PutObjectCommand, UploadPartCommand, type ChecksumAlgorithm, type ChecksumType, type CompletedPart,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { referenceCrcBase64 } from '../helpers/crc-reference.js';
import { failure, startServer, type RunningServer } from '../helpers/server.js';
import { send, signedHeaders, streamingSignedPut } from '../helpers/sign.js';

/**
 * Every checksum current SDKs send: checked before a put commits, stored,
 * and returned with checksum mode; a body that comes with none gets S3's
 * own CRC-64/NVME.
 */
const sha = (name: string, data: Buffer) => createHash(name).update(data).digest('base64');
const VALUES: Record<string, (data: Buffer) => string> = {
  crc32: (d) => referenceCrcBase64('crc32', d),
  crc32c: (d) => referenceCrcBase64('crc32c', d),
  crc64nvme: (d) => referenceCrcBase64('crc64nvme', d),
  sha1: (d) => sha('sha1', d),
  sha256: (d) => sha('sha256', d),
};
const hex256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('checksums', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer();
    expect((await send(server.port, 'PUT', '/sums', await signedHeaders(server.port, 'PUT', '/sums', {}))).status).toBe(200);
  });
  afterAll(async () => { await server.stop(); });

  const put = async (key: string, data: Buffer, headers: Record<string, string>) => send(server.port, 'PUT', `/sums/${key}`, await signedHeaders(server.port, 'PUT', `/sums/${key}`, headers, hex256(data)), data);
  const body = async (key: string) => Buffer.from(await (await server.client().send(new GetObjectCommand({ Bucket: 'sums', Key: key }))).Body!.transformToByteArray());

  it.each(['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const)('%s from the SDK is checked, stored and returned, equal to an independent computation', async (algorithm) => {
    const data = randomBytes(20_000);
    const sent = await server.client().send(new PutObjectCommand({ Bucket: 'sums', Key: `sdk/${algorithm}`, Body: data, ChecksumAlgorithm: algorithm as ChecksumAlgorithm }));
    const field = `Checksum${algorithm}` as const;
    expect(sent[field]).toBe(VALUES[algorithm.toLowerCase()]!(data));
    const head = await server.client().send(new HeadObjectCommand({ Bucket: 'sums', Key: `sdk/${algorithm}`, ChecksumMode: 'ENABLED' }));
    expect(head[field]).toBe(sent[field]);
    expect(head.ChecksumType).toBe('FULL_OBJECT');
  });

  it.each(Object.keys(VALUES))('x-amz-checksum-%s: a right value is stored, a wrong one is BadDigest and leaves the previous object as it was', async (algorithm) => {
    const before = Buffer.from('the version before');
    expect((await put(`raw/${algorithm}`, before, {})).status).toBe(200);
    const data = randomBytes(5000);
    const wrong = await put(`raw/${algorithm}`, data, { [`x-amz-checksum-${algorithm}`]: VALUES[algorithm]!(Buffer.concat([data, Buffer.from('x')])) });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatch(/<Code>BadDigest<\/Code>/);
    expect(await body(`raw/${algorithm}`)).toEqual(before);
    const right = await put(`raw/${algorithm}`, data, { [`x-amz-checksum-${algorithm}`]: VALUES[algorithm]!(data) });
    expect(right.status).toBe(200);
    expect(right.headers[`x-amz-checksum-${algorithm}`]).toBe(VALUES[algorithm]!(data));
    expect(await body(`raw/${algorithm}`)).toEqual(data);
  });

  it('a body sent with no checksum gets a CRC-64/NVME, as S3 stores one for every new object', async () => {
    const data = randomBytes(70_000);
    const sent = await put('plain', data, {});
    expect(sent.status).toBe(200);
    expect(sent.headers['x-amz-checksum-crc64nvme']).toBe(VALUES.crc64nvme!(data));
    const head = await server.client().send(new HeadObjectCommand({ Bucket: 'sums', Key: 'plain', ChecksumMode: 'ENABLED' }));
    expect(head.ChecksumCRC64NVME).toBe(VALUES.crc64nvme!(data));
    // Without checksum mode, none is shown.
    expect((await server.client().send(new HeadObjectCommand({ Bucket: 'sums', Key: 'plain' }))).ChecksumCRC64NVME).toBeUndefined();
  });

  it('a copy keeps its source\'s checksum', async () => {
    const data = randomBytes(10_000);
    await server.client().send(new PutObjectCommand({ Bucket: 'sums', Key: 'copy-source', Body: data, ChecksumAlgorithm: 'CRC32C' }));
    await server.client().send(new CopyObjectCommand({ Bucket: 'sums', Key: 'copied', CopySource: 'sums/copy-source' }));
    const head = await server.client().send(new HeadObjectCommand({ Bucket: 'sums', Key: 'copied', ChecksumMode: 'ENABLED' }));
    expect(head.ChecksumCRC32C).toBe(VALUES.crc32c!(data));
  });

  it('a CRC-64/NVME in a signed trailer is checked like a header', async () => {
    const data = Buffer.from('trailing crc64 '.repeat(6000));
    const good = await streamingSignedPut(server.port, '/sums/trailer', data, { trailer: { name: 'x-amz-checksum-crc64nvme', value: VALUES.crc64nvme!(data) } });
    const stored = await send(server.port, 'PUT', '/sums/trailer', good.headers, good.body);
    expect(stored.status).toBe(200);
    expect(stored.headers['x-amz-checksum-crc64nvme']).toBe(VALUES.crc64nvme!(data));
    const bad = await streamingSignedPut(server.port, '/sums/trailer', Buffer.from('other'), { trailer: { name: 'x-amz-checksum-crc64nvme', value: VALUES.crc64nvme!(data) } });
    const refused = await send(server.port, 'PUT', '/sums/trailer', bad.headers, bad.body);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatch(/<Code>BadDigest<\/Code>/);
    expect(await body('trailer')).toEqual(data);
  });

  it('a checksum trailer sent without x-amz-trailer announcing it is checked all the same: kept when right, BadDigest when wrong', async () => {
    const data = Buffer.from('unannounced trailer '.repeat(4000));
    const trailer = { name: 'x-amz-checksum-crc32c', value: VALUES.crc32c!(data) };
    const good = await streamingSignedPut(server.port, '/sums/unannounced', data, { trailer, unannounced: true });
    const stored = await send(server.port, 'PUT', '/sums/unannounced', good.headers, good.body);
    expect(stored.status).toBe(200);
    const head = await server.client().send(new HeadObjectCommand({ Bucket: 'sums', Key: 'unannounced', ChecksumMode: 'ENABLED' }));
    expect(head.ChecksumCRC32C).toBe(trailer.value);
    expect(head.ChecksumCRC64NVME).toBeUndefined();
    const other = Buffer.from('other bytes, same trailer');
    const bad = await streamingSignedPut(server.port, '/sums/unannounced', other, { trailer, unannounced: true });
    const refused = await send(server.port, 'PUT', '/sums/unannounced', bad.headers, bad.body);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatch(/<Code>BadDigest<\/Code>/);
    expect(await body('unannounced')).toEqual(data);
  });

  it('an algorithm S3 does not have, or two checksums at once, is InvalidRequest and nothing is stored; the settings headers are not algorithms', async () => {
    const data = Buffer.from('unknown');
    const unknown = await put('unknown', data, { 'x-amz-checksum-md5': sha('md5', data) });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatch(/<Code>InvalidRequest<\/Code>/);
    const two = await put('unknown', data, { 'x-amz-checksum-crc32': VALUES.crc32!(data), 'x-amz-checksum-sha256': VALUES.sha256!(data) });
    expect(two.status).toBe(400);
    expect(two.body).toMatch(/<Code>InvalidRequest<\/Code>/);
    expect((await send(server.port, 'GET', '/sums/unknown', await signedHeaders(server.port, 'GET', '/sums/unknown', {}))).status).toBe(404);
    const settings = await put('unknown', data, { 'x-amz-checksum-crc32': VALUES.crc32!(data), 'x-amz-checksum-type': 'FULL_OBJECT', 'x-amz-checksum-algorithm': 'CRC32' });
    expect(settings.status).toBe(200);
  });

  describe('of multipart uploads', () => {
    /** Checksums computed apart from the server: the SDK's own JavaScript CRCs, and OpenSSL's hashes. */
    const independent = async (algorithm: string, data: Buffer): Promise<Buffer> => {
      if (algorithm === 'SHA1' || algorithm === 'SHA256') return createHash(algorithm.toLowerCase()).update(data).digest();
      const h = algorithm === 'CRC32' ? new Crc32Js() : algorithm === 'CRC32C' ? new Crc32cJs() : new Crc64NvmeJs();
      h.update(data);
      return Buffer.from(await h.digest());
    };
    const parts = [randomBytes(5 << 20), randomBytes((1 << 20) + 3)];
    const whole = Buffer.concat(parts);

    async function upload(key: string, algorithm?: string, type?: string): Promise<{ uploadId: string; done: CompletedPart[] }> {
      const s3 = server.client();
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'sums', Key: key, ...(algorithm ? { ChecksumAlgorithm: algorithm as ChecksumAlgorithm } : {}), ...(type ? { ChecksumType: type as ChecksumType } : {}) }));
      const done: CompletedPart[] = [];
      for (const [i, Body] of parts.entries()) {
        const r = await s3.send(new UploadPartCommand({ Bucket: 'sums', Key: key, UploadId, PartNumber: i + 1, Body, ...(algorithm ? { ChecksumAlgorithm: algorithm as ChecksumAlgorithm } : {}) }));
        const field = `Checksum${algorithm ?? 'CRC32'}` as keyof typeof r;
        done.push({ PartNumber: i + 1, ETag: r.ETag, ...(algorithm ? { [field]: r[field] } : {}) });
      }
      return { uploadId: UploadId!, done };
    }

    it.each([['CRC32', 'FULL_OBJECT'], ['CRC32', 'COMPOSITE'], ['CRC32C', 'FULL_OBJECT'], ['CRC32C', 'COMPOSITE'], ['CRC64NVME', 'FULL_OBJECT'], ['SHA1', 'COMPOSITE'], ['SHA256', 'COMPOSITE']])(
      '%s %s: the object\'s checksum is the one S3 defines, from the parts\' checksums, in the answer, in HEAD, in the attributes and in ListParts',
      async (algorithm, type) => {
        const key = `mpu/${algorithm}-${type}`;
        const { uploadId, done } = await upload(key, algorithm, type);
        const listed = await server.client().send(new ListPartsCommand({ Bucket: 'sums', Key: key, UploadId: uploadId }));
        expect(listed.ChecksumAlgorithm).toBe(algorithm);
        expect(listed.ChecksumType).toBe(type);
        const field = `Checksum${algorithm}` as 'ChecksumCRC32';
        expect(listed.Parts!.map((p) => p[field])).toEqual(await Promise.all(parts.map(async (p) => (await independent(algorithm, p)).toString('base64'))));
        const completed = await server.client().send(new CompleteMultipartUploadCommand({ Bucket: 'sums', Key: key, UploadId: uploadId, MultipartUpload: { Parts: done } }));
        const expected = type === 'FULL_OBJECT'
          ? (await independent(algorithm, whole)).toString('base64')
          : `${(await independent(algorithm, Buffer.concat(await Promise.all(parts.map((p) => independent(algorithm, p)))))).toString('base64')}-2`;
        expect(completed[field]).toBe(expected);
        expect(completed.ChecksumType).toBe(type);
        const head = await server.client().send(new HeadObjectCommand({ Bucket: 'sums', Key: key, ChecksumMode: 'ENABLED' }));
        expect(head[field]).toBe(expected);
        expect(head.ChecksumType).toBe(type);
        const attributes = await server.client().send(new GetObjectAttributesCommand({ Bucket: 'sums', Key: key, ObjectAttributes: ['Checksum', 'ObjectParts'] }));
        expect(attributes.Checksum?.[field]).toBe(expected);
        expect(attributes.Checksum?.ChecksumType).toBe(type);
        expect(attributes.ObjectParts?.Parts?.map((p) => p[field])).toEqual(listed.Parts!.map((p) => p[field]));
        // One part, checksum mode on: that part's checksum.
        const second = await server.client().send(new HeadObjectCommand({ Bucket: 'sums', Key: key, PartNumber: 2, ChecksumMode: 'ENABLED' }));
        expect(second[field]).toBe(listed.Parts![1]![field]);
        expect(second.ContentLength).toBe(parts[1]!.length);
      },
    );

    it('an upload that asks for no checksum gets a CRC-64/NVME of the whole object, combined from its parts', async () => {
      const { uploadId, done } = await upload('mpu/plain');
      const completed = await server.client().send(new CompleteMultipartUploadCommand({ Bucket: 'sums', Key: 'mpu/plain', UploadId: uploadId, MultipartUpload: { Parts: done } }));
      expect(completed.ChecksumCRC64NVME).toBe((await independent('CRC64NVME', whole)).toString('base64'));
      expect(completed.ChecksumType).toBe('FULL_OBJECT');
      const head = await server.client().send(new HeadObjectCommand({ Bucket: 'sums', Key: 'mpu/plain', ChecksumMode: 'ENABLED' }));
      expect(head.ChecksumCRC64NVME).toBe(completed.ChecksumCRC64NVME);
    });

    it('a part checksum that is not the part\'s is InvalidPart, a whole-object checksum that is not the parts\' is BadDigest; neither commits', async () => {
      const { uploadId, done } = await upload('mpu/wrong', 'CRC32C', 'FULL_OBJECT');
      const wrongPart = done.map((p, i) => (i === 0 ? { ...p, ChecksumCRC32C: (p.ChecksumCRC32C === 'AAAAAA==' ? 'AAAAAQ==' : 'AAAAAA==') } : p));
      expect(await failure(server.client().send(new CompleteMultipartUploadCommand({ Bucket: 'sums', Key: 'mpu/wrong', UploadId: uploadId, MultipartUpload: { Parts: wrongPart } })))).toEqual({ name: 'InvalidPart', status: 400 });
      expect(await failure(server.client().send(new CompleteMultipartUploadCommand({ Bucket: 'sums', Key: 'mpu/wrong', UploadId: uploadId, MultipartUpload: { Parts: done }, ChecksumCRC32C: 'AAAAAA==', ChecksumType: 'FULL_OBJECT' })))).toEqual({ name: 'BadDigest', status: 400 });
      expect(await failure(server.client().send(new HeadObjectCommand({ Bucket: 'sums', Key: 'mpu/wrong' })))).toEqual({ name: 'NotFound', status: 404 });
      const right = (await independent('CRC32C', whole)).toString('base64');
      const completed = await server.client().send(new CompleteMultipartUploadCommand({ Bucket: 'sums', Key: 'mpu/wrong', UploadId: uploadId, MultipartUpload: { Parts: done }, ChecksumCRC32C: right, ChecksumType: 'FULL_OBJECT' }));
      expect(completed.ChecksumCRC32C).toBe(right);
    });

    it.each([['CRC64NVME', 'COMPOSITE'], ['SHA256', 'FULL_OBJECT'], ['SHA1', 'FULL_OBJECT'], [undefined, 'COMPOSITE'], ['MD5', undefined]])('CreateMultipartUpload with %s %s is InvalidRequest', async (algorithm, type) => {
      const headers = { ...(algorithm ? { 'x-amz-checksum-algorithm': algorithm } : {}), ...(type ? { 'x-amz-checksum-type': type } : {}) };
      const r = await send(server.port, 'POST', '/sums/mpu/refused?uploads', await signedHeaders(server.port, 'POST', '/sums/mpu/refused?uploads=', headers));
      expect(r.status).toBe(400);
      expect(r.body).toMatch(/<Code>InvalidRequest<\/Code>/);
    });
  });
});
