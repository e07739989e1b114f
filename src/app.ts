import { Assistants } from './assistants/assistants.js';
import { Calls } from './calls/calls.js';
import { Campaigns } from './campaigns/campaigns.js';
import { Conversations } from './conversation/conversations.js';
import { createCarrierContext } from './carrier-context.js';
import { Changes } from './changes.js';
import type { Config } from './config.js';
import { parseCallingHours } from './guardrails/calling-hours.js';
import { DoNotContact } from './guardrails/do-not-contact.js';
import { OutboundGuard } from './guardrails/outbound-guard.js';
import { startSidecar, type Sidecar } from './http/server.js';
import { Insights } from './insights/insights.js';
import type { Logger } from './log.js';
import { Messages } from './messages/messages.js';
import { LinkedWork } from './missions/linked-work.js';
import { Missions } from './missions/missions.js';
import { Scheduler } from './scheduler/scheduler.js';
import { openStore, schemaVersion } from './store/database.js';
import { Store } from './store/store.js';
import { pruneWebhookInbox } from './store/webhook-inbox.js';
import { createProvider } from './telephony/index.js';
import type { TelephonyProvider } from './telephony/provider.js';
import { acquireLock } from './data-dir.js';
import { systemClock, type Clock } from './time.js';
import { VERSION } from './version.js';
import type { MediaHub } from './voice/media-port.js';
import { ScriptedAgent } from './voice/sim-agent.js';

/** Everything one Switchboard process holds; the MCP server, CLI and sidecar all call into it. */
export type App = {
  config: Config;
  log: Logger;
  store: Store;
  changes: Changes;
  missions: Missions;
  assistants: Assistants;
  calls: Calls;
  messages: Messages;
  campaigns: Campaigns;
  insights: Insights;
  doNotContact: DoNotContact;
  scheduler: Scheduler;
  conversations: Conversations;
  provider: TelephonyProvider;
  sidecar: Sidecar | null;
  /** Writes the listener's URL into the data dir's lock, where faces look for it: call once `/mcp` is served. */
  publish(): void;
  stop(): Promise<void>;
};

/**
 * Opens the store, builds the domain, and (with `listen`) starts the sidecar. The scheduler starts
 * after crash recovery, so overdue work fires right away and nothing claimed is dialed again.
 * A failure at any point closes what was already opened, so no half-started process lingers. `clock` is what the
 * guardrails and due times read as now (tests stand in other time zones with it).
 */
