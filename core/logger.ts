import type { Logger } from './contracts/logger.js';

/** One JSON line per event on stderr, so that stdout stays free for command output. */
export class JsonLineLogger implements Logger {
  constructor(private readonly sink: (line: string) => void = (l) => process.stderr.write(l + '\n')) {}

  info(message: string, fields?: Record<string, unknown>): void {
    this.emit('info', message, fields);
  }

  warn(message: string, fields?: Record<string, unknown>): void {
    this.emit('warn', message, fields);
  }

  error(message: string, fields?: Record<string, unknown>): void {
    this.emit('error', message, fields);
  }

  private emit(level: string, msg: string, fields?: Record<string, unknown>): void {
    this.sink(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }));
  }
}

/** Keeps log lines in memory; tests read them. */
export class MemoryLogger implements Logger {
  readonly lines: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  info(message: string, fields?: Record<string, unknown>): void { this.lines.push({ level: 'info', message, fields }); }
  warn(message: string, fields?: Record<string, unknown>): void { this.lines.push({ level: 'warn', message, fields }); }
  error(message: string, fields?: Record<string, unknown>): void { this.lines.push({ level: 'error', message, fields }); }
}
