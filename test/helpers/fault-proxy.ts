import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface Faults {
  /** delay added to every chunk, each way */
  latencyMs: number;
  /** a chunk is held this much longer with probability `lossRate` (a lost segment's retransmission) */
  lossRate: number;
  retransmitMs: number;
}

/**
 * A TCP proxy that adds latency and loss-like stalls between a gateway and a
 * node (`tc netem` is not available on these kernels). Chunks stay in order:
 * each waits for the one before it, as TCP delivers them.
 */
export class FaultProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;
  /** chunks forwarded, and how many of them were held as if lost */
  chunks = 0;
  stalls = 0;

  /** `random`: seeded by the test (see seed.mjs), so that a run's stalls can be replayed */
  constructor(private readonly target: { host: string; port: number }, private readonly faults: Faults, private readonly random: () => number) {
    this.server = createServer((client) => this.connect(client));
  }

  async listen(host: string): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, host, resolve));
    this.port = (this.server.address() as { port: number }).port;
    return `http://${host}:${this.port}`;
  }

  private connect(client: Socket): void {
    const upstream = createConnection(this.target);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => { client.destroy(); upstream.destroy(); });
    }
    this.forward(client, upstream);
    this.forward(upstream, client);
  }

  private forward(from: Socket, to: Socket): void {
    let last = Promise.resolve();
    from.on('data', (chunk: Buffer) => {
      this.chunks++;
      const lost = this.random() < this.faults.lossRate;
      if (lost) this.stalls++;
      const wait = this.faults.latencyMs + (lost ? this.faults.retransmitMs : 0);
      // In order: a chunk leaves after the one before it, at least `wait` after it came.
      const arrived = Date.now();
      last = last.then(() => new Promise<void>((r) => setTimeout(r, Math.max(0, arrived + wait - Date.now())))).then(() => {
        if (!to.destroyed) to.write(chunk);
      });
    });
    from.on('end', () => { void last.then(() => to.end()); });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
