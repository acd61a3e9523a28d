import type { NodeSet } from './contracts/nodes.js';

/**
 * Waits until no node is `checking`: a command run beside a server opens
 * shelves that server keeps writing, so they do not match their stamps and
 * this process walks them before it maps them (in the background when
 * large). A command that went on without them would defer its work on them
 * (a heal) or fail to reach a majority (a layout change). `waiting` is
 * told, once, which nodes it waits for.
 */
export async function waitForChecks(nodes: NodeSet, waiting: (checking: number[]) => void): Promise<void> {
  for (let said = false; ; said = true) {
    await nodes.health.refresh();
    const checking = nodes.health.status().filter((s) => s.state === 'checking').map((s) => s.index);
    if (checking.length === 0) return;
    if (!said) waiting(checking);
    await new Promise((r) => setTimeout(r, 500));
  }
}
