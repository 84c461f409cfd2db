/**
 * `--pretty` logs for humans: colours only when stdout is a terminal (a pipe or a journal gets
 * plain text), and the time in KST — the time the database rows and the CLI show (PROTOCOL §8.0)
 * — labelled as such.
 */
import PinoPretty from 'pino-pretty';

const KST_OFFSET_MS = 9 * 3_600_000;

/** `2026-12-07 01:49:14.123 KST` */
export function kstLogTime(epochMs: number): string {
  const iso = new Date(epochMs + KST_OFFSET_MS).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)} KST`;
}

export function prettyOptions(opts: { colorize: boolean }): PinoPretty.PrettyOptions {
  return {
    colorize: opts.colorize,
    translateTime: false,
    customPrettifiers: { time: (t) => `[${kstLogTime(Number(t))}]` },
  };
}

/** A pretty-printing destination on stdout. */
export function prettyDestination(): PinoPretty.PrettyStream {
  return PinoPretty({ ...prettyOptions({ colorize: process.stdout.isTTY === true }), destination: 1 });
}
