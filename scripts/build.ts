import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * `npm run build` (after tsc has type-checked): bundles src/cli.ts into dist/. Node 20 loads ES modules file by file,
 * and `serve` used to read, resolve and compile 332 of them (zod 116, ajv 61, ours 49, …) before answering; now 9.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));

// Pure JS and loaded on every start (pino's worker-thread transports would not resolve from here; logs go to fd 2).
// The rest stays an ordinary import from node_modules: better-sqlite3 is native, twilio and telnyx load only with
// their carrier, libphonenumber-js only when a number is checked.
const BUNDLED = ['@modelcontextprotocol/sdk', 'zod', 'pino'];
const { dependencies } = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { dependencies: Record<string, string> };

rmSync(`${ROOT}/dist`, { recursive: true, force: true });
await build({
  absWorkingDir: ROOT,
  entryPoints: ['src/cli.ts'],
  outdir: 'dist',
  bundle: true,
  // Commands and carriers imported with import() stay chunks of their own, loaded only when used. Chunks sit beside
  // cli.js, one level below package.json, which version.ts reads by relative path.
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  external: Object.keys(dependencies).filter((name) => !BUNDLED.includes(name)),
  // The CommonJS packages bundled here (pino, ajv) still call require() for Node's built-ins.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: 'warning',
});
