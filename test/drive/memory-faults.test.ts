import { describe, expect, it } from 'vitest';

import { MemoryDrive } from '../../plugins/drive-memory/index.js';

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString());

describe('a MemoryDrive injects faults at the call a test aims at', () => {
  it('fails the nth matching call only, with the error code asked for', async () => {
    const drive = new MemoryDrive(0).inject({ calls: ['readFile'], path: /^meta\//, nth: 2, action: 'fail', code: 'EROFS' });
    await drive.writeFile('meta/a', Buffer.from('a'));
    await drive.writeFile('data/b', Buffer.from('b'));
    expect(text(await drive.readFile('meta/a'))).toBe('a');
    expect(text(await drive.readFile('data/b'))).toBe('b');
    await expect(drive.readFile('meta/a')).rejects.toMatchObject({ code: 'EROFS' });
    expect(text(await drive.readFile('meta/a'))).toBe('a');
  });

  it('fails every call on a path pattern until the faults are cleared', async () => {
    const drive = new MemoryDrive(0).inject({ path: /part\.3$/, action: 'fail' });
    await expect(drive.writeFile('data/x/part.3', Buffer.from('x'))).rejects.toMatchObject({ code: 'EIO' });
    await expect(drive.createWriter('data/y/part.3')).rejects.toMatchObject({ code: 'EIO' });
    await drive.writeFile('data/x/part.2', Buffer.from('fine'));
    drive.faults.clear();
    await drive.writeFile('data/x/part.3', Buffer.from('now'));
    expect(text(await drive.readFile('data/x/part.3'))).toBe('now');
  });

  it('hangs a call: it never settles, and the calls around it go on', async () => {
    const drive = new MemoryDrive(0).inject({ calls: ['stat'], nth: 1, action: 'hang' });
    const hung = drive.stat('meta/x').then(() => 'settled', () => 'settled');
    const outcome = await Promise.race([hung, new Promise((r) => setTimeout(() => r('still waiting'), 100))]);
    expect(outcome).toBe('still waiting');
    await drive.writeFile('meta/x', Buffer.from('x'));
    expect(await drive.stat('meta/x')).toMatchObject({ size: 1, isDirectory: false });
  });

  it('corrupts what a read returns, what a write stores, and shelf items (which then read as absent)', async () => {
    const drive = new MemoryDrive(0);
    await drive.writeFile('data/f', Buffer.from('abcdef'));
    drive.inject({ calls: ['readFile'], nth: 1, action: 'corrupt' });
    expect(text(await drive.readFile('data/f'))).not.toBe('abcdef');
    expect(text(await drive.readFile('data/f'))).toBe('abcdef');
    drive.faults.clear();
    drive.inject({ calls: ['writer.write'], action: 'corrupt' });
    const w = await drive.createWriter('data/g');
    await w.write(Buffer.from('ghijkl'));
    await w.commit();
    drive.faults.clear();
    expect(text(await drive.readFile('data/g'))).not.toBe('ghijkl');
    drive.inject({ calls: ['shelf.put'], path: /rot/, action: 'corrupt' });
    await drive.shelf.put([{ name: 'meta/rot', bytes: Buffer.from('r') }, { name: 'meta/ok', bytes: Buffer.from('o') }]);
    expect(await drive.shelf.get('meta/rot')).toBeUndefined();
    expect(text((await drive.shelf.get('meta/ok'))?.bytes)).toBe('o');
    expect((await drive.shelf.scan('', 10)).map((i) => [i.name, i.bytes.length])).toEqual([['meta/ok', 1], ['meta/rot', 0]]);
  });

  it('is full when its items pass its capacity: the probe says ENOSPC', async () => {
    const drive = new MemoryDrive(0, 1000);
    expect(await drive.probe()).toEqual({ freeBytes: 1000, totalBytes: 1000 });
    await drive.writeFile('data/big', new Uint8Array(1000));
    await expect(drive.probe()).rejects.toMatchObject({ code: 'ENOSPC' });
  });
});
