import { useEffect, useState } from 'preact/hooks';

import { bucketUsage, getBucketTags, getLifecycle, getVersioning, setQuota, setVersioning, type BucketStatus, type LifecycleRule } from '../api';
import { ErrorLine } from '../errors';
import { bytes } from '../format';

const GIB = 2 ** 30;

/** Versioning (with its switch), lifecycle rules and tags of one bucket. */
export function BucketSettings(props: { bucket: string }) {
  const { bucket } = props;
  const [versioning, setState] = useState<string>();
  const [rules, setRules] = useState<LifecycleRule[]>();
  const [tags, setTags] = useState<{ key: string; value: string }[]>();
  const [error, setError] = useState<unknown>();
  const [usage, setUsage] = useState<BucketStatus>();
  const [quotaGiB, setQuotaGiB] = useState('');
  const count = () => bucketUsage(bucket).then(setUsage, setError);
  const changeQuota = async (e: Event | undefined, remove = false) => {
    e?.preventDefault();
    setError(undefined);
    try {
      await setQuota(bucket, remove ? undefined : Math.round(Number(quotaGiB) * GIB));
      setQuotaGiB('');
      await count();
    } catch (err) { setError(err); }
  };
  useEffect(() => {
    void count();
    getVersioning(bucket).then(setState, setError);
    getLifecycle(bucket).then(setRules, setError);
    getBucketTags(bucket).then(setTags, setError);
  }, [bucket]);
  const toggle = async () => {
    setError(undefined);
    const next = versioning === 'Enabled' ? 'Suspended' : 'Enabled';
    try {
      await setVersioning(bucket, next);
      setState(next);
    } catch (err) { setError(err); }
  };
  return (
    <details class="card settings">
      <summary>Bucket settings</summary>
      <dl>
        <dt>Versioning</dt>
        <dd>
          <span data-testid="versioning">{versioning ?? '…'}</span>{' '}
          {versioning !== undefined && <button onClick={toggle}>{versioning === 'Enabled' ? 'Suspend versioning' : 'Enable versioning'}</button>}
        </dd>
        <dt>Lifecycle</dt>
        <dd>{rules === undefined ? '…' : rules.length === 0 ? 'no rules' : (
          <ul>{rules.map((r) => <li key={r.id}>{r.id || '(unnamed)'} — {r.status}{r.prefix ? `, prefix ${r.prefix}` : ''}: {r.what.join('; ') || 'no actions'}</li>)}</ul>
        )}</dd>
        <dt>Usage</dt>
        <dd data-testid="usage">{usage?.usage ? `${usage.usage.objects} objects, ${usage.usage.versions} versions, ${bytes(usage.usage.bytes)} (${bytes(usage.usage.storedBytes)} stored), ${usage.usage.uploads} uploads of ${bytes(usage.usage.uploadBytes)}` : '…'}</dd>
        <dt>Quota</dt>
        <dd>
          <span data-testid="quota">{usage === undefined ? '…' : usage.quotaBytes !== undefined ? bytes(usage.quotaBytes) : 'none'}</span>
          <form class="row" onSubmit={(e) => changeQuota(e)}>
            <input name="quota" type="number" min="0.001" step="any" placeholder="GiB" value={quotaGiB} onInput={(e) => setQuotaGiB(e.currentTarget.value)} required />
            <button type="submit">Set quota</button>
            {usage?.quotaBytes !== undefined && <button type="button" onClick={() => changeQuota(undefined, true)}>Remove quota</button>}
          </form>
        </dd>
        <dt>Tags</dt>
        <dd>{tags === undefined ? '…' : tags.length === 0 ? 'none' : tags.map((t) => <span class="tag" key={t.key}>{t.key}={t.value}</span>)}</dd>
      </dl>
      <ErrorLine error={error} />
    </details>
  );
}
