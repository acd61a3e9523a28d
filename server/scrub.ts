import type { KintsugiConfig } from '../core/config.js';
import type { ScrubDamage, ScrubReport } from '../core/contracts/metadata.js';
import { createContainer } from '../core/container.js';
import { TOKENS } from '../core/tokens.js';
import { PLUGINS } from './plugins.js';

/**
 * `kintsugi scrub [--node=N,...] [--rate=MB] [--json]`: one scrub pass now
 * on the nodes named (every node by default), each node reading its own
 * shelf and shard files against their checksums, at most `--rate` MB a
 * second each (SCRUB_RATE). Prints what each read, how fast, and what it
 * found damaged; exit 0 only when nothing was. It repairs nothing: the
 * server's healer repairs what its own scrubs find, `kintsugi heal --deep`
 * what this one did.
 */
export async function runScrub(config: KintsugiConfig, args: string[]): Promise<number> {
  const json = args.includes('--json');
  const nodesArg = args.find((a) => a.startsWith('--node='))?.slice('--node='.length);
  const nodes = nodesArg?.split(',').map(Number);
  if (nodes?.some((n) => !Number.isInteger(n) || n < 0 || n >= config.numNodes)) {
    process.stderr.write(`kintsugi scrub: --node takes node indexes 0 to ${config.numNodes - 1}\n`);
    return 2;
  }
  const rateMB = Number(args.find((a) => a.startsWith('--rate='))?.slice('--rate='.length) ?? config.scrubRateMB);
  const container = await createContainer(config, PLUGINS, { logger: { info() {}, warn() {}, error: (m, f) => process.stderr.write(`${m} ${JSON.stringify(f)}\n`) } });
  const metadata = container.resolve(TOKENS.MetadataStore);
  const pace = { rateBytes: rateMB * 1e6, periodMs: Math.max(1, config.scrubPeriodDays) * 86_400_000, ...(nodes ? { nodes } : {}) };
  const started = Date.now();
  const damaged: (ScrubDamage & { node: number })[] = [];
  let reports: ScrubReport[] = await metadata.scrub({ ...pace, now: true });
  for (;;) {
    for (const r of reports) damaged.push(...r.damaged.map((d) => ({ ...d, node: r.node })));
    const done = reports.every((r) => r.state === 'unavailable' || (r.lastPass && r.lastPass.startedMs >= started));
    if (done) break;
    await new Promise((r) => setTimeout(r, 250));
    reports = await metadata.scrub(pace);
  }
  const rows = reports.map((r) => {
    const p = r.lastPass;
    const seconds = p ? Math.max(0.001, (p.finishedMs - p.startedMs) / 1000) : 0;
    return { node: r.node, state: r.state, ...(r.why ? { why: r.why } : {}), ...(p ? { items: p.items, bytes: p.bytes, seconds, mbPerSecond: p.bytes / 1e6 / seconds, damaged: p.damaged } : {}) };
  });
  if (json) {
    process.stdout.write(JSON.stringify({ nodes: rows, damaged }) + '\n');
  } else {
    for (const r of rows) {
      process.stdout.write(r.state === 'unavailable'
        ? `node ${r.node}  unavailable: ${r.why ?? ''}\n`
        : `node ${r.node}  ${r.items} items, ${(r.bytes! / 1e6).toFixed(1)} MB in ${r.seconds!.toFixed(1)} s (${r.mbPerSecond!.toFixed(1)} MB/s), ${r.damaged} damaged\n`);
    }
    for (const d of damaged) process.stdout.write(`damaged on node ${d.node}: ${d.bucket}/${d.key ?? '?'}${d.versionId ? ` (${d.versionId})` : ''}: ${d.what}\n`);
  }
  await metadata.close();
  await container.resolve(TOKENS.Nodes).close();
  const unavailable = rows.some((r) => r.state === 'unavailable');
  return damaged.length === 0 && !unavailable ? 0 : 1;
}
