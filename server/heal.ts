import type { KintsugiConfig } from '../core/config.js';
import { createContainer } from '../core/container.js';
import { BucketUsage } from '../core/engine/bucket-usage.js';
import { BucketStore } from '../core/engine/buckets.js';
import { Healer, type HealSummary } from '../core/engine/healer.js';
import { TOKENS } from '../core/tokens.js';
import { countObjects, HealProgress } from './heal-progress.js';
import { PLUGINS } from './plugins.js';

export function formatSummary(s: HealSummary): string {
  return [
    `objects checked     ${s.objectsChecked}`,
    `shards rebuilt      ${s.shardsRebuilt}`,
    `replicas repaired   ${s.replicasRepaired}`,
    `bytes rewritten     ${s.bytesRewritten}`,
    `orphans removed     ${s.orphansRemoved}`,
    `deferred            ${s.deferred}${s.deferred ? ' (nodes unavailable: run heal again once they are back)' : ''}`,
    `indexes rebuilt     ${s.indexesRebuilt.length}${s.indexesRebuilt.length ? `: ${s.indexesRebuilt.join('; ')}` : ''}`,
    `unrecoverable       ${s.unrecoverable.length}${s.unrecoverable.length ? `: ${s.unrecoverable.join(', ')}` : ''}`,
    '',
  ].join('\n');
}

/**
 * `kintsugi heal [--json] [--grace=SECONDS] [--deep] [--rate=OBJECTS]`: one
 * full pass (`--deep`: every block of every large object read against its
 * checksum, not only each shard file's presence; `--rate`: objects a second
 * at most); exit status 0 only when nothing is left unrecoverable.
 */
export async function runHeal(config: KintsugiConfig, args: string[]): Promise<number> {
  const json = args.includes('--json');
  const graceArg = args.find((a) => a.startsWith('--grace='));
  const graceMs = graceArg ? Number(graceArg.slice('--grace='.length)) * 1000 : undefined;
  const rate = Number(args.find((a) => a.startsWith('--rate='))?.slice('--rate='.length) ?? 0);
  const deep = args.includes('--deep');
  // Node faults and index repairs are worth a line each on stderr.
  // Nodes whose shelves are walked before they are mapped (after a crash, or beside a running server) take part once walked.
  const container = await createContainer(config, PLUGINS, { waitForChecks: (n) => process.stderr.write(`heal: waiting for nodes ${n.join(', ')} to be checked\n`), logger: { info() {}, warn() {}, error: (m, f) => process.stderr.write(`${m} ${JSON.stringify(f)}\n`) } });
  // A replaced disk lacks the cluster layout too.
  await container.resolve(TOKENS.Layout).refresh(true);
  const healer = container.resolve(Healer);
  const progress = json ? undefined : new HealProgress(await countObjects(container.resolve(BucketStore), container.resolve(TOKENS.MetadataStore)).catch(() => 0));
  const summary = await healer.pass({ ...(graceMs !== undefined ? { graceMs } : {}), ...(progress ? { onProgress: (done: number, current: string, found: HealSummary) => progress.update(done, current, found) } : {}), waitForIndexes: true, deep, rate });
  progress?.end();
  process.stdout.write(json ? JSON.stringify(summary) + '\n' : formatSummary(summary));
  // Usage reconciled with what the pass found (after its figures: not part of its time).
  await container.resolve(BucketUsage).countEvery();
  await container.resolve(TOKENS.MetadataStore).close();
  await container.resolve(TOKENS.Nodes).close();
  return summary.unrecoverable.length === 0 ? 0 : 1;
}
