import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode, McpError, SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { App } from '../app.js';
import { UserError } from '../errors.js';
import { refusalText } from './advice.js';
import { missionDetail } from '../views/mission-detail.js';

const MISSION = 'switchboard://missions/';
const CALL = 'switchboard://calls/';

export const missionUri = (id: string) => `${MISSION}${id}`;
export const callUri = (id: string) => `${CALL}${id}`;
export const transcriptUri = (id: string) => `${CALL}${id}/transcript`;

const json = (uri: URL, value: unknown) => ({ contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(value) }] });
const one = (v: string | string[]) => (Array.isArray(v) ? v[0] : v);

/**
 * Missions, calls and transcripts as resources, with completion and subscriptions. Every committed change
 * to a subscribed resource sends notifications/resources/updated. Returns a function that stops listening.
 */
export function registerResources(server: McpServer, app: App): () => void {
  const { missions, calls } = app;
  const recentCalls = () => calls.list({ limit: 100 });

  server.registerResource(
    'mission',
    new ResourceTemplate(`${MISSION}{mission_id}`, {
      list: () => ({ resources: missions.list({ limit: 100 }).map((m) => ({ uri: missionUri(m.mission_id), name: `${m.name} (${m.status})` })) }),
      complete: { mission_id: (value) => missions.list({ limit: 500 }).flatMap((m) => [m.mission_id, m.slug]).filter((v) => v.startsWith(value)).slice(0, 100) },
    }),
    { title: 'Mission', description: 'A mission with its steps, calls, messages, memory and recent events (JSON). Addressable by id or slug.', mimeType: 'application/json' },
    (uri, { mission_id }) => json(uri, missionDetail(app, one(mission_id))),
  );

  const completeCallId = (value: string) => recentCalls().map((c) => c.call_id).filter((id) => id.startsWith(value));
  server.registerResource(
    'call',
    new ResourceTemplate(`${CALL}{call_id}`, {
      list: () => ({ resources: recentCalls().map((c) => ({ uri: callUri(c.call_id), name: `Call to ${c.to} (${c.status})` })) }),
      complete: { call_id: completeCallId },
    }),
    { title: 'Call', description: 'A call with its attempts, outcome, fields and transcript (JSON).', mimeType: 'application/json' },
    (uri, { call_id }) => json(uri, calls.get(one(call_id))),
  );

  server.registerResource(
    'call-transcript',
    new ResourceTemplate(`${CALL}{call_id}/transcript`, { list: undefined, complete: { call_id: completeCallId } }),
    { title: 'Call transcript', description: 'The turns of a call as they happen: agent and callee, with times (JSON).', mimeType: 'application/json' },
    (uri, { call_id }) => json(uri, { call_id: one(call_id), transcript: calls.transcript(calls.get(one(call_id)).call_id) }),
  );

  // Subscriptions are kept by canonical URI (a mission slug resolves to its id).
  const subscribed = new Map<string, Set<string>>();
  const canonical = (uri: string): string => {
    if (!uri.startsWith(MISSION)) {
      const id = uri.slice(CALL.length).replace(/\/transcript$/, '');
      if (!uri.startsWith(CALL) || !id) throw new UserError(`Unknown resource ${uri}; subscribe to switchboard://missions/{id} or switchboard://calls/{id}[/transcript].`);
      calls.get(id);
      return uri;
    }
    return missionUri(missions.resolveId(uri.slice(MISSION.length)));
  };
  server.server.setRequestHandler(SubscribeRequestSchema, async (req) => {
    let key: string;
    try {
      key = canonical(req.params.uri);
    } catch (err) {
      // A URI that names nothing is the client's mistake (invalid params), not a server failure.
      if (err instanceof UserError) throw new McpError(ErrorCode.InvalidParams, refusalText(err));
      throw err;
    }
    subscribed.set(key, (subscribed.get(key) ?? new Set()).add(req.params.uri));
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, async (req) => {
    for (const [key, uris] of subscribed) if (uris.delete(req.params.uri) && uris.size === 0) subscribed.delete(key);
    return {};
  });

  const notify = (key: string) => {
    for (const uri of subscribed.get(key) ?? []) void server.server.sendResourceUpdated({ uri }).catch(() => undefined);
  };
  return app.changes.subscribe((change) => {
    // A new call to take is a new entry in the calls list.
    if (change.kind === 'inbound') void server.server.sendResourceListChanged().catch(() => undefined);
    if (subscribed.size === 0) return;
    if (change.kind === 'mission') notify(missionUri(change.id));
    if (change.kind === 'call') {
      notify(callUri(change.id));
      if (change.transcript) notify(transcriptUri(change.id));
    }
  });
}
