import 'reflect-metadata';

import { inject, injectable } from 'tsyringe';

import { dataFolders, type ObjectRecord } from '../contracts/metadata.js';
import type { NodeSet } from '../contracts/nodes.js';
import { TMP_DIR, uploadRecordPath } from '../layout.js';
import { TOKENS } from '../tokens.js';
import { versionTime } from '../version-id.js';
import type { HealSummary } from './heal-summary.js';
import { readFromMajority } from './node-quorum.js';

/**
 * The last step of a heal pass: what no record refers to, once older than
 * the grace period, goes — data folders of versions no record names, data
 * of objects without any record, upload folders without their upload
 * record, and temporary files.
 */
@injectable()
export class OrphanSweep {
  constructor(@inject(TOKENS.Nodes) private readonly nodes: NodeSet) {}

  /**
   * Removes what no record refers to, once older than the grace period:
   * folders of live objects that no version uses, all data of
   * objects without any record, uploads without their upload record, and
   * temporary files.
   */
  async sweep(live: Map<string, Set<string>>, graceMs: number, summary: HealSummary): Promise<void> {
    const now = Date.now();
    const old = async (drive: NodeSet['drives'][number], path: string) => {
      const st = await drive.stat(path).catch(() => undefined);
      return st !== undefined && now - st.mtimeMs >= graceMs;
    };
    for (const drive of this.nodes.drives) {
      if (!this.nodes.health.canWrite(drive.index)) continue;
      for (const name of await drive.list(TMP_DIR).catch(() => [] as string[])) {
        if (await old(drive, `${TMP_DIR}/${name}`)) { await drive.remove(`${TMP_DIR}/${name}`); summary.orphansRemoved++; }
      }
      for (const bucket of await drive.list('data').catch(() => [] as string[])) {
        for (const fan of await drive.list(`data/${bucket}`).catch(() => [] as string[])) {
          for (const rest of await drive.list(`data/${bucket}/${fan}`).catch(() => [] as string[])) {
            const keep = live.get(`${bucket}/${fan}${rest}`) ?? new Set<string>();
            const dir = `data/${bucket}/${fan}/${rest}`;
            for (const version of await drive.list(dir).catch(() => [] as string[])) {
              if (keep.has(version)) continue;
              if (version.startsWith('u-')) {
                const id = version.slice(2);
                const upload = await readFromMajority(this.nodes, uploadRecordPath(bucket, id));
                if (upload || now - versionTime(id) < graceMs) continue;
              } else if (now - versionTime(version) < graceMs || !(await old(drive, `${dir}/${version}`))) {
                continue;
              }
              await drive.remove(`${dir}/${version}`);
              summary.orphansRemoved++;
            }
          }
        }
      }
    }
  }
}

/** The data folders (by version) the records use. */
export function dataDirs(records: readonly ObjectRecord[]): Set<string> {
  return new Set(records.filter((r) => !r.deleted).flatMap(dataFolders));
}
