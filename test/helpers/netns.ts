import { execFileSync } from 'node:child_process';

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/** A host of a NetLab: its own network namespace, one address on the lab's bridge. */
export interface LabHost {
  readonly name: string;
  readonly ns: string;
  readonly address: string;
  /** the command prefix that runs a program inside the host */
  readonly wrap: string[];
  /** the bridge side of its link, which `cut` takes down */
  readonly link: string;
}

/**
 * Hosts in Linux network namespaces joined by a bridge (root only): each
 * host has its own stack and one veth link to the bridge, and the test
 * process reaches all of them from the root namespace through the bridge's
 * address. Taking a host's link down partitions it from everyone.
 */
export class NetLab {
  private readonly hosts: LabHost[] = [];
  private readonly tag: string;
  private readonly subnet: string;
  readonly bridge: string;
  /** the root namespace's address on the bridge (where a test's own servers listen) */
  readonly gateway: string;

  constructor() {
    // Short names (interface names stop at 15 bytes) unique per test process.
    this.tag = `k${process.pid % 100000}`;
    this.subnet = `10.${200 + (process.pid % 50)}.${process.pid % 250}`;
    this.bridge = `${this.tag}br`;
    this.gateway = `${this.subnet}.1`;
    ip('link', 'add', this.bridge, 'type', 'bridge');
    ip('addr', 'add', `${this.gateway}/24`, 'dev', this.bridge);
    ip('link', 'set', this.bridge, 'up');
  }

  /** A new host on the bridge. */
  add(name: string): LabHost {
    const i = this.hosts.length;
    const ns = `${this.tag}-${name}`;
    const outside = `${this.tag}h${i}`;
    const inside = `${this.tag}i${i}`;
    ip('netns', 'add', ns);
    ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
    ip('link', 'set', inside, 'netns', ns);
    ip('link', 'set', outside, 'master', this.bridge);
    ip('link', 'set', outside, 'up');
    const address = `${this.subnet}.${10 + i}`;
    ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', inside);
    ip('-n', ns, 'link', 'set', inside, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'route', 'add', 'default', 'via', this.gateway);
    const host = { name, ns, address, wrap: ['ip', 'netns', 'exec', ns], link: outside };
    this.hosts.push(host);
    return host;
  }

  /** Partitions a host: its link goes down, its packets go nowhere (connections hang, nothing is refused). */
  cut(host: LabHost): void {
    ip('link', 'set', host.link, 'down');
  }

  /** Ends a partition. */
  mend(host: LabHost): void {
    ip('link', 'set', host.link, 'up');
  }

  /** Removes every namespace (their links go with them) and the bridge. */
  destroy(): void {
    for (const h of this.hosts) {
      try { ip('netns', 'del', h.ns); } catch { /* gone */ }
    }
    try { ip('link', 'del', this.bridge); } catch { /* gone */ }
  }
}
