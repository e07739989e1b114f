#!/usr/bin/env node
import type { Config } from './config.js';
import { VERSION } from './version.js';

const USAGE = `switchboard ${VERSION} — give an AI agent a phone

Usage:
  switchboard serve    MCP on stdio (what MCP clients launch): attaches to the data dir's engine,
                       starting one in the background when none runs (SWITCHBOARD_ENGINE=embedded: all in one process)
  switchboard engine   the long-lived engine in the foreground (systemd, Docker, a terminal): scheduler,
                       live calls, webhooks and MCP over HTTP at /mcp
  switchboard status   whether an engine runs for the data dir: pid, URL, uptime, faces, live calls, next work
  switchboard stop     stop the data dir's engine cleanly
  switchboard demo     run a simulated outreach mission end to end and print the report
  switchboard doctor   check configuration, credentials, public URL and database
`;

const asksForHelp = (arg: string | undefined) => arg === 'help' || arg === '--help' || arg === '-h';

// Every command loads what it needs when it runs: a face attaching to a running engine needs almost nothing.
async function main(argv: string[]): Promise<number> {
  const command = argv[0] ?? 'help';
  // `switchboard serve --help` must print help, not start a server that waits on stdin.
  if (asksForHelp(command) || argv.slice(1).some(asksForHelp)) {
    process.stderr.write(USAGE);
    return 0;
  }
  if (command === '--version' || command === '-v') {
    process.stderr.write(`${VERSION}\n`);
    return 0;
  }
  if (command === 'doctor') return (await import('./doctor/doctor.js')).runDoctor(process.env, process.stdout);
  if (command === 'serve' && (await import('./faces/face-settings.js')).faceSettings(process.env).engine !== 'embedded') {
    return (await import('./faces/stdio-relay.js')).runStdioFace(process.env);
  }
  const config = await readConfig();
  if (!config) return 2;
  const { createLogger } = await import('./log.js');
  const log = () => createLogger(config.SWITCHBOARD_LOG_LEVEL);
  switch (command) {
    case 'serve':
      return (await import('./faces/embedded.js')).runEmbedded(config, log());
    case 'engine':
      return (await import('./engine/engine.js')).runEngine(config, log(), { exitWhenIdle: argv.includes('--exit-when-idle') });
    case 'status':
      return (await import('./faces/control.js')).printStatus(config, process.stdout);
    case 'stop':
      return (await import('./faces/control.js')).stop(config, process.stdout);
    case 'demo':
      return (await import('./demo/demo.js')).runDemo(config, process.stdout);
    default:
      process.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

async function readConfig(): Promise<Config | null> {
  const { ConfigError, loadConfig } = await import('./config.js');
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const line of err.problems) process.stderr.write(`switchboard: ${line}\n`);
    return null;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`switchboard: ${(err as Error)?.message ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
