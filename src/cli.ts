#!/usr/bin/env node
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './log.js';
import { VERSION } from './version.js';

const USAGE = `switchboard ${VERSION} — give an AI agent a phone

Usage:
  switchboard serve    MCP server on stdio + the sidecar HTTP listener (what MCP clients launch)
  switchboard demo     run a simulated outreach mission end to end and print the report
  switchboard doctor   check configuration, credentials, public URL and database
`;

const asksForHelp = (arg: string | undefined) => arg === 'help' || arg === '--help' || arg === '-h';

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
  if (command === 'doctor') {
    const { runDoctor } = await import('./doctor/doctor.js');
    return runDoctor(process.env, process.stdout);
  }
  const config = readConfig();
  if (!config) return 2;
  switch (command) {
    case 'serve': {
      const { serve } = await import('./serve.js');
      return serve(config, createLogger(config.SWITCHBOARD_LOG_LEVEL));
    }
    case 'demo': {
      const { runDemo } = await import('./demo/demo.js');
      return runDemo(config, process.stdout);
    }
    default:
      process.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

function readConfig(): Config | null {
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
