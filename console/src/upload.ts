import { completeUpload, createUpload, listParts, S3CallError, s3Error, s3Path } from './api';
import { describe } from './errors';

/** Files up to this size go in one PUT; larger ones in parts of at least this size. */
const SINGLE_PUT_MAX = 8 * 1024 * 1024;
const PART_MIN = 8 * 1024 * 1024;
const MAX_PARTS = 10_000;
const PARTS_IN_FLIGHT = 3;
/** A part is tried this many times before the upload stops, resumable. */
const PART_TRIES = 3;

export type UploadState = 'queued' | 'uploading' | 'failed' | 'done';

export interface UploadTask {
  readonly id: number;
  readonly bucket: string;
  readonly key: string;
  readonly file: File;
  state: UploadState;
  sent: number;
  error?: string;
  /** parts that were already on the server when the upload resumed */
  resumedParts?: number;
}

/* An unfinished multipart upload is remembered by file (name, size, time),
   so that resuming — even after a reload — continues it instead of
   starting over. */
const resumeKey = (t: UploadTask) => `kintsugi-upload:${t.bucket}/${t.key}:${t.file.size}:${t.file.lastModified}`;

function put(url: string, body: Blob, onProgress: (sent: number) => void, contentType?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    xhr.setRequestHeader('x-kintsugi-console', '1');
    if (contentType) xhr.setRequestHeader('content-type', contentType);
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) return resolve(xhr.getResponseHeader('etag') ?? '');
      reject(s3Error(xhr.status, xhr.responseText, xhr.statusText));
    };
    xhr.onerror = () => reject(new Error('the connection failed'));
    xhr.onabort = () => reject(new Error('aborted'));
    xhr.send(body);
  });
}

/** Uploads and their progress; the page re-renders when `onChange` fires. */
export class Uploads {
  readonly tasks: UploadTask[] = [];
  private nextId = 1;

  constructor(private readonly onChange: () => void, private readonly onDone: (t: UploadTask) => void) {}

  add(bucket: string, key: string, file: File): void {
    const task: UploadTask = { id: this.nextId++, bucket, key, file, state: 'queued', sent: 0 };
    this.tasks.unshift(task);
    void this.run(task);
  }

  /** Continues a failed upload from the parts the server already holds. */
  resume(task: UploadTask): void {
    if (task.state === 'failed') void this.run(task);
  }

  clearFinished(): void {
    for (let i = this.tasks.length - 1; i >= 0; i--) if (this.tasks[i]!.state === 'done') this.tasks.splice(i, 1);
    this.onChange();
  }

  private async run(task: UploadTask): Promise<void> {
    task.state = 'uploading';
    delete task.error;
    this.onChange();
    try {
      if (task.file.size <= SINGLE_PUT_MAX) {
        await put(s3Path(task.bucket, task.key), task.file, (n) => { task.sent = n; this.onChange(); }, task.file.type || 'application/octet-stream');
      } else {
        await this.multipart(task);
      }
      task.sent = task.file.size;
      task.state = 'done';
      this.onDone(task);
    } catch (err) {
      task.state = 'failed';
      task.error = describe(err);
    }
    this.onChange();
  }

  private async multipart(task: UploadTask): Promise<void> {
    const { bucket, key, file } = task;
    const partSize = Math.max(PART_MIN, Math.ceil(file.size / MAX_PARTS));
    const count = Math.ceil(file.size / partSize);
    let uploadId = localStorage.getItem(resumeKey(task)) ?? undefined;
    let have = new Map<number, { etag: string; size: number }>();
    if (uploadId) {
      try {
        have = await listParts(bucket, key, uploadId);
      } catch (err) {
        // Aborted or completed meanwhile: start a new one.
        if (!(err instanceof S3CallError && err.code === 'NoSuchUpload')) throw err;
        uploadId = undefined;
      }
    }
    if (!uploadId) {
      uploadId = await createUpload(bucket, key, file.type);
      localStorage.setItem(resumeKey(task), uploadId);
    }
    const sizeOf = (n: number) => Math.min(partSize, file.size - (n - 1) * partSize);
    const etags = new Map<number, string>();
    const progress = new Map<number, number>();
    for (const [n, p] of have) {
      if (n <= count && p.size === sizeOf(n)) { etags.set(n, p.etag); progress.set(n, p.size); }
    }
    task.resumedParts = etags.size;
    const report = () => { task.sent = [...progress.values()].reduce((a, b) => a + b, 0); this.onChange(); };
    report();
    const todo = Array.from({ length: count }, (_, i) => i + 1).filter((n) => !etags.has(n));
    const url = (n: number) => `${s3Path(bucket, key)}?partNumber=${n}&uploadId=${encodeURIComponent(uploadId!)}`;
    const worker = async () => {
      for (let n = todo.shift(); n !== undefined; n = todo.shift()) {
        const blob = file.slice((n - 1) * partSize, (n - 1) * partSize + sizeOf(n));
        for (let attempt = 1; ; attempt++) {
          try {
            etags.set(n, await put(url(n), blob, (sent) => { progress.set(n, sent); report(); }));
            progress.set(n, blob.size);
            report();
            break;
          } catch (err) {
            progress.set(n, 0);
            if (attempt >= PART_TRIES) throw new Error(`part ${n} of ${count} failed ${PART_TRIES} times (${(err as Error).message}); the parts sent are kept — resume to continue`);
            await new Promise((r) => setTimeout(r, 500 * attempt));
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARTS_IN_FLIGHT, todo.length) }, worker));
    await completeUpload(bucket, key, uploadId, [...etags].sort((a, b) => a[0] - b[0]).map(([number, etag]) => ({ number, etag })));
    localStorage.removeItem(resumeKey(task));
  }
}
