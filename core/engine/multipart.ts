import 'reflect-metadata';

import { createHash } from 'node:crypto';

import { inject, injectable } from 'tsyringe';

import type { CrcEngine } from '../contracts/crc.js';
import { withStripeBytes, type ChecksumType, type ObjectRecord, type PartSpan } from '../contracts/metadata.js';
import type { NodeSet } from '../contracts/nodes.js';
import {
  ChecksumMismatchError, EntityTooSmallError, InvalidPartError, InvalidPartOrderError, KintsugiError, NoSuchUploadError, WriteQuorumError,
} from '../errors.js';
import { listOnMajority, readJsonFromMajority, removeOnAll, restoreOnAll, writeOnAll } from './node-quorum.js';
import { completedRecordPath, objectDir, partRecordDir, uploadDir, uploadRecordPath } from '../layout.js';
import { TOKENS } from '../tokens.js';
import { newVersionId, VERSION_ID_PATTERN } from '../version-id.js';
import { assertBucketName, assertKey } from './names.js';
import { metadataFields, ObjectEngine, type PutOptions, type WriteCondition } from './object-engine.js';
import { defaultRetentionFrom, type DefaultRetention } from './object-lock.js';
import { uploadChecksumValue, type UploadChecksum } from './upload-checksum.js';
import { VersionWriter } from './version-writer.js';

/**
 * How long a completed upload is remembered, so that a client retrying its
 * CompleteMultipartUpload after a lost answer gets the same answer (the
 * healer forgets older ones).
 */
const COMPLETED_KEPT_MS = 60 * 60 * 1000;

/** What CompleteMultipartUpload answered. */
export interface CompletedUpload {
  key: string;
  uploadId: string;
  versionId: string;
  etag: string;
  completedMs: number;
  /** the object's checksum, when it has one */
  checksum?: { algorithm: string; value: string; type: ChecksumType };
}

/** S3's floor for every part but the last. */
export const MIN_PART_SIZE = 5 << 20;

export interface UploadInfo {
  bucket: string;
  key: string;
  uploadId: string;
  initiatedMs: number;
  /** content type, headers and user metadata given at creation (checksums are per part) */
  options: Omit<PutOptions, 'checksums'>;
  /** the checksum asked for at creation (x-amz-checksum-algorithm, -type) */
  checksum?: UploadChecksum;
}

/** One uploaded part attempt; the newest attempt of a part number counts. */
export interface PartInfo {
  partNumber: number;
  attempt: string;
  etag: string;
  size: number;
  modifiedMs: number;
  span: Omit<PartSpan, 'partNumber' | 'etag'>;
  /** its x-amz-checksum-* values (base64) by algorithm: the upload's, and always a CRC-64/NVME */
  checksums?: Record<string, string>;
}

/**
 * Multipart uploads. Each part is erasure-coded as it arrives, into its own
 * folder under `u-<uploadId>` in the object's data folder; the upload and
 * each part attempt are small JSON records on every node (a majority must
 * take them). Completion renames the upload folder to the new version's
 * folder on every node (no data is copied) and commits a record that lists
 * the parts' spans; until that record is written, the previous version is
 * what readers get.
 */
@injectable()
export class MultipartUploads {
  constructor(
    @inject(ObjectEngine) private readonly engine: ObjectEngine,
    @inject(VersionWriter) private readonly writer: VersionWriter,
    @inject(TOKENS.Nodes) private readonly nodes: NodeSet,
    @inject(TOKENS.Crc) private readonly crc: CrcEngine,
  ) {}

  async create(bucket: string, key: string, options: UploadInfo['options'], checksum?: UploadChecksum): Promise<string> {
    assertBucketName(bucket);
    assertKey(key);
    const uploadId = newVersionId();
    const info: UploadInfo = { bucket, key, uploadId, initiatedMs: Date.now(), options, ...(checksum ? { checksum } : {}) };
    await this.writeEverywhere(uploadRecordPath(bucket, uploadId), info);
    return uploadId;
  }

  async get(bucket: string, key: string, uploadId: string): Promise<UploadInfo> {
    if (!VERSION_ID_PATTERN.test(uploadId)) throw new NoSuchUploadError(uploadId);
    const info = await readJsonFromMajority<UploadInfo>(this.nodes, uploadRecordPath(bucket, uploadId));
    if (!info || info.key !== key) throw new NoSuchUploadError(uploadId);
    return info;
  }

