// What the package's tests share: the repository's paths, its test cases,
// and the native `scapi` binary the differential tests compare against.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The case folders of `tests/cases/<group>`, sorted. */
export function cases(group) {
  const dir = join(root, 'tests', 'cases', group);
  return readdirSync(dir)
    .sort()
    .map((name) => join(dir, name));
}

/** The file of a case whose name starts with `stem.` (policy.cfg, requests.jsonl…). */
export function input(dir, stem) {
  const name = readdirSync(dir).find((f) => f.startsWith(`${stem}.`));
  return name ? join(dir, name) : null;
}

/**
 * The native binary: `$SCAPI`, else the workspace's debug build (built if
 * missing) in the folder Cargo builds into (`CARGO_TARGET_DIR` and
 * `.cargo/config.toml` included).
 */
export function nativeScapi() {
  if (process.env.SCAPI) return process.env.SCAPI;
  const meta = JSON.parse(
    execFileSync('cargo', ['metadata', '--format-version', '1', '--no-deps', '--locked'], { cwd: root }).toString(),
  );
  const bin = join(meta.target_directory, 'debug', 'scapi');
  if (!existsSync(bin)) {
    execFileSync('cargo', ['build', '--locked', '-p', 'scapi-cli'], { cwd: root, stdio: 'inherit' });
  }
  return bin;
}

/** Runs the native binary; its standard output (whatever the exit code). */
export function runNative(args, cwd) {
  try {
    return execFileSync(nativeScapi(), args, { cwd, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  } catch (e) {
    if (e.stdout) return e.stdout.toString();
    throw e;
  }
}

/** RFC 3339 as the native reports write it: seconds, milliseconds only when not 0. */
export function rfc3339(ms) {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** The distribution's Chromium (or `$CHROMIUM`). */
export function chromium() {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    try {
      return execFileSync('sh', ['-c', `command -v ${name}`]).toString().trim();
    } catch {
      // try the next
    }
  }
  throw new Error('no Chromium: install the distribution\'s `chromium` package (.ci/run does)');
}
