// Launches Debian's Chromium (/usr/bin/chromium, installed by .ci/run) through
// playwright-core for the browser suites. The flags keep it off the network: this machine
// reaches nothing but loopback, and Chromium's background services would otherwise try.
import { chromium } from 'playwright-core';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where screenshots and other artifacts of the browser suites go (gitignored). */
export const ARTIFACTS = fileURLToPath(new URL('../../artifacts/', import.meta.url));

export async function launchChromium() {
  await mkdir(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-default-apps', '--disable-extensions',
    ],
  });
}

/**
 * Collects a page's console errors and uncaught exceptions, so that a test can assert
 * there were none.
 * @param {import('playwright-core').Page} page
 */
export function collectErrors(page) {
  const errors = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(`console: ${msg.text()}`); });
  return errors;
}
