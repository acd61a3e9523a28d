import { useEffect, useRef, useState } from 'preact/hooks';

import { deleteObject, downloadUrl, listObjects, type Listing } from '../api';
import { ErrorLine } from '../errors';
import { bytes, when } from '../format';
import { href } from '../router';
import type { Uploads } from '../upload';
import { BucketSettings } from './bucket-settings';
import { UploadList } from './upload-list';

const PAGE = 100;

const FolderIcon = () => (
  <svg class="icon" viewBox="0 0 16 16" aria-hidden="true"><path d="M1 3.5A1.5 1.5 0 0 1 2.5 2h3.6l1.5 1.5h5.9A1.5 1.5 0 0 1 15 5v7.5a1.5 1.5 0 0 1-1.5 1.5h-11A1.5 1.5 0 0 1 1 12.5z" /></svg>
);

export function Objects(props: { bucket: string; prefix: string; uploads: Uploads; uploadsVersion: number; listingVersion: number }) {
  const { bucket, prefix, uploads } = props;
  const [listing, setListing] = useState<Listing>();
  // Continuation tokens of the pages before this one (Previous goes back
  // through them), for the folder they belong to: another folder starts at its first page.
  const place = `${bucket}/${prefix}`;
  const [paging, setPaging] = useState<{ place: string; tokens: (string | undefined)[] }>({ place, tokens: [undefined] });
  const tokens = paging.place === place ? paging.tokens : [undefined];
  const setTokens = (t: (string | undefined)[]) => setPaging({ place, tokens: t });
  const [error, setError] = useState<unknown>();
  const files = useRef<HTMLInputElement>(null);
  const folder = useRef<HTMLInputElement>(null);
  const latest = useRef(0);
  const token = tokens[tokens.length - 1];

  const load = () => {
    // Only the newest listing asked for is shown, whatever order the answers come in.
    const ask = ++latest.current;
    return listObjects(bucket, prefix, token, PAGE).then(
      (l) => { if (ask === latest.current) { setListing(l); setError(undefined); } },
      (err) => { if (ask === latest.current) setError(err); },
    );
  };
  useEffect(() => { setListing(undefined); }, [place]);
  useEffect(() => { void load(); }, [place, token, props.listingVersion]);

  const upload = (list: FileList | null) => {
    for (const f of Array.from(list ?? [])) uploads.add(bucket, prefix + (f.webkitRelativePath || f.name), f);
  };
  const remove = async (key: string) => {
    if (!confirm(`Delete ${key}?`)) return;
    try {
      await deleteObject(bucket, key);
      await load();
    } catch (err) { setError(err); }
  };
  const crumbs = prefix.split('/').filter(Boolean);

  return (
    <section>
      <nav class="crumbs" aria-label="Path">
        <a href={href.buckets()}>Buckets</a> / <a href={href.objects(bucket)}>{bucket}</a>
        {crumbs.map((c, i) => <span key={i}> / <a href={href.objects(bucket, crumbs.slice(0, i + 1).join('/') + '/')}>{c}</a></span>)}
      </nav>
      <BucketSettings bucket={bucket} />
      <div class="row">
        <button onClick={() => files.current?.click()}>Upload files</button>
        <button onClick={() => folder.current?.click()}>Upload folder</button>
        <input ref={files} type="file" multiple hidden data-testid="upload-files" onChange={(e) => { upload(e.currentTarget.files); e.currentTarget.value = ''; }} />
        {/* webkitdirectory: the folder's files, each with its path below the folder */}
        <input ref={folder} type="file" multiple hidden data-testid="upload-folder" {...{ webkitdirectory: true }} onChange={(e) => { upload(e.currentTarget.files); e.currentTarget.value = ''; }} />
      </div>
      <UploadList uploads={uploads} version={props.uploadsVersion} />
      <ErrorLine error={error} />
      {listing === undefined ? <p class="muted">Loading…</p> : (
        <>
          <table class="list" data-testid="objects">
            <thead><tr><th>Name</th><th>Size</th><th class="wide">Modified</th><th /></tr></thead>
            <tbody>
              {listing.folders.map((f) => (
                <tr key={f} class="folder"><td colSpan={4}><a href={href.objects(bucket, f)}><FolderIcon /> {f.slice(prefix.length)}</a></td></tr>
              ))}
              {listing.objects.map((o) => (
                <tr key={o.key}>
                  <td><a href={href.object(bucket, o.key)}>{o.key.slice(prefix.length)}</a></td>
                  <td>{bytes(o.size)}</td>
                  <td class="wide">{when(o.modified)}</td>
                  <td class="actions">
                    <a class="button" href={downloadUrl(bucket, o.key)} download>Download</a>
                    <button class="danger" onClick={() => remove(o.key)} aria-label={`Delete ${o.key}`}>Delete</button>
                  </td>
                </tr>
              ))}
              {listing.folders.length + listing.objects.length === 0 && <tr><td colSpan={4} class="muted">Nothing here.</td></tr>}
            </tbody>
          </table>
          <div class="row pager">
            <button disabled={tokens.length < 2} onClick={() => setTokens(tokens.slice(0, -1))}>Previous</button>
            <span class="muted">page {tokens.length}</span>
            <button disabled={!listing.next} onClick={() => setTokens([...tokens, listing.next])}>Next</button>
          </div>
        </>
      )}
    </section>
  );
}
