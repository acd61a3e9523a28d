import { useEffect, useState } from 'preact/hooks';

import { clusterStatus, createBucket, deleteBucket, listBuckets, type Bucket, type BucketStatus } from '../api';
import { ErrorLine } from '../errors';
import { bytes, when } from '../format';
import { href } from '../router';

export function Buckets() {
  const [buckets, setBuckets] = useState<Bucket[] | undefined>();
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>();
  /** each bucket's usage as last counted (by a heal pass or a quota check) and its quota */
  const [usage, setUsage] = useState<Map<string, BucketStatus>>(new Map());
  const load = async () => {
    await listBuckets().then(setBuckets, setError);
    await clusterStatus().then((s) => setUsage(new Map((s.buckets ?? []).map((b) => [b.name, b]))), () => undefined);
  };
  useEffect(() => { void load(); }, []);

  const create = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      await createBucket(name.trim());
      setName('');
      await load();
    } catch (err) { setError(err); }
  };
  const remove = async (bucket: string) => {
    if (!confirm(`Delete bucket ${bucket}?`)) return;
    setError(undefined);
    try {
      await deleteBucket(bucket);
      await load();
    } catch (err) { setError(err); }
  };

  return (
    <section>
      <h2>Buckets</h2>
      <form class="row" onSubmit={create}>
        <input name="bucket" placeholder="new-bucket-name" value={name} onInput={(e) => setName(e.currentTarget.value)} required pattern="[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]" title="3–63 lower-case letters, digits, dots and hyphens" />
        <button type="submit">Create bucket</button>
      </form>
      <ErrorLine error={error} />
      {buckets === undefined ? <p class="muted">Loading…</p> : buckets.length === 0 ? <p class="muted">No buckets yet.</p> : (
        <table class="list" data-testid="buckets">
          <thead><tr><th>Name</th><th>Objects</th><th>Size</th><th class="wide">Quota</th><th class="wide">Created</th><th /></tr></thead>
          <tbody>
            {buckets.map((b) => {
              const u = usage.get(b.name);
              return (
              <tr key={b.name} data-testid={`bucket-${b.name}`}>
                <td><a href={href.objects(b.name)}>{b.name}</a></td>
                <td data-testid="objects">{u?.usage ? u.usage.objects : '–'}</td>
                <td data-testid="size">{u?.usage ? bytes(u.usage.bytes) : '–'}</td>
                <td class="wide" data-testid="quota">{u?.quotaBytes !== undefined ? bytes(u.quotaBytes) : 'none'}</td>
                <td class="wide">{when(b.created)}</td>
                <td class="actions"><button class="danger" onClick={() => remove(b.name)} aria-label={`Delete bucket ${b.name}`}>Delete</button></td>
              </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
