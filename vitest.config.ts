import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The codecs are native and WASM modules; separate processes keep a
    // crash (which the tests exist to rule out) from taking the runner down.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
