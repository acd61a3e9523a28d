import { defineConfig } from 'vitest/config';

/**
 * Three tiers, one command each; `npm test` runs them all (and is what CI runs).
 * - fast: no server processes — codecs, placement, config, the DI container,
 *   the engine on drives, the transport's parsers; `npm run test:fast`.
 * - s3: real servers and real clients (the SDK, boto3, the AWS CLI, rclone, s3cmd).
 * - slow: clusters, network namespaces, nginx, fault soaks, browsers, memory, images.
 */
const SLOW = ['test/cluster/**', 'test/faults/**', 'test/console/**', 'test/deploy/**', 'test/engine/memory.test.ts'];
/** Engine tests that drive the real CLI or several client processes. */
const ENGINE_PROCESSES = ['test/engine/healer.test.ts', 'test/engine/concurrency.test.ts'];

export default defineConfig({
  test: {
    // The codecs are native and WASM modules; separate processes keep a
    // crash (which the tests exist to rule out) from taking the runner down.
    pool: 'forks',
    reporters: ['default', './test/helpers/lost-files-reporter.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Spawned servers and CLIs run dist/: it is rebuilt first when any source is newer.
    globalSetup: ['test/helpers/current-build.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'fast',
          include: ['test/*.test.ts', 'test/codec/**/*.test.ts', 'test/placement/**/*.test.ts', 'test/engine/**/*.test.ts', 'test/drive/**/*.test.ts', 'test/transport/**/*.test.ts'],
          exclude: [...SLOW, ...ENGINE_PROCESSES, 'test/cli.test.ts'],
        },
      },
      { extends: true, test: { name: 's3', include: ['test/s3/**/*.test.ts', 'test/cli.test.ts', ...ENGINE_PROCESSES] } },
      { extends: true, test: { name: 'slow', include: SLOW.map((p) => (p.endsWith('**') ? `${p}/*.test.ts` : p)) } },
    ],
  },
});
