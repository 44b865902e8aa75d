/**
 * Debian's Chromium for the browser tests, through playwright-core: found on the PATH
 * (npm test installs it when missing), headless, with the flags that keep it quiet and
 * sandbox-free in a container.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

/** Flags that give the page a fake microphone that needs no permission prompt. */
export const FAKE_MICROPHONE_ARGS = [
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
];

function chromiumPath(): string {
  try {
    const found = execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
    if (found) return found;
  } catch {
    // Fall through to the Debian path.
  }
  if (existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
  throw new Error('Chromium not found: install the Debian "chromium" package (apt-get install chromium)');
}

/** Launches headless Chromium, with `extraArgs` added to the usual flags. */
export function launchChromium(timeoutMs: number, extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: [...ARGS, ...extraArgs], timeout: timeoutMs });
}
