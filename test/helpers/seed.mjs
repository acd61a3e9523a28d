// Seeded randomness for randomized tests: each prints its seed, and a failing
// run is replayed with TEST_SEED=<seed> (plain JS, for the .mjs child helpers too).

/** A generator of numbers in [0, 1) from a 32-bit seed (mulberry32). */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** This run's seed for `what`: TEST_SEED when given, else a new one; printed either way. */
export function testSeed(what) {
  const seed = process.env.TEST_SEED !== undefined ? Number(process.env.TEST_SEED) >>> 0 : Math.floor(Math.random() * 2 ** 32);
  console.log(`[seed] ${what}: replay with TEST_SEED=${seed}`);
  return seed;
}
