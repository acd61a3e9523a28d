import { useEffect, useState } from 'preact/hooks';

import {
  deleteObject, downloadUrl, headObject, listVersions, objectLockEnabled, setLegalHold, shareLink, versionLock, type ObjectHead, type Version, type VersionLock,
} from '../api';
import { ErrorLine } from '../errors';
import { bytes, when } from '../format';
import { href } from '../router';

const EXPIRIES: [string, number][] = [['1 hour', 3600], ['1 day', 86400], ['7 days', 604800], ['5 minutes', 300]];

export function ObjectDetails(props: { bucket: string; objectKey: string }) {
  const { bucket, objectKey: key } = props;
  const [head, setHead] = useState<ObjectHead>();
  const [versions, setVersions] = useState<Version[]>();
  const [expires, setExpires] = useState(3600);
  const [link, setLink] = useState<{ url: string; expiresMs: number }>();
  const [error, setError] = useState<unknown>();
  /** each version's lock, by version id, when the bucket has Object Lock */
  const [locks, setLocks] = useState<Map<string, VersionLock>>();
  const loadLocks = async (listed: Version[]) => {
    if (!(await objectLockEnabled(bucket))) return;
    const shown = listed.filter((v) => !v.deleteMarker);
    const found = await Promise.all(shown.map((v) => versionLock(bucket, key, v.versionId)));
    setLocks(new Map(shown.map((v, i) => [v.versionId, found[i]!])));
  };
  useEffect(() => {
    headObject(bucket, key).then(setHead, setError);
    listVersions(bucket, key).then((listed) => {
      setVersions(listed);
      loadLocks(listed).catch(setError);
    }, () => setVersions([]));
  }, [bucket, key]);
  const toggleHold = async (versionId: string, on: boolean) => {
    try {
      await setLegalHold(bucket, key, versionId, on);
      await loadLocks(versions ?? []);
    } catch (err) { setError(err); }
  };
  const parent = key.includes('/') ? key.slice(0, key.lastIndexOf('/') + 1) : '';
  const share = async () => {
    try { setLink(await shareLink(bucket, key, expires)); } catch (err) { setError(err); }
  };
  const remove = async () => {
    if (!confirm(`Delete ${key}?`)) return;
    try {
      await deleteObject(bucket, key);
      location.hash = href.objects(bucket, parent);
    } catch (err) { setError(err); }
  };
  return (
    <section>
      <nav class="crumbs" aria-label="Path"><a href={href.buckets()}>Buckets</a> / <a href={href.objects(bucket, parent)}>{bucket}{parent ? `/${parent}` : ''}</a></nav>
      <h2 class="key">{key}</h2>
      <ErrorLine error={error} />
      {head && (
        <dl class="card" data-testid="object-details">
          <dt>Size</dt><dd>{bytes(head.size)} ({head.size} bytes)</dd>
          <dt>ETag</dt><dd><code>{head.etag}</code></dd>
          <dt>Content type</dt><dd>{head.contentType}</dd>
          <dt>Modified</dt><dd>{when(head.modified)}</dd>
          {head.versionId && <><dt>Version</dt><dd><code>{head.versionId}</code></dd></>}
          <dt>Metadata</dt><dd>{head.metadata.length === 0 ? 'none' : head.metadata.map(([k, v]) => <div key={k}><code>{k}</code>: {v}</div>)}</dd>
        </dl>
      )}
      <div class="row">
        <a class="button" href={downloadUrl(bucket, key)} download>Download</a>
        <button class="danger" onClick={remove}>Delete</button>
      </div>
      <div class="card">
        <h3>Share link</h3>
        <div class="row">
          <label>Valid for <select value={expires} onChange={(e) => setExpires(Number(e.currentTarget.value))} name="expiry">
            {EXPIRIES.map(([label, s]) => <option key={s} value={s}>{label}</option>)}
          </select></label>
          <button onClick={share}>Create link</button>
        </div>
        {link && <p><input class="link" readOnly value={link.url} data-testid="share-link" onFocus={(e) => e.currentTarget.select()} /><span class="muted">until {new Date(link.expiresMs).toLocaleString()}</span></p>}
      </div>
      {versions && versions.length > 0 && (
        <div class="card">
          <h3>Versions</h3>
          <table class="list" data-testid="versions">
            <thead><tr><th>Version</th><th>Size</th><th class="wide">Modified</th>{locks && <th>Lock</th>}</tr></thead>
            <tbody>{versions.map((v) => {
              const lock = locks?.get(v.versionId);
              return (
                <tr key={v.versionId}>
                  <td><code>{v.versionId}</code>{v.latest ? ' (latest)' : ''}{v.deleteMarker ? ' delete marker' : ''}</td><td>{v.deleteMarker ? '' : bytes(v.size)}</td><td class="wide">{when(v.modified)}</td>
                  {locks && <td data-testid="lock">{lock && <>
                    {lock.mode ? <span>{lock.mode} until {when(lock.until!)}</span> : <span class="muted">no retention</span>}
                    {lock.legalHold && <span> · legal hold</span>}
                    {' '}<button onClick={() => toggleHold(v.versionId, !lock.legalHold)}>{lock.legalHold ? 'Clear legal hold' : 'Set legal hold'}</button>
                  </>}</td>}
                </tr>
              );
            })}</tbody>
          </table>
        </div>
      )}
    </section>
  );
}
