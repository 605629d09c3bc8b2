import cliProgress from 'cli-progress';

/** A stderr progress bar that does nothing unless `enabled` (a terminal, not --json, not CI). */
export class ProgressBar {
  private bar: cliProgress.SingleBar | undefined;

  constructor(
    private readonly enabled: boolean,
    private readonly label: string,
  ) {}

  update(done: number, total: number, detail = ''): void {
    if (!this.enabled) return;
    if (!this.bar) {
      this.bar = new cliProgress.SingleBar(
        {
          format: `${this.label} [{bar}] {percentage}% | {detail}`,
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: true,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, 0, { detail });
    }
    this.bar.setTotal(total);
    this.bar.update(done, { detail });
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
