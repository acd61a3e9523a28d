import { createHash, randomBytes } from 'node:crypto';

import {
  CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteBucketCommand, DeleteObjectCommand, DeleteObjectsCommand,
  GetObjectCommand, GetObjectRetentionCommand, HeadBucketCommand, HeadObjectCommand, PutObjectCommand, PutObjectLegalHoldCommand,
  PutObjectLockConfigurationCommand, PutObjectRetentionCommand, UploadPartCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { listKeys } from '../helpers/listing.js';
import { CLUSTER_SECRET, restartNode, startNode, stopNode, type NodeProcess } from '../helpers/nodes.js';
import { failure, startServer, type RunningServer } from '../helpers/server.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('two stateless gateways sharing seven `kintsugi node` processes', () => {
  const nodes: NodeProcess[] = [];
  let a: RunningServer;
  let b: RunningServer;
  let viaA: S3Client;
  let viaB: S3Client;
  const nodesEnv = () => ({ NODES: nodes.map((n) => n.url).join(','), CLUSTER_SECRET });
  /** every object acknowledged so far, as it must read back */
  const acknowledged = new Map<string, string>();

  const put = async (client: S3Client, Key: string, Body: Buffer) => {
    await client.send(new PutObjectCommand({ Bucket: 'shared', Key, Body }));
    acknowledged.set(Key, sha(Body));
  };
  const read = async (client: S3Client, Key: string) => sha(await (await client.send(new GetObjectCommand({ Bucket: 'shared', Key }))).Body!.transformToByteArray());
  const readsAll = async (client: S3Client) => {
    for (const [key, digest] of acknowledged) {
      const got = await read(client, key).catch((err: Error) => { throw new Error(`${key}: ${err.message}\nA: ${a.logs().split('\n').filter((l) => !l.includes('"request"')).slice(-15).join('\n')}\nB: ${b.logs().split('\n').filter((l) => !l.includes('"request"')).slice(-15).join('\n')}`); });
      expect(got, key).toBe(digest);
    }
  };
  const listAll = (client: S3Client) => listKeys(client, 'shared');

  beforeAll(async () => {
    for (let i = 0; i < 7; i++) nodes.push(await startNode(tempDir(`kintsugi-gw-node-${i}-`)));
    a = await startServer(nodesEnv());
    b = await startServer(nodesEnv());
    viaA = a.client();
    viaB = b.client();
    await viaA.send(new CreateBucketCommand({ Bucket: 'shared' }));
  }, 90_000);
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    for (const n of nodes) await stopNode(n);
  });

  it('what one gateway acknowledges, the other reads, lists and deletes at once', async () => {
    for (let i = 0; i < 6; i++) {
      const body = randomBytes(i % 2 === 0 ? 3000 : 2 << 20);
      await put(i % 3 === 0 ? viaA : viaB, `first/${i}`, body);
      expect(await read(i % 3 === 0 ? viaB : viaA, `first/${i}`)).toBe(sha(body));
    }
    // The last completed write wins, whichever gateway took it.
    await put(viaA, 'first/0', Buffer.from('from A'));
    await put(viaB, 'first/0', Buffer.from('from B, later'));
    expect(await read(viaA, 'first/0')).toBe(sha(Buffer.from('from B, later')));
    expect(await listAll(viaA)).toEqual(await listAll(viaB));
    expect(await listAll(viaB)).toEqual([...acknowledged.keys()].sort());
    await viaB.send(new PutObjectCommand({ Bucket: 'shared', Key: 'doomed', Body: 'x' }));
    await viaA.send(new DeleteObjectCommand({ Bucket: 'shared', Key: 'doomed' }));
    expect((await failure(viaB.send(new GetObjectCommand({ Bucket: 'shared', Key: 'doomed' })))).name).toBe('NoSuchKey');
  }, 60_000);

  it('of conditional creates racing through both gateways, exactly one wins', async () => {
    for (let round = 0; round < 8; round++) {
      const Key = `race/${round}`;
      const outcomes = await Promise.allSettled([viaA, viaB, viaA, viaB].map((client, i) =>
        client.send(new PutObjectCommand({ Bucket: 'shared', Key, Body: `writer ${i}`, IfNoneMatch: '*' }))));
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      expect(won, `round ${round}`).toHaveLength(1);
      for (const o of outcomes) {
        if (o.status === 'rejected') expect(['PreconditionFailed', 'ConditionalRequestConflict']).toContain((o.reason as { name: string }).name);
      }
      const winner = outcomes.indexOf(won[0]!);
      expect(await (await viaB.send(new GetObjectCommand({ Bucket: 'shared', Key }))).Body!.transformToString()).toBe(`writer ${winner}`);
      acknowledged.set(Key, sha(Buffer.from(`writer ${winner}`)));
    }
  }, 120_000);

  it('a multipart upload started through one gateway completes through the other', async () => {
    const parts = [randomBytes(5 << 20), randomBytes(1 << 20)];
    const { UploadId } = await viaA.send(new CreateMultipartUploadCommand({ Bucket: 'shared', Key: 'multi' }));
    const etags: string[] = [];
    for (const [i, Body] of parts.entries()) {
      const client = i === 0 ? viaB : viaA;
      etags.push((await client.send(new UploadPartCommand({ Bucket: 'shared', Key: 'multi', UploadId, PartNumber: i + 1, Body }))).ETag!);
    }
    await viaB.send(new CompleteMultipartUploadCommand({
      Bucket: 'shared', Key: 'multi', UploadId,
      MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
    }));
    acknowledged.set('multi', sha(Buffer.concat(parts)));
    expect(await read(viaA, 'multi')).toBe(acknowledged.get('multi'));
  }, 60_000);

  it('a bucket deleted through one gateway is gone for the other at once', async () => {
    await viaA.send(new CreateBucketCommand({ Bucket: 'short-lived' }));
    // B has just used the bucket: it must not keep it.
    await viaB.send(new HeadBucketCommand({ Bucket: 'short-lived' }));
    await viaB.send(new PutObjectCommand({ Bucket: 'short-lived', Key: 'k', Body: 'v' }));
    await viaA.send(new DeleteObjectCommand({ Bucket: 'short-lived', Key: 'k' }));
    await viaA.send(new DeleteBucketCommand({ Bucket: 'short-lived' }));
    expect((await failure(viaB.send(new PutObjectCommand({ Bucket: 'short-lived', Key: 'late', Body: 'v' })))).name).toBe('NoSuchBucket');
    expect((await failure(viaB.send(new HeadBucketCommand({ Bucket: 'short-lived' })))).status).toBe(404);
  }, 60_000);

  /** Versions Object Lock keeps, checked again after nodes are lost and healed. */
  const locked: { Key: string; VersionId: string; mode?: string; hold?: string }[] = [];
  /** `deletes`: try deleting each (a cluster short of nodes refuses every delete, locked or not: 503). */
  const stillLocked = async (client: S3Client, deletes = true) => {
    for (const { Key, VersionId, mode, hold } of locked) {
      const head = await client.send(new HeadObjectCommand({ Bucket: 'worm', Key, VersionId }));
      expect([head.ObjectLockMode, head.ObjectLockLegalHoldStatus], Key).toEqual([mode, hold]);
      if (deletes) expect(await failure(client.send(new DeleteObjectCommand({ Bucket: 'worm', Key, VersionId, BypassGovernanceRetention: true }))), Key).toEqual({ name: 'AccessDenied', status: 403 });
    }
  };

  it('Object Lock set through one gateway holds through the other', async () => {
    await viaA.send(new CreateBucketCommand({ Bucket: 'worm', ObjectLockEnabledForBucket: true }));
    await viaA.send(new PutObjectLockConfigurationCommand({ Bucket: 'worm', ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 1 } } } }));
    // B writes under A's default retention.
    const byDefault = (await viaB.send(new PutObjectCommand({ Bucket: 'worm', Key: 'default', Body: randomBytes(1 << 20) }))).VersionId!;
    expect((await viaA.send(new GetObjectRetentionCommand({ Bucket: 'worm', Key: 'default', VersionId: byDefault }))).Retention?.Mode).toBe('COMPLIANCE');
    locked.push({ Key: 'default', VersionId: byDefault, mode: 'COMPLIANCE' });
    // A puts a hold on a version B wrote with GOVERNANCE; B cannot delete it, even bypassing governance.
    const governed = (await viaB.send(new PutObjectCommand({ Bucket: 'worm', Key: 'held', Body: 'small', ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: new Date(Date.now() + 86_400_000) }))).VersionId!;
    await viaA.send(new PutObjectLegalHoldCommand({ Bucket: 'worm', Key: 'held', VersionId: governed, LegalHold: { Status: 'ON' } }));
    locked.push({ Key: 'held', VersionId: governed, mode: 'GOVERNANCE', hold: 'ON' });
    await stillLocked(viaB);
    // B shortens A's governance retention only with the bypass; COMPLIANCE stays for both.
    expect(await failure(viaB.send(new PutObjectRetentionCommand({ Bucket: 'worm', Key: 'held', VersionId: governed, Retention: { Mode: 'GOVERNANCE', RetainUntilDate: new Date(Date.now() + 3_600_000) } })))).toEqual({ name: 'AccessDenied', status: 403 });
    expect(await failure(viaA.send(new PutObjectRetentionCommand({ Bucket: 'worm', Key: 'default', VersionId: byDefault, BypassGovernanceRetention: true, Retention: {} })))).toEqual({ name: 'AccessDenied', status: 403 });
    const out = await viaA.send(new DeleteObjectsCommand({ Bucket: 'worm', Delete: { Objects: [{ Key: 'default', VersionId: byDefault }, { Key: 'held', VersionId: governed }] } }));
    expect(out.Errors?.map((e) => e.Code)).toEqual(['AccessDenied', 'AccessDenied']);
    await stillLocked(viaA);
  }, 60_000);

  /** `kintsugi heal` from a third process, as a host of its own would run it. */
  const heal = () => {
    const run = runCli(['heal', '--json', '--grace=0'], { ...nodesEnv(), SYNC: 'off' });
    expect(run.status, run.stderr.slice(-2000)).toBe(0);
    return JSON.parse(run.stdout) as { shardsRebuilt: number; replicasRepaired: number; unrecoverable: unknown[] };
  };

  it('survives three nodes killed, then one hung, each healed after, then three others lost: nothing acknowledged is lost or torn', async () => {
    // Three nodes die (kill -9) while both gateways take writes.
    for (const i of [0, 1, 2]) await stopNode(nodes[i]!, 'SIGKILL');
    for (let i = 0; i < 6; i++) await put(i % 2 ? viaA : viaB, `degraded/${i}`, randomBytes(i % 3 === 0 ? 900 : 1 << 20));
    await readsAll(viaA);
    for (const i of [0, 1, 2]) nodes[i] = await restartNode(nodes[i]!);
    const first = heal();
    expect(first.shardsRebuilt + first.replicasRepaired).toBeGreaterThan(0);
    expect(first.unrecoverable).toEqual([]);
    // One node hangs (SIGSTOP: connections are accepted, nothing answers) — slow, not refused.
    nodes[3]!.child.kill('SIGSTOP');
    try {
      for (let i = 0; i < 3; i++) await put(i % 2 ? viaA : viaB, `hung/${i}`, randomBytes(i === 0 ? 500 : 1 << 20));
      await readsAll(viaB);
    } finally {
      nodes[3]!.child.kill('SIGCONT');
    }
    expect(heal().unrecoverable).toEqual([]);
    // Then three others are lost: what the healed nodes hold must be enough.
    for (const i of [4, 5, 6]) await stopNode(nodes[i]!, 'SIGKILL');
    await readsAll(viaA);
    await readsAll(viaB);
    expect(await listAll(viaB)).toEqual([...acknowledged.keys()].sort());
    // The healer rebuilt locked versions with their locks, and took none of them away.
    await stillLocked(viaA, false);
    for (const i of [4, 5, 6]) nodes[i] = await restartNode(nodes[i]!);
    await stillLocked(viaB);
  }, 240_000);
});
