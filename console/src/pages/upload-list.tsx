import { bytes } from '../format';
import type { Uploads } from '../upload';

export function UploadList(props: { uploads: Uploads; version: number }) {
  const { uploads } = props;
  if (uploads.tasks.length === 0) return null;
  return (
    <div class="card uploads" data-testid="uploads">
      <div class="row"><strong>Uploads</strong><button onClick={() => uploads.clearFinished()}>Clear finished</button></div>
      {uploads.tasks.map((t) => {
        const pct = t.file.size === 0 ? 100 : Math.floor((t.sent / t.file.size) * 100);
        return (
          <div class="upload" key={t.id} data-state={t.state} data-key={t.key}>
            <div class="row"><span class="name">{t.key}</span><span class="muted">{bytes(t.sent)} of {bytes(t.file.size)} — {t.state}{t.resumedParts ? `, ${t.resumedParts} parts were already there` : ''}</span></div>
            <progress max={100} value={pct} aria-label={`${t.key} ${pct}%`} />
            {t.state === 'failed' && <p class="error">{t.error} <button onClick={() => uploads.resume(t)}>Resume</button></p>}
          </div>
        );
      })}
    </div>
  );
}
