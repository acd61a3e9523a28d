import { useEffect, useState } from 'preact/hooks';

import { createBucket, deleteBucket, listBuckets, type Bucket } from '../api';
import { ErrorLine } from '../errors';
import { when } from '../format';
import { href } from '../router';

export function Buckets() {
  const [buckets, setBuckets] = useState<Bucket[] | undefined>();
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>();
  const load = () => listBuckets().then(setBuckets, setError);
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
          <thead><tr><th>Name</th><th class="wide">Created</th><th /></tr></thead>
          <tbody>
            {buckets.map((b) => (
              <tr key={b.name}>
                <td><a href={href.objects(b.name)}>{b.name}</a></td>
                <td class="wide">{when(b.created)}</td>
                <td class="actions"><button class="danger" onClick={() => remove(b.name)} aria-label={`Delete bucket ${b.name}`}>Delete</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