  /**
   * A part of `upload` (as `get` read it: the caller needs its checksum before
   * the body streams); `checksums`: filled with the part's checksums by the
   * time `body` ends (a checking stream's results).
   */
  async putPart(upload: UploadInfo, partNumber: number, body: AsyncIterable<Uint8Array>, checksums?: ReadonlyMap<string, string>): Promise<PartInfo> {
    const { bucket, key, uploadId } = upload;
    const attempt = newVersionId();
    const sub = `p${String(partNumber).padStart(5, '0')}-${attempt}`;
    const { span, md5 } = await this.writer.write(bucket, key, `${uploadDir(uploadId)}/${sub}`, body);
    const part: PartInfo = {
      partNumber, attempt, etag: md5, size: span.size, modifiedMs: Date.now(), span: { ...span, dir: sub },
      ...(checksums?.size ? { checksums: Object.fromEntries(checksums) } : {}),
    };
    await this.writeEverywhere(`${partRecordDir(bucket, uploadId)}/${sub}`, part);
    return part;
  }

  /** The newest attempt of every part number of `upload` (as `get` read it), in part order. */
  async parts(upload: UploadInfo): Promise<PartInfo[]> {
    const dir = partRecordDir(upload.bucket, upload.uploadId);
    const newest = new Map<number, string>();
    for (const name of await listOnMajority(this.nodes, dir)) {
      const number = Number(name.slice(1, 6));
      if (!newest.has(number) || newest.get(number)! < name) newest.set(number, name);
    }
    const parts = await Promise.all([...newest.values()].map((name) => readJsonFromMajority<PartInfo>(this.nodes, `${dir}/${name}`)));
    return parts.filter((p): p is PartInfo => !!p).map((p) => ({ ...p, span: withStripeBytes(p.span) })).sort((a, b) => a.partNumber - b.partNumber);
  }

