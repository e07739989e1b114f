import type { Config } from '../config.js';
import { engineStatus, reachEngine, stopEngine } from './engine-client.js';

/** `switchboard status`: exit 0 with the engine's state, or 1 when none runs for the data dir. */
export async function printStatus(config: Config, out: NodeJS.WritableStream): Promise<number> {
  const engine = await reachEngine({ dataDir: config.SWITCHBOARD_DATA_DIR, token: config.SWITCHBOARD_HTTP_TOKEN });
  if (!engine) {
    out.write(`No engine runs for ${config.SWITCHBOARD_DATA_DIR}. \`switchboard serve\` starts one when a client connects; \`switchboard engine\` runs one in the foreground.\n`);
    return 1;
  }
  const s = await engineStatus(engine);
  const next = s.next_scheduled ? `${s.next_scheduled.kind} ${s.next_scheduled.ref_id} at ${s.next_scheduled.due_at}` : 'nothing';
  out.write(
    [
      `engine          pid ${s.pid}, ${s.url} (MCP at ${s.url}/mcp)`,
      `data dir        ${config.SWITCHBOARD_DATA_DIR}`,
      `up since        ${s.started_at} (${formatDuration(s.uptime_seconds)})`,
      `faces attached  ${s.faces}`,
      `live calls      ${s.live_calls}`,
      `next scheduled  ${next}`,
      `active missions ${s.active_missions}`,
    ].join('\n') + '\n',
  );
  return 0;
}

/** `switchboard stop`: stops the engine and waits for it to be gone; nothing running is not an error. */
export async function stop(config: Config, out: NodeJS.WritableStream): Promise<number> {
  const engine = await reachEngine({ dataDir: config.SWITCHBOARD_DATA_DIR, token: config.SWITCHBOARD_HTTP_TOKEN });
  if (!engine) {
    out.write(`No engine runs for ${config.SWITCHBOARD_DATA_DIR}; nothing to stop.\n`);
    return 0;
  }
  await stopEngine(engine);
  out.write(`Stopped the engine (pid ${engine.pid}) for ${config.SWITCHBOARD_DATA_DIR}.\n`);
  return 0;
}

function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return h ? `${h} h ${m} min` : m ? `${m} min ${seconds % 60} s` : `${seconds} s`;
}
