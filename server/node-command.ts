import type { KintsugiConfig } from '../core/config.js';
import type { NodeServiceFactory } from '../core/contracts/drive.js';
import { ConfigError } from '../core/errors.js';
import { serveNode } from '../plugins/drive-remote/node-server.js';
import { PLUGINS } from './plugins.js';

/** `kintsugi node`: serves NODE_DIR until SIGTERM/SIGINT. */
export async function runNode(config: KintsugiConfig, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const folder = env.NODE_DIR;
  if (!folder) throw new ConfigError('NODE_DIR', 'names the folder this node serves');
  if (!config.clusterSecret) throw new ConfigError('CLUSTER_SECRET', 'is needed: gateways and nodes prove to each other that they hold it, and key their link with it');
  const services = Object.assign({}, ...PLUGINS.map((p) => p.nodeServices ?? {})) as Record<string, NodeServiceFactory>;
  const server = await serveNode({ folder, secret: config.clusterSecret, host: config.host, port: config.port, sync: config.sync, services });
  process.stdout.write(`Kintsugi node  ${folder}  on http://${config.host}:${server.port}  SYNC=${config.sync ? 'on' : 'off'}\n`);
  await new Promise<void>((done) => {
    process.once('SIGTERM', () => done());
    process.once('SIGINT', () => done());
  });
  await server.close();
  return 0;
}
