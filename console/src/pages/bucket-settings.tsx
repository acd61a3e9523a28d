import { useEffect, useState } from 'preact/hooks';

import { getBucketTags, getLifecycle, getVersioning, setVersioning, type LifecycleRule } from '../api';
import { ErrorLine } from '../errors';

/** Versioning (with its switch), lifecycle rules and tags of one bucket. */
export function BucketSettings(props: { bucket: string }) {
  const { bucket } = props;
  const [versioning, setState] = useState<string>();
  const [rules, setRules] = useState<LifecycleRule[]>();
  const [tags, setTags] = useState<{ key: string; value: string }[]>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
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
        <dt>Tags</dt>
        <dd>{tags === undefined ? '…' : tags.length === 0 ? 'none' : tags.map((t) => <span class="tag" key={t.key}>{t.key}={t.value}</span>)}</dd>
      </dl>
      <ErrorLine error={error} />
    </details>
  );
}
