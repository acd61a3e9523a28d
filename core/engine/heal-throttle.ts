/**
 * How fast a heal may go, changeable while it runs (the admin endpoint sets
 * it): at most `objectsPerSecond` objects a second, 0 for as fast as the
 * nodes go. A pass asks `pace` after each batch and waits there for what
 * it ran ahead, so clients keep their share of the nodes.
 */
export class HealThrottle {
  private paced = 0;
  private pacedAt = performance.now();
  private done = 0;

  constructor(public objectsPerSecond = 0) {}

  /** Waits until `done` objects are no more than the rate allows since the last change of pace. */
  async pace(done: number): Promise<void> {
    this.done = done;
    const rate = this.objectsPerSecond;
    if (!(rate > 0)) {
      this.rebase(done);
      return;
    }
    const due = this.pacedAt + ((done - this.paced) / rate) * 1000;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }

  /** Changes the rate from now on (objects done so far are not paced again). */
  set(objectsPerSecond: number): void {
    this.objectsPerSecond = objectsPerSecond;
    this.rebase(this.done);
  }

  private rebase(done: number): void {
    this.paced = done;
    this.pacedAt = performance.now();
  }
}
