/**
 * Where a stripe's shards go after the layout changed, treating its nodes
 * as a set: a shard stays on its node while placement still chooses that
 * node; each other shard goes to a chosen node that holds none of the
 * stripe, the best ranked first. Placing shard i on the i-th ranked node
 * instead would move most shards of every object when a node joins (every
 * rank below the newcomer shifts); this moves only the shards whose node
 * dropped out of the chosen set.
 */
export function keepChosen(current: readonly number[], chosen: readonly number[]): number[] {
  const free = chosen.filter((n) => !current.includes(n));
  return current.map((n) => (chosen.includes(n) ? n : free.shift() ?? n));
}
