import { addNodes, configuredLocations, drainNodes, removeNodes, reweigh, type ClusterLayout } from '../core/cluster-layout.js';
import type { KintsugiConfig } from '../core/config.js';
import { createContainer } from '../core/container.js';
import { deferredText, Rebalancer, type DrainReport, type RebalanceProgress } from '../core/engine/rebalancer.js';
import { LayoutError } from '../core/errors.js';
import { writeLayout } from '../core/layout-store.js';
import { TOKENS } from '../core/tokens.js';
import { PLUGINS } from './plugins.js';

export const LAYOUT_HELP = `kintsugi layout show [--json]
kintsugi layout add [--weight=W]       add the nodes the configuration names beyond the layout
kintsugi layout weight N W             give node N W times an equal share (data moves to match)
kintsugi layout drain N[,N...]         move everything off nodes (refused if too few would stay)
kintsugi layout remove N[,N...] [--lost]
                                       take drained (empty) nodes out; --lost: dead ones, undrained
kintsugi layout rebalance [--rate=OBJECTS] [--json]
                                       make the moves now (the server makes them in the background)
`;

/** A layout as a table, one line per node. */
export function formatLayout(layout: ClusterLayout): string {
  const lines = [`cluster layout version ${layout.version} (${new Date(layout.changedMs).toISOString()}: ${layout.change})${layout.moving ? ', data moving to it' : ''}`];
  for (const n of layout.nodes) {
    lines.push(`  node ${String(n.index).padEnd(4)} ${n.role.padEnd(9)}${n.filling ? ' filling' : '        '}  weight ${String(n.weight).padEnd(5)} ${n.location}`);
  }
  return lines.join('\n') + '\n';
}

function formatProgress(p: RebalanceProgress): string {
  const seconds = ((p.finishedMs ?? Date.now()) - p.startedMs) / 1000;
  return `rebalance to version ${p.version}: ${p.finishedMs ? 'finished' : 'under way'}, ${p.keys} keys, ${p.versionsMoved} versions moved ` +
    `(${p.shardsMoved} shards, ${p.copiesMoved} record copies, ${(p.bytesMoved / 1e6).toFixed(1)} MB), ${deferredText(p)}, ` +
    `${seconds > 0 ? Math.round(p.keys / seconds) : 0} keys/s${p.resumed ? `, resumed ${p.resumed}x` : ''}\n`;
}

function formatDrain(d: DrainReport): string {
  return `  node ${d.node} draining: ${d.why ? `cannot be looked at (${d.why})` : d.empty ? 'empty, can be removed' : `still holds ${d.records}${d.records >= 64 ? '+' : ''} records, ${d.files}${d.files >= 64 ? '+' : ''} shard files`}\n`;
}

const indexesOf = (arg: string | undefined): number[] => {
  if (!arg || !/^\d+(,\d+)*$/.test(arg)) throw new LayoutError(`name nodes by index, e.g. \`kintsugi layout drain 3\` or \`3,4\` (got ${arg ?? 'nothing'})`);
  return arg.split(',').map(Number);
};

/**
 * `kintsugi layout …`: reads and changes the cluster layout on the nodes
 * the configuration names (the stored layout may name fewer: `add` is how
 * they join). A server running beside it picks the change up within
 * seconds and makes the moves in the background.
 */
export async function runLayout(config: KintsugiConfig, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const json = rest.includes('--json');
  // Beside a running server the shelves are walked before this process maps them: the layout is read once they are.
  const container = await createContainer(config, PLUGINS, {
    checkLayout: false,
    waitForChecks: (n) => process.stderr.write(`layout: waiting for nodes ${n.join(', ')} to be checked\n`),
    logger: { info() {}, warn() {}, error: (m, f) => process.stderr.write(`${m} ${JSON.stringify(f)}\n`) },
  });
  const nodes = container.resolve(TOKENS.Nodes);
  const view = container.resolve(TOKENS.Layout);
  const rebalancer = container.resolve(Rebalancer);
  const shape = { data: config.data, parity: config.parity, metaCopies: config.metaCopies };
  const change = async (next: ClusterLayout) => {
    await writeLayout(nodes, next, view.layout.version);
    view.adopt(next);
    process.stdout.write(formatLayout(next));
  };
  try {
    const layout = view.layout;
    switch (sub) {
      case 'show': {
        const draining = await Promise.all(layout.nodes.filter((n) => n.role === 'draining' && nodes.drives[n.index]).map((n) => rebalancer.drainReport(n.index)));
        const progress = await rebalancer.saved();
        if (json) {
          process.stdout.write(JSON.stringify({ layout, rebalance: progress, draining }) + '\n');
        } else {
          process.stdout.write(formatLayout(layout) + (progress ? formatProgress(progress) : '') + draining.map(formatDrain).join(''));
        }
        return 0;
      }
      case 'add': {
        // The configuration names the layout's nodes first (their identities say so), then the new ones.
        const fresh = configuredLocations(config).slice(layout.nodes.length);
        if (fresh.length === 0) throw new LayoutError(`the configuration names the layout's ${layout.nodes.length} nodes and no more: name the new ones too (NUMNODES=${layout.nodes.length + 1}, or NODES with them appended)`);
        const weight = Number(rest.find((a) => a.startsWith('--weight='))?.slice('--weight='.length) ?? 1);
        await change(addNodes(layout, fresh, weight));
        return 0;
      }
      case 'weight': {
        const [node, weight] = [indexesOf(rest[0]), Number(rest[1])];
        if (node.length !== 1) throw new LayoutError('name one node and its weight, e.g. `kintsugi layout weight 3 2`');
        await change(reweigh(layout, node[0]!, weight));
        return 0;
      }
      case 'drain':
        await change(drainNodes(layout, indexesOf(rest[0]), shape));
        return 0;
      case 'remove': {
        const which = indexesOf(rest[0]);
        const lost = rest.includes('--lost');
        if (!lost) {
          for (const n of which) {
            const report = layout.nodes[n]?.role === 'draining' ? await rebalancer.drainReport(n) : undefined;
            if (report && !report.empty) throw new LayoutError(`node ${n} is not empty yet:${formatDrain(report).replace(/^ {2}node \d+ draining:/, '').trimEnd()}; wait for the rebalance (\`kintsugi layout show\`)`);
          }
        }
        await change(removeNodes(layout, which, shape, lost));
        return 0;
      }
      case 'rebalance': {
        const rate = Number(rest.find((a) => a.startsWith('--rate='))?.slice('--rate='.length) ?? 0);
        rebalancer.setRate(rate);
        const progress = await rebalancer.pass({
          onProgress: json ? undefined : () => { const p = rebalancer.status().progress; if (p) process.stderr.write(`\r${formatProgress(p).trimEnd()}`); },
        });
        const status = rebalancer.status();
        if (json) process.stdout.write(JSON.stringify({ ...status, progress: progress ?? status.progress }) + '\n');
        else process.stdout.write(`\n${progress ? formatProgress(progress) : 'nothing to move\n'}${status.draining.map(formatDrain).join('')}`);
        return progress && progress.deferred > 0 ? 1 : 0;
      }
      default:
        process.stderr.write(LAYOUT_HELP);
        return 2;
    }
  } finally {
    await container.resolve(TOKENS.MetadataStore).close();
    await nodes.close();
  }
}
