import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian's chromium (apt-get install chromium), or CHROMIUM_BIN. */
export function chromiumPath(): string | undefined {
  const candidates = [process.env.CHROMIUM_BIN, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  return candidates.find((path): path is string => path !== undefined && existsSync(path));
}

/** Renders a local page headless and returns the DOM it built and every console message it logged. */
export function renderInChromium(
  binary: string,
  file: string,
): Promise<{ dom: string; consoleMessages: string[] }> {
  return new Promise((resolve, reject) => {
    execFile(
      binary,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--enable-logging=stderr',
        '--v=0',
        '--dump-dom',
        `file://${file}`,
      ],
      { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error !== null) {
          reject(new Error(`chromium failed: ${error.message}\n${stderr}`));
          return;
        }
        const consoleMessages = stderr.split('\n').filter((line) => line.includes(':CONSOLE'));
        resolve({ dom: stdout, consoleMessages });
      },
    );
  });
}
