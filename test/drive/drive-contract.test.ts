import { describe, expect, it } from 'vitest';

import type { Drive } from '../../core/contracts/drive.js';
import { openLocalNodes } from '../../plugins/drive-local/index.js';
import { TOKENS } from '../../core/tokens.js';
import { openStore, tempDir } from '../helpers/engine.js';

const silent = { info() {}, warn() {}, error() {} };

/**
 * What every Drive must do, run against each implementation (a remote
 * drive joins the list when there is one).
 */
function describeDrive(name: string, open: () => Promise<Drive>) {
  describe(`${name} drive`, () => {
    it('a writer commits at the path given at creation', async () => {
      const drive = await open();
      const w = await drive.createWriter('data/a/file');
      await w.write(Buffer.from('hello'));
      expect(await drive.readFile('data/a/file')).toBeUndefined();
      await w.commit();
      expect(Buffer.from((await drive.readFile('data/a/file'))!).toString()).toBe('hello');
    });

    it('a writer commits at a path chosen only at commit, and nothing is left at the first one', async () => {
      const drive = await open();
      const w = await drive.createWriter('data/staging/part.0');
      await w.write(Buffer.from('world'), 0);
      await w.commit('data/0000000000000001/part.0');
      expect(Buffer.from((await drive.readFile('data/0000000000000001/part.0'))!).toString()).toBe('world');
      expect(await drive.readFile('data/staging/part.0')).toBeUndefined();
    });

    it('an aborted writer leaves the path as it was', async () => {
      const drive = await open();
      await drive.writeFile('data/kept', Buffer.from('old'));
      const w = await drive.createWriter('data/kept');
      await w.write(Buffer.from('new'));
      await w.abort();
      expect(Buffer.from((await drive.readFile('data/kept'))!).toString()).toBe('old');
    });

    it('createFile refuses to replace an existing file (the key locks rely on it)', async () => {
      const drive = await open();
      expect((await drive.createFile('locks/b/k', Buffer.from('1'))).newFolder).toBe(true);
      await expect(drive.createFile('locks/b/k', Buffer.from('2'))).rejects.toMatchObject({ code: 'EEXIST' });
      await drive.remove('locks/b/k');
      await drive.createFile('locks/b/k', Buffer.from('3'));
    });

    it('a probe passes on a sound node and leaves nothing behind', async () => {
      const drive = await open();
      await drive.probe();
      await drive.probe();
      expect((await drive.list('.tmp')).filter((f) => f.startsWith('probe-'))).toEqual([]);
    });
  });
}

describeDrive('local', async () => (await openLocalNodes(tempDir('kintsugi-drive-'), 1, false, silent, 0)).drives[0]!);
// What the engine gets: the same drive behind its node's health gate.
describeDrive('local behind its health gate', async () => (await openStore()).container.resolve(TOKENS.Nodes).drives[0]!);
