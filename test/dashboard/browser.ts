import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { describe, it } from 'vitest';

/** The machine's Chromium (Debian package `chromium`); MSGBOT_CHROMIUM points elsewhere. */
export const CHROMIUM = process.env.MSGBOT_CHROMIUM ?? '/usr/bin/chromium';

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/**
 * Registers browser tests. Without Chromium they fail under CI (.ci/run installs it) and are
 * skipped, visibly, on a developer machine.
 */
export function describeBrowser(name: string, body: () => void): void {
  if (existsSync(CHROMIUM)) {
    describe(name, body);
    return;
  }
  const why = `no Chromium at ${CHROMIUM} (apt-get install chromium, or set MSGBOT_CHROMIUM)`;
  if (process.env.CI) {
    describe(name, () => {
      it('needs Chromium (CI is set)', () => {
        throw new Error(`${why}; .ci/run should have installed it`);
      });
    });
    return;
  }
  console.warn(`[skip] ${name}: ${why}`);
  describe.skip(name, body);
}
