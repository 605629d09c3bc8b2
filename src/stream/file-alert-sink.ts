import { appendFile, readFile } from 'node:fs/promises';
import type { Alert } from './fraud-windows.js';

/**
 * Alerts appended to an NDJSON file, each alert id once: a run restarted after a crash re-emits the
 * alerts of windows it had not checkpointed, and those already in the file are not written again.
 */
export class FileAlertSink {
  private constructor(
    private readonly file: string,
    private readonly written: Set<string>,
  ) {}

  /** Opens `file` (created on the first alert), remembering the ids of the alerts already in it. */
  static async open(file: string): Promise<FileAlertSink> {
    const existing = await readFile(file, 'utf8').catch(() => '');
    const written = new Set<string>();
    for (const line of existing.split('\n'))
      if (line.trim()) written.add((JSON.parse(line) as Alert).alertId);
    return new FileAlertSink(file, written);
  }

  async write(alert: Alert): Promise<void> {
    if (this.written.has(alert.alertId)) return;
    this.written.add(alert.alertId);
    await appendFile(this.file, `${JSON.stringify(alert)}\n`);
  }
}
