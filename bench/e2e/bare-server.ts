/**
 * The transport ceiling: a bare node:http server that streams a PUT body into
 * one file and a GET out of it, with nothing else on the way. Run as its own
 * process by the e2e bench: `node bare-server.js DIR PORT`.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

const [dir, port] = process.argv.slice(2) as [string, string];
// 1 MiB buffers, as Kintsugi's stripes: the defaults (16/64 KiB) made this
// "ceiling" slower than the servers measured against it.
const MiB = 1 << 20;
const fileFor = (url: string) => join(dir, encodeURIComponent(new URL(url, 'http://x').pathname));

createServer((req, res) => {
  const file = fileFor(req.url ?? '/');
  if (req.method === 'PUT') {
    pipeline(req, createWriteStream(file, { highWaterMark: MiB })).then(() => res.end(), () => { res.statusCode = 500; res.end(); });
  } else if (req.method === 'GET') {
    const rs = createReadStream(file, { highWaterMark: MiB });
    rs.on('error', () => { res.statusCode = 404; res.end(); });
    rs.pipe(res);
  } else {
    res.statusCode = 405;
    res.end();
  }
}).listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'));