export async function createApp(config: Config, log: Logger, opts: { listen?: boolean; dataDir?: string; clock?: Clock } = {}): Promise<App> {
  const opened: (() => unknown)[] = [];
  const closeOpened = async () => {
    for (const close of opened.splice(0).reverse()) await close();
  };
  try {
    const dataDir = opts.dataDir ?? config.SWITCHBOARD_DATA_DIR;
    // One process runs a data dir's scheduler and calls; a second refuses here, naming the first.
    const lock = acquireLock(dataDir);
    opened.push(() => lock.release());
    const changes = new Changes();
    const store = new Store(openStore(dataDir), changes);
    opened.push(() => store.close());
    const missions = new Missions(store);
    const linkedWork = new LinkedWork(store, missions);
    const assistants = new Assistants(store);
    const insights = new Insights(store);
    const doNotContact = new DoNotContact(store);
    const clock = opts.clock ?? systemClock;

    const carrier = createCarrierContext({ config, log, store, doNotContact, voice: new ScriptedAgent() });
    opened.push(() => carrier.stop());
    const provider = await createProvider(config, carrier.ctx);
    opened.push(() => provider.stop());
    const guard = new OutboundGuard(
      store,
      {
        hours: parseCallingHours(config.SWITCHBOARD_CALLING_HOURS),
        owners: config.SWITCHBOARD_OWNER_NUMBERS,
        maxPerDay: { call: config.SWITCHBOARD_MAX_CALLS_PER_NUMBER_PER_DAY, sms: config.SWITCHBOARD_MAX_SMS_PER_NUMBER_PER_DAY },
        zoneOf: (number) => provider.timezoneOf?.(number),
      },
      clock,
    );

    const scheduler = new Scheduler(store, {
      maxConcurrentCalls: config.SWITCHBOARD_MAX_CONCURRENT_CALLS,
      minCallSpacingMs: config.SWITCHBOARD_MIN_CALL_SPACING_MS,
      log,
      clock,
    });
    opened.push(() => scheduler.stop());
    const fromNumber = config.SWITCHBOARD_FROM_NUMBER;
    const calls = new Calls(store, { provider, scheduler, assistants, insights, doNotContact, guard, linkedWork, log }, {
      fromNumber,
      ringTimeoutSeconds: config.SWITCHBOARD_RING_TIMEOUT_SECONDS,
      maxCallSeconds: config.SWITCHBOARD_MAX_CALL_SECONDS,
      deadlineGraceSeconds: config.SWITCHBOARD_CALL_DEADLINE_GRACE_SECONDS,
      inbound: { handler: config.SWITCHBOARD_INBOUND_HANDLER, assistantId: config.SWITCHBOARD_INBOUND_ASSISTANT_ID, greeting: config.SWITCHBOARD_INBOUND_GREETING },
    });
    opened.push(() => calls.stop());
    const messages = new Messages(store, { provider, scheduler, doNotContact, guard, linkedWork, log }, { fromNumber });
    const conversations = new Conversations(
      {
        holdMs: config.SWITCHBOARD_CONVERSATION_HOLD_SECONDS * 1000,
        goodbyeMs: config.SWITCHBOARD_CONVERSATION_GOODBYE_SECONDS * 1000,
        unclaimedMs: config.SWITCHBOARD_INBOUND_CLAIM_SECONDS * 1000,
      },
      log.child({ component: 'conversations' }),
      (callId) => calls.records.row(callId),
    );
    opened.push(() => conversations.stop());
    carrier.attach({ providerName: provider.name, calls, messages, conversations });
    linkedWork.track(calls.linkedItems);
    linkedWork.track(messages.linkedItems);
    const campaigns = new Campaigns(store, { missions, calls, messages, insights, assistants, guard, doNotContact, scheduler, log: log.child({ component: 'campaigns' }) });
    // A campaign takes its next step in the transaction where a call or SMS of its mission settled.
    linkedWork.watch((missionId, stepId) => campaigns.advance(missionId, stepId));
    // Ending on purpose reaches every call and message it concerns, in the transaction that decided it.
    store.events.on('mission.ended', ({ missionId }) => {
      calls.endForMission(missionId);
      messages.endForMission(missionId);
    });
    store.events.on('contact.blocked', ({ number }) => calls.endForNumber(number));

    let sidecar: Sidecar | null = null;
    if (opts.listen) {
      const listening = await listen(config, log, provider, store, carrier.ctx.voice);
      opened.push(() => listening.close());
      sidecar = listening;
    }
    // Holding the lock, nothing else runs this data dir: whatever is still live was left by a crash.
    pruneWebhookInbox(store);
    guard.prune();
    const interrupted = { calls: await calls.recoverAfterRestart(), messages: messages.recoverAfterRestart() };
    if (interrupted.calls + interrupted.messages > 0) log.warn(interrupted, 'work that was in flight when switchboard stopped was marked failed');
    store.startCheckpoints(log);
    calls.watchDeadlines();
    scheduler.start({ call: calls, sms: messages });

    let stopped: Promise<void> | undefined;
    return {
      config, log, store, changes, missions, assistants, calls, messages, campaigns, insights, doNotContact, scheduler, conversations, provider, sidecar,
      publish: () => {
        if (sidecar) lock.publish(sidecar.url);
      },
      stop: () => (stopped ??= closeOpened()),
    };
  } catch (err) {
    await closeOpened();
    throw err;
  }
}

async function listen(config: Config, log: Logger, provider: TelephonyProvider, store: Store, voice: MediaHub | null): Promise<Sidecar> {
  try {
    const sidecar = await startSidecar({
      host: config.SWITCHBOARD_HTTP_HOST,
      port: config.SWITCHBOARD_HTTP_PORT,
      log,
      routes: provider.webhooks,
      ...(voice && { media: { routes: provider.mediaStreams, hub: voice } }),
      health: () => ({ ok: store.db.open, version: VERSION, provider: provider.name, store: { open: store.db.open, schema_version: schemaVersion(store.db) } }),
    });
    log.info({ url: sidecar.url }, 'sidecar listening');
    return sidecar;
  } catch (err) {
    throw new Error(`cannot listen on ${config.SWITCHBOARD_HTTP_HOST}:${config.SWITCHBOARD_HTTP_PORT} (${(err as Error).message}); set SWITCHBOARD_HTTP_PORT to a free port, or 0 for any.`);
  }
}
