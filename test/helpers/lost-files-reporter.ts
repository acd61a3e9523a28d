import type { Reporter, TestCase, TestModule } from 'vitest/node';

/**
 * When a test process dies (a signal, an exit, a native crash), vitest says only
 * "Worker exited unexpectedly", not whose worker it was. This reporter names the
 * files that started and never ended, with the test each was running, so a crash
 * seen once in CI can be found again.
 */
export default class LostFilesReporter implements Reporter {
  private readonly running = new Map<string, { test?: string }>();

  onTestModuleStart(module: TestModule): void {
    this.running.set(module.moduleId, {});
  }

  onTestCaseReady(test: TestCase): void {
    const entry = this.running.get(test.module.moduleId);
    if (entry) entry.test = test.fullName;
  }

  onTestModuleEnd(module: TestModule): void {
    const lost = module.state() === 'failed' && module.errors().some((e) => /exited unexpectedly/i.test(e.message ?? ''));
    if (!lost) this.running.delete(module.moduleId);
  }

  onTestRunEnd(): void {
    for (const [file, { test }] of this.running) {
      process.stderr.write(`[lost test file] ${file} never finished; its last test to start was "${test ?? '(none: it died collecting)'}"\n`);
    }
  }
}
