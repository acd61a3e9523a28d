export function seededRandom(seed: number): () => number;
export function testSeed(what: string): number;
