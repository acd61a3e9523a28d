// Opens the object engine from the built code (dist/) on a node folder, for
// helper processes that stand in for other server workers.
import { join } from 'node:path';

export async function openEngine(root, nodePath) {
  const dist = (p) => join(root, 'dist', p);
  const { parseConfig } = await import(dist('core/config.js'));
  const { createContainer } = await import(dist('core/container.js'));
  const { ObjectEngine } = await import(dist('core/engine/object-engine.js'));
  const { MemoryLogger } = await import(dist('core/logger.js'));
  const { PLUGINS } = await import(dist('server/plugins.js'));
  const container = await createContainer(parseConfig({ NODEPATH: nodePath, SYNC: 'off' }), PLUGINS, { logger: new MemoryLogger() });
  return container.resolve(ObjectEngine);
}