  /**
   * Commits the upload as the key's new version. A retried completion of
   * an upload that completed already (a client whose answer was lost)
   * answers the same version for COMPLETED_KEPT_MS.
   */
  async complete(
    bucket: string, key: string, uploadId: string, requested: { partNumber: number; etag: string; checksums?: Record<string, string> }[],
    options: { condition?: WriteCondition; versioned?: boolean; expected?: { algorithm: string; value: string }; defaultRetention?: DefaultRetention } = {},
  ): Promise<CompletedUpload> {
    let info: UploadInfo;
    try {
      info = await this.get(bucket, key, uploadId);
    } catch (err) {
      const done = await this.completed(bucket, key, uploadId);
      if (done) return done;
      throw err;
    }
    if (requested.length === 0) throw new KintsugiError('ERR_MALFORMED_XML', 'You must specify at least one part');
    for (let i = 1; i < requested.length; i++) if (requested[i]!.partNumber <= requested[i - 1]!.partNumber) throw new InvalidPartOrderError();
    const available = new Map((await this.parts(info)).map((p) => [p.partNumber, p]));
    const chosen = requested.map((r, i) => {
      const part = available.get(r.partNumber);
      const etag = r.etag.replace(/"/g, '');
      if (!part || part.etag !== etag) throw new InvalidPartError(`One or more of the specified parts could not be found (part ${r.partNumber}).`);
      for (const [algorithm, value] of Object.entries(r.checksums ?? {})) {
        if (part.checksums?.[algorithm] !== value) throw new InvalidPartError(`The ${algorithm.toUpperCase()} given for part ${r.partNumber} is not the part's.`);
      }
      if (i < requested.length - 1 && part.size < MIN_PART_SIZE) throw new EntityTooSmallError(r.partNumber);
      return part;
    });
    const checksum = this.checksumOf(info, chosen);
    const expected = options.expected;
    if (expected && (expected.algorithm !== checksum?.algorithm || expected.value !== checksum.value)) {
      throw new ChecksumMismatchError(`The ${expected.algorithm.toUpperCase()} you specified for the whole upload did not match the one its parts make.`);
    }

    return this.engine.guarded(bucket, key, options.condition, () => this.commitUpload(info, uploadId, chosen, options, checksum));
  }

  /**
   * The completed object's checksum: the one asked for at creation, or (as
   * S3 keeps one for every new object) a CRC-64/NVME of the whole object
   * combined from the parts'; none when a part has no value (uploaded by a
   * release before checksums were kept).
   */
  private checksumOf(info: UploadInfo, parts: readonly PartInfo[]): CompletedUpload['checksum'] {
    const want = info.checksum ?? { algorithm: 'crc64nvme', type: 'FULL_OBJECT' as const };
    const value = uploadChecksumValue(this.crc, want, parts);
    return value === undefined ? undefined : { ...want, value };
  }

  private async commitUpload(
    info: UploadInfo, uploadId: string, chosen: PartInfo[], options: { versioned?: boolean; defaultRetention?: DefaultRetention }, checksum: CompletedUpload['checksum'],
  ): Promise<CompletedUpload> {
    const { bucket, key } = info;
    const versionId = newVersionId(Date.now(), options.versioned === true);
    const data = objectDir(bucket, key);
    const moved = await Promise.all(this.nodes.drives.map((d) => d.rename(`${data}/${uploadDir(uploadId)}`, `${data}/${versionId}`).then(() => true, () => false)));
    if (moved.filter(Boolean).length < this.writer.writeQuorum) {
      // A concurrent completion of the same upload took the folder first.
      const done = await this.completed(bucket, key, uploadId);
      if (done) return done;
      throw new WriteQuorumError('too few nodes took the completed upload');
    }

    const md5s = createHash('md5');
    for (const p of chosen) md5s.update(Buffer.from(p.etag, 'hex'));
    const parts: PartSpan[] = chosen.map((p) => ({ ...p.span, dir: `${versionId}/${p.span.dir}`, partNumber: p.partNumber, etag: p.etag, ...(p.checksums ? { checksums: p.checksums } : {}) }));
    const first = parts[0]!;
    const createdMs = Date.now();
    // A bucket's default retention counts from the object's creation: now, not the upload's start.
    const lock = options.defaultRetention && !info.options.lock?.retention
      ? { ...info.options.lock, retention: defaultRetentionFrom(options.defaultRetention, createdMs) }
      : info.options.lock;
    const record: ObjectRecord = {
      bucket, key, versionId,
      size: parts.reduce((a, p) => a + p.size, 0),
      etag: `${md5s.digest('hex')}-${parts.length}`,
      createdMs,
      ...metadataFields({ ...info.options, ...(lock ? { lock } : {}) }),
      ...(checksum ? { checksums: { [checksum.algorithm]: checksum.value }, checksumType: checksum.type } : {}),
      codec: first.codec,
      stripeBytes: first.stripeBytes,
      shardNodes: first.shardNodes,
      parts,
    };
    await this.writer.commit(record);
    // Part attempts that did not make it into the object, and the upload's records.
    const keep = new Set(chosen.map((p) => p.span.dir));
    await Promise.all(this.nodes.drives.map(async (d) => {
      const dirs = await d.list(`${data}/${versionId}`).catch(() => [] as string[]);
      await Promise.all(dirs.filter((x) => !keep.has(x)).map((x) => d.remove(`${data}/${versionId}/${x}`).catch(() => undefined)));
    }));
    const done: CompletedUpload = { key, uploadId, versionId, etag: record.etag, completedMs: Date.now(), ...(checksum ? { checksum } : {}) };
    await writeOnAll(this.nodes, completedRecordPath(bucket, uploadId), Buffer.from(JSON.stringify(done))).catch(() => undefined);
    await this.forget(bucket, uploadId);
    return done;
  }

  /**
   * For the healer: a completed upload's answer is restored where it is
   * missing, and forgotten once older than COMPLETED_KEPT_MS (or
   * unreadable). Returns the copies restored.
   */
  async healCompleted(bucket: string, uploadId: string): Promise<number> {
    const path = completedRecordPath(bucket, uploadId);
    const done = await readJsonFromMajority<CompletedUpload>(this.nodes, path);
    if (!done || Date.now() - done.completedMs >= COMPLETED_KEPT_MS) {
      await removeOnAll(this.nodes, path);
      return 0;
    }
    return restoreOnAll(this.nodes, path);
  }

  /** What a completion of this upload answered, when it completed within COMPLETED_KEPT_MS. */
  private async completed(bucket: string, key: string, uploadId: string): Promise<CompletedUpload | undefined> {
    if (!VERSION_ID_PATTERN.test(uploadId)) return undefined;
    const done = await readJsonFromMajority<CompletedUpload>(this.nodes, completedRecordPath(bucket, uploadId));
    return done && done.key === key && Date.now() - done.completedMs < COMPLETED_KEPT_MS ? done : undefined;
  }

  async abort(bucket: string, key: string, uploadId: string): Promise<void> {
    await this.get(bucket, key, uploadId);
    await removeOnAll(this.nodes, `${objectDir(bucket, key)}/${uploadDir(uploadId)}`);
    await this.forget(bucket, uploadId);
  }

  /** Uploads in progress in a bucket, by key then initiation. */
  async list(bucket: string): Promise<UploadInfo[]> {
    const ids = (await listOnMajority(this.nodes, `uploads/${bucket}`)).filter((n) => VERSION_ID_PATTERN.test(n));
    const infos = await Promise.all(ids.map((id) => readJsonFromMajority<UploadInfo>(this.nodes, uploadRecordPath(bucket, id))));
    return infos.filter((i): i is UploadInfo => !!i).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.uploadId < b.uploadId ? -1 : 1));
  }

  private async forget(bucket: string, uploadId: string): Promise<void> {
    await removeOnAll(this.nodes, partRecordDir(bucket, uploadId));
    await removeOnAll(this.nodes, uploadRecordPath(bucket, uploadId));
  }

  private writeEverywhere(path: string, value: unknown): Promise<void> {
    return writeOnAll(this.nodes, path, Buffer.from(JSON.stringify(value)));
  }
}
