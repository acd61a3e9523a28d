import type { Drive, NodeService, NodeServiceFactory, NodeServices } from './contracts/drive.js';
import type { Logger } from './contracts/logger.js';
import { nodeFault } from './errors.js';

/**
 * The plugins' node services of one node, run in this process: the gateway
 * hosts them for a folder on its own host, `kintsugi node` for its folder.
 * Either way a service is made on first call and sees the node's drive as
 * it is, so a plugin keeps its node-side structures the same way wherever
 * the node lives.
 */
export class NodeHost implements NodeServices {
  private readonly running = new Map<string, NodeService>();

  constructor(
    private readonly drive: Drive,
    private readonly factories: Readonly<Record<string, NodeServiceFactory>>,
    private readonly clusterId: string,
    private readonly sync: boolean,
    private readonly log: Logger,
  ) {}

  async call(name: string, op: string, args: unknown): Promise<unknown> {
    let service = this.running.get(name);
    if (!service) {
      const make = Object.prototype.hasOwnProperty.call(this.factories, name) ? this.factories[name] : undefined;
      if (!make) throw nodeFault('ERR_BAD_REQUEST', `node ${this.drive.index} has no service ${name}`);
      this.running.set(name, (service = make(this.drive, this.clusterId, this.sync, this.log)));
    }
    return service.handle(op, args);
  }

  /** Ends every service started here (a rebuild running in one stops). */
  async close(): Promise<void> {
    const services = [...this.running.values()];
    this.running.clear();
    await Promise.all(services.map((s) => s.close().catch(() => undefined)));
  }
}
