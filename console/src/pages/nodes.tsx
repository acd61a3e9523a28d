import { useEffect, useState } from 'preact/hooks';

import { clusterStatus, type ClusterLayoutInfo, type ClusterStatus, type RebalanceInfo, type ScrubStatus } from '../api';
import { ErrorLine } from '../errors';
import { ago, bytes } from '../format';

const REFRESH_MS = 3000;

export function Nodes() {
  const [status, setStatus] = useState<ClusterStatus>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    const load = () => clusterStatus().then((s) => { setStatus(s); setError(undefined); }, setError);
    void load();
    const timer = setInterval(load, REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  if (!status) return <section><h2>Nodes</h2><ErrorLine error={error} /><p class="muted">Loading…</p></section>;
  const { quorum, heal } = status;
  const pass = heal.lastPass;
  const running = heal.pass;
  const scrubOf = (n: number) => heal.scrub?.find((sc) => sc.node === n);
  const layoutOf = (n: number) => status.layout?.nodes[n];
  return (
    <section>
      <h2>Nodes</h2>
      <ErrorLine error={error} />
      <div class="quorum row">
        <span class={quorum.writable >= quorum.writeQuorum ? 'ok' : 'bad'} data-testid="write-quorum">Writes: {quorum.writable >= quorum.writeQuorum ? 'quorum' : 'NO QUORUM'} ({quorum.writable} of {status.nodes.length} writable, {quorum.writeQuorum} needed)</span>
        <span class={quorum.readable >= quorum.readQuorum ? 'ok' : 'bad'} data-testid="read-quorum">Reads: {quorum.readable >= quorum.readQuorum ? 'quorum' : 'NO QUORUM'} ({quorum.readable} of {status.nodes.length} readable, {quorum.readQuorum} needed)</span>
        <span class="muted">codec {status.codec}</span>
      </div>
      <table class="list stack" data-testid="nodes">
        <thead><tr><th>Node</th><th>Layout</th><th>State</th><th>Free space</th><th>Shards</th><th>Scrub</th><th class="wide">Latency</th><th>Last error</th></tr></thead>
        <tbody>
          {status.nodes.map((n) => (
            <tr key={n.index} data-node={n.index} data-state={n.state}>
              <td><strong>{n.index}</strong> <span class="muted location">{n.location}</span></td>
              <td data-label="Layout" data-testid="layout-role">{layoutCell(layoutOf(n.index), status.rebalance?.draining.find((d) => d.node === n.index))}</td>
              <td data-label="State"><span class={`state state-${n.state}`}>{n.state}</span> <span class="muted">since {ago(n.sinceMs)}</span></td>
              <td data-label="Free">{n.space ? <><meter min={0} max={n.space.totalBytes} value={n.space.totalBytes - n.space.freeBytes} /> {bytes(n.space.freeBytes)} of {bytes(n.space.totalBytes)}</> : '—'}</td>
              <td data-label="Shards">{pass ? (pass.shardsByNode[n.index] ?? 0) : '—'}</td>
              <td data-label="Scrub" data-testid="scrub">{scrubCell(scrubOf(n.index))}</td>
              <td class="wide">{n.latencyMs.toFixed(1)} ms</td>
              <td class="last-error" data-label="Last error">{n.error ? <>{n.error} <span class="muted">({ago(n.errorMs ?? 0)})</span></> : <span class="muted">none</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {status.layout && <Layout layout={status.layout} rebalance={status.rebalance} />}
      <div class="card" data-testid="heal">
        <h3>Healing</h3>
        <p>{heal.queued} objects queued for repair{heal.healingDegraded ? ' (repairing now)' : ''}{heal.scanning ? '; a background pass is running' : ''}.</p>
        {running && <p data-testid="heal-progress">Pass running for {ago(running.startedMs).replace(/ ago$/, '')}: {running.keys} keys swept ({running.keysPerSecond.toFixed(0)}/s{heal.rate ? `, at most ${heal.rate}/s` : ''}), {running.summary.shardsRebuilt} shards rebuilt, {running.summary.replicasRepaired} copies repaired, {bytes(running.summary.bytesRewritten)} rewritten.</p>}
        <p>{pass
          ? `Last pass ${ago(pass.finishedMs)}: ${pass.objectsChecked} objects checked, ${pass.shardsRebuilt} shards rebuilt, ${pass.replicasRepaired} copies repaired, ${pass.unrecoverable.length} unrecoverable, ${pass.deferred} deferred. Shard counts are from this pass.`
          : 'No background pass has finished since the server started; shard counts appear after one.'}</p>
      </div>
    </section>
  );
}

/** The cluster layout and the moves it asks for. */
function Layout({ layout, rebalance }: { layout: ClusterLayoutInfo; rebalance: RebalanceInfo | undefined }) {
  const p = rebalance?.progress;
  return (
    <div class="card" data-testid="layout">
      <h3>Layout</h3>
      <p>Version {layout.version}, changed {ago(layout.changedMs)}: {layout.change}.{layout.newestVersion > layout.version ? ` The nodes have version ${layout.newestVersion}: this gateway is moving onto it and refuses writes until then.` : ''}</p>
      {p && rebalance!.state !== 'idle' && (
        <p data-testid="rebalance">Rebalance to version {p.version} {rebalance!.state === 'done' ? 'finished' : rebalance!.state}: {p.keys} keys looked at, {p.versionsMoved} versions moved ({p.shardsMoved} shards, {p.copiesMoved} record copies, {bytes(p.bytesMoved)}), {p.deferred} deferred{rebalance!.objectsPerSecond !== undefined ? `, ${rebalance!.objectsPerSecond}/s` : ''}{rebalance!.rate ? ` (at most ${rebalance!.rate}/s)` : ''}{p.resumed ? `, resumed ${p.resumed}×` : ''}.</p>
      )}
      <p class="muted">Nodes are added, drained and removed with <code>kintsugi layout add|drain|remove</code>; see the operations guide.</p>
    </div>
  );
}

/** A node's part in the layout, in a table cell. */
function layoutCell(node: ClusterLayoutInfo['nodes'][number] | undefined, drain: RebalanceInfo['draining'][number] | undefined) {
  if (!node) return <span class="muted">—</span>;
  const note = node.filling ? ' (filling)' : drain ? (drain.empty ? ' (empty)' : ` (${drain.records} records, ${drain.files} files left)`) : '';
  return <>{node.role}{note}{node.weight !== 1 ? <span class="muted"> weight {node.weight}</span> : null}</>;
}

/** Where a node's scrub stands, in a table cell. */
function scrubCell(sc: ScrubStatus | undefined) {
  if (!sc) return <span class="muted">—</span>;
  if (sc.state === 'unavailable') return <span class="muted">unavailable</span>;
  const last = sc.lastPass ? <span class="muted"> last {ago(sc.lastPass.finishedMs)}, {sc.lastPass.damaged} damaged</span> : null;
  if (sc.state === 'scrubbing') return <>{bytes(sc.bytes ?? 0)} read{last}</>;
  return <>done{last}</>;
}
