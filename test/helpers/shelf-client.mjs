// A process of its own using one node folder's shelf (the built drive): `put NAME TEXT` or
// `get NAME` (twice), printing what it met as JSON. A damaged shelf file may crash whoever
// maps it; here that is this process, not the test's.
import { LocalDrive } from '../../dist/plugins/drive-local/local-drive.js';

const [folder, op, name, text] = process.argv.slice(2);
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
process.stdout.write(JSON.stringify(met));
