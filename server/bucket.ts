import type { KintsugiConfig } from '../core/config.js';
import { createContainer } from '../core/container.js';
import { BucketUsage } from '../core/engine/bucket-usage.js';
import { BucketStore } from '../core/engine/buckets.js';
import { PLUGINS } from './plugins.js';

export const BUCKET_HELP = `  bucket quota BUCKET SIZE|none
                set (or remove) a bucket's hard quota on the bytes of all its
                versions and incomplete uploads; SIZE in bytes, or with a
                unit: 500MB, 20GiB, 2TB
  bucket usage BUCKET [--json]
                count a bucket's objects, versions and bytes now
`;

const UNITS: Record<string, number> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, pb: 1e15, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40, pib: 2 ** 50 };

/** A size as an operator writes it (`20GiB`, `500MB`, `1048576`), in bytes; undefined when it is none. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  const bytes = m && unit !== undefined ? Math.round(Number(m[1]) * unit) : NaN;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/**
 * `kintsugi bucket quota BUCKET SIZE|none` and `kintsugi bucket usage
 * BUCKET`: worked on the nodes directly (as `heal` is), so they need no
 * running server; every gateway sees a quota change on its next request.
 */
export async function runBucket(config: KintsugiConfig, args: string[]): Promise<number> {
  const [what, name, value] = args;
  if ((what !== 'quota' && what !== 'usage') || !name || (what === 'quota' && value === undefined)) {
    process.stderr.write(`usage:\n${BUCKET_HELP}`);
    return 2;
  }
  const quota = what === 'quota' && value !== 'none' ? parseSize(value!) : undefined;
  if (what === 'quota' && value !== 'none' && quota === undefined) {
    process.stderr.write(`kintsugi bucket quota: ${JSON.stringify(value)} is no size (bytes, or a number with KB, MB, GB, TB, KiB, MiB, GiB, TiB)\n`);
    return 2;
  }
  const container = await createContainer(config, PLUGINS, { logger: { info() {}, warn() {}, error: (m, f) => process.stderr.write(`${m} ${JSON.stringify(f)}\n`) } });
  const buckets = container.resolve(BucketStore);
  if (what === 'quota') {
    await buckets.setQuota(name, quota);
    process.stdout.write(quota === undefined ? `bucket ${name}: no quota\n` : `bucket ${name}: quota ${quota} bytes\n`);
    return 0;
  }
  await buckets.get(name);
  const u = await container.resolve(BucketUsage).count(name);
  const { quotaBytes } = await buckets.get(name);
  if (args.includes('--json')) process.stdout.write(JSON.stringify({ name, usage: u, ...(quotaBytes !== undefined ? { quotaBytes } : {}) }) + '\n');
  else process.stdout.write(`bucket ${name}: ${u.objects} objects, ${u.versions} versions, ${u.bytes} bytes (${u.storedBytes} stored with parity), ${u.uploads} uploads in progress of ${u.uploadBytes} bytes${quotaBytes !== undefined ? `; quota ${quotaBytes} bytes` : ''}\n`);
  return 0;
}
