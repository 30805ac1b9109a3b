/**
 * What long loops report their progress to. The CLI draws it as a bar (cli/progress.ts); a
 * library caller may pass its own.
 */
export interface Progress {
  /** One more item done; `label` says what is being worked on now. */
  increment(label?: string): void;
  /** Jumps to `value` done: bars over time rather than items. */
  update(value: number, label?: string): void;
  stop(): void;
}
