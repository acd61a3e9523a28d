// A process of its own using one node folder's shelf (the built drive): `put NAME TEXT` or
// `get NAME` (twice), printing what it met as JSON; `close` after them closes the drive
// cleanly (else the process ends as a crash would leave it). With SHOW_WALKS set it prints
// { met, walks }: how many walks of the file it started. A damaged shelf file may crash
// whoever maps it; here that is this process, not the test's.
import { LocalDrive } from '../../dist/plugins/drive-local/local-drive.js';
import { shelfChecks } from '../../dist/plugins/drive-local/local-shelf.js';

const [folder, op, name, text, close] = process.argv.slice(2);
const drive = new LocalDrive(0, folder, false, 'cluster');
const met = [];
for (let i = 0; i < (op === 'get' ? 2 : 1); i++) {
  try {
    if (op === 'put') met.push((await drive.shelf.put([{ name, bytes: Buffer.from(text) }]))[0].written ? 'written' : 'left');
    else met.push((await drive.shelf.get(name)) ? 'found' : 'absent');
  } catch (err) {
    met.push(err.code ?? err.message);
  }
}
if ((op === 'put' ? close : text) === 'close') await drive.close();
process.stdout.write(JSON.stringify(process.env.SHOW_WALKS ? { met, walks: shelfChecks.walks } : met));
