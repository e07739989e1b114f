/**
 * Numbered, forward-only schema migrations. Append a new entry; never edit a shipped one.
 * Times are ISO 8601 text (UTC, with offset); `*_ms` columns are epoch milliseconds for ordering.
 */
export type Migration = {
  version: number;
  name: string;
  sql: string;
  /** Rebuilds a table others refer to (SQLite's way to change a CHECK): runs with foreign keys off, checked before commit. */
  rebuildsTables?: boolean;
};

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'missions, calls, messages, scheduler',
    sql: `
CREATE TABLE missions (
  id              TEXT PRIMARY KEY,
  slug            TEXT NOT NULL UNIQUE,
  name            TEXT NOT NULL,
  instructions    TEXT NOT NULL,
  request         TEXT,
  insight_schema  TEXT,
  status          TEXT NOT NULL CHECK (status IN ('active','succeeded','failed','cancelled')),
  summary         TEXT,
  result          TEXT,
  idempotency_key TEXT UNIQUE,
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL,
  ended_at        TEXT
);
CREATE INDEX missions_status ON missions(status, created_at);

CREATE TABLE steps (
  mission_id  TEXT NOT NULL REFERENCES missions(id),
  step_id     TEXT NOT NULL,
  seq         INTEGER NOT NULL,
  description TEXT NOT NULL,
  status      TEXT NOT NULL CHECK (status IN ('pending','in_progress','completed','failed','skipped')),
  note        TEXT,
  updated_at  TEXT NOT NULL,
  PRIMARY KEY (mission_id, step_id),
  UNIQUE (mission_id, seq)
);

CREATE TABLE events (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  mission_id TEXT NOT NULL REFERENCES missions(id),
  step_id    TEXT,
  type       TEXT NOT NULL,
  summary    TEXT NOT NULL,
  payload    TEXT,
  source     TEXT NOT NULL CHECK (source IN ('client','switchboard')),
  created_at TEXT NOT NULL
);
CREATE INDEX events_mission ON events(mission_id, seq);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

CREATE TABLE memory (
  mission_id TEXT NOT NULL REFERENCES missions(id),
  key        TEXT NOT NULL,
  value      TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (mission_id, key)
);

CREATE TABLE assistants (
  id                TEXT PRIMARY KEY,
  name              TEXT NOT NULL,
  instructions      TEXT NOT NULL,
  greeting          TEXT,
  voice             TEXT,
  insight_schema    TEXT,
  amd               TEXT NOT NULL DEFAULT 'off' CHECK (amd IN ('off','detect','voicemail')),
  voicemail_message TEXT,
  created_at        TEXT NOT NULL,
  updated_at        TEXT NOT NULL
);

CREATE TABLE calls (
  id                TEXT PRIMARY KEY,
  direction         TEXT NOT NULL CHECK (direction IN ('outbound','inbound')),
  to_number         TEXT NOT NULL,
  from_number       TEXT,
  mode              TEXT NOT NULL CHECK (mode IN ('agent','notify','conversation')),
  message           TEXT,
  instructions      TEXT,
  assistant_id      TEXT REFERENCES assistants(id),
  insight_schema    TEXT,
  amd               TEXT NOT NULL CHECK (amd IN ('off','detect','voicemail')),
  voicemail_message TEXT,
  retry             TEXT,
  status            TEXT NOT NULL CHECK (status IN ('scheduled','queued','dialing','ringing','in_progress','completed','busy','no_answer','voicemail','failed','canceled')),
  answered_by       TEXT,
  error_code        TEXT,
  error_message     TEXT,
  mission_id        TEXT REFERENCES missions(id),
  step_id           TEXT,
  idempotency_key   TEXT UNIQUE,
  metadata          TEXT,
  scheduled_at      TEXT NOT NULL,
  answered_at       TEXT,
  ended_at          TEXT,
  end_requested_at  TEXT,
  created_at        TEXT NOT NULL,
  updated_at        TEXT NOT NULL,
  FOREIGN KEY (mission_id, step_id) REFERENCES steps(mission_id, step_id)
);
CREATE INDEX calls_mission ON calls(mission_id, created_at);
CREATE INDEX calls_status ON calls(status, created_at);

CREATE TABLE call_attempts (
  call_id          TEXT NOT NULL REFERENCES calls(id),
  attempt          INTEGER NOT NULL,
  provider         TEXT NOT NULL,
  provider_call_id TEXT,
  status           TEXT NOT NULL,
  answered_by      TEXT,
  hangup_cause     TEXT,
  error_code       TEXT,
  error_message    TEXT,
  started_at       TEXT NOT NULL,
  answered_at      TEXT,
  ended_at         TEXT,
  PRIMARY KEY (call_id, attempt)
);
CREATE UNIQUE INDEX call_attempts_provider ON call_attempts(provider, provider_call_id) WHERE provider_call_id IS NOT NULL;

CREATE TABLE transcript_turns (
  seq     INTEGER PRIMARY KEY AUTOINCREMENT,
  call_id TEXT NOT NULL REFERENCES calls(id),
  attempt INTEGER NOT NULL,
  speaker TEXT NOT NULL CHECK (speaker IN ('agent','callee')),
  text    TEXT NOT NULL,
  at      TEXT NOT NULL
);
CREATE INDEX transcript_call ON transcript_turns(call_id, seq);

CREATE TABLE insights (
  call_id    TEXT PRIMARY KEY REFERENCES calls(id),
  status     TEXT NOT NULL CHECK (status IN ('pending','ready','unavailable')),
  summary    TEXT,
  outcome    TEXT,
  fields     TEXT NOT NULL DEFAULT '{}',
  source     TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE messages (
  id                  TEXT PRIMARY KEY,
  direction           TEXT NOT NULL CHECK (direction IN ('outbound','inbound')),
  to_number           TEXT NOT NULL,
  from_number         TEXT,
  body                TEXT NOT NULL,
  status              TEXT NOT NULL CHECK (status IN ('scheduled','queued','sent','delivered','failed','canceled','received')),
  provider            TEXT,
  provider_message_id TEXT,
  error_code          TEXT,
  error_message       TEXT,
  mission_id          TEXT REFERENCES missions(id),
  step_id             TEXT,
  idempotency_key     TEXT UNIQUE,
  scheduled_at        TEXT NOT NULL,
  sent_at             TEXT,
  ended_at            TEXT,
  created_at          TEXT NOT NULL,
  updated_at          TEXT NOT NULL,
  FOREIGN KEY (mission_id, step_id) REFERENCES steps(mission_id, step_id)
);
CREATE INDEX messages_mission ON messages(mission_id, created_at);
CREATE INDEX messages_peer ON messages(to_number, from_number, created_at);
CREATE UNIQUE INDEX messages_provider ON messages(provider, provider_message_id) WHERE provider_message_id IS NOT NULL;

-- Durable work queue: one row per thing to dispatch at a time. Claimed in a transaction.
CREATE TABLE scheduled_work (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  kind       TEXT NOT NULL CHECK (kind IN ('call','sms')),
  ref_id     TEXT NOT NULL,
  due_ms     INTEGER NOT NULL,
  state      TEXT NOT NULL CHECK (state IN ('pending','claimed','cancelled')),
  created_at TEXT NOT NULL,
  claimed_at TEXT
);
CREATE INDEX scheduled_work_due ON scheduled_work(state, due_ms);
CREATE INDEX scheduled_work_ref ON scheduled_work(ref_id, state);

-- Carrier deliveries seen, keyed by the carrier's own event identity (duplicates are normal).
CREATE TABLE webhook_inbox (
  provider    TEXT NOT NULL,
  event_key   TEXT NOT NULL,
  kind        TEXT NOT NULL,
  received_at TEXT NOT NULL,
  PRIMARY KEY (provider, event_key)
);

CREATE TABLE do_not_contact (
  number     TEXT PRIMARY KEY,
  reason     TEXT NOT NULL,
  source     TEXT NOT NULL,
  created_at TEXT NOT NULL
);
`,
  },
  {
    version: 2,
    name: 'why a call was ended on purpose; live calls by number',
    sql: `
ALTER TABLE calls ADD COLUMN end_reason TEXT;
CREATE INDEX calls_to_status ON calls(to_number, status);
`,
  },
  {
    version: 3,
    name: 'per-turn latency of live voice calls',
    sql: `
-- One row per callee turn answered by the live agent: callee stopped speaking → first model audio → first frame out.
CREATE TABLE call_turn_latency (
  call_id        TEXT NOT NULL REFERENCES calls(id),
  attempt        INTEGER NOT NULL,
  turn           INTEGER NOT NULL,
  model_ms       REAL NOT NULL,
  first_frame_ms REAL NOT NULL,
  at             TEXT NOT NULL,
  PRIMARY KEY (call_id, attempt, turn)
);
`,
  },
  {
    version: 4,
    name: 'calling guardrails: callee time zone, deferrals, contacts counted by the daily caps',
    sql: `
-- The callee's IANA zone when the client gave one; why and until when the guardrails last moved the work later.
ALTER TABLE calls ADD COLUMN timezone TEXT;
ALTER TABLE calls ADD COLUMN deferred_until TEXT;
ALTER TABLE calls ADD COLUMN deferred_code TEXT;
ALTER TABLE calls ADD COLUMN deferred_reason TEXT;
ALTER TABLE messages ADD COLUMN timezone TEXT;
ALTER TABLE messages ADD COLUMN deferred_until TEXT;
ALTER TABLE messages ADD COLUMN deferred_code TEXT;
ALTER TABLE messages ADD COLUMN deferred_reason TEXT;

-- One row per call attempt dialed or SMS handed to the carrier, on the guardrails' clock: what the rolling 24 h
-- per-number caps count. Older rows are pruned at start.
CREATE TABLE contact_log (
  number TEXT NOT NULL,
  kind   TEXT NOT NULL CHECK (kind IN ('call','sms')),
  at_ms  INTEGER NOT NULL
);
CREATE INDEX contact_log_number ON contact_log(number, kind, at_ms);

-- What was dialed and sent in the last day before this version counts too.
INSERT INTO contact_log (number, kind, at_ms)
  SELECT c.to_number, 'call', CAST(round((julianday(a.started_at) - 2440587.5) * 86400000) AS INTEGER)
  FROM call_attempts a JOIN calls c ON c.id = a.call_id
  WHERE c.direction = 'outbound' AND julianday(a.started_at) > julianday('now', '-1 day');
INSERT INTO contact_log (number, kind, at_ms)
  SELECT to_number, 'sms', CAST(round((julianday(coalesce(sent_at, updated_at)) - 2440587.5) * 86400000) AS INTEGER)
  FROM messages
  WHERE direction = 'outbound' AND provider_message_id IS NOT NULL AND julianday(coalesce(sent_at, updated_at)) > julianday('now', '-1 day');
`,
  },
  {
    version: 5,
    name: 'campaigns: missions may pause or wait for approval; campaign targets and their plan',
    rebuildsTables: true,
    sql: `
CREATE TABLE missions_v5 (
  id              TEXT PRIMARY KEY,
  slug            TEXT NOT NULL UNIQUE,
  name            TEXT NOT NULL,
  instructions    TEXT NOT NULL,
  request         TEXT,
  insight_schema  TEXT,
  status          TEXT NOT NULL CHECK (status IN ('active','paused','awaiting_approval','succeeded','failed','cancelled')),
  summary         TEXT,
  result          TEXT,
  idempotency_key TEXT UNIQUE,
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL,
  ended_at        TEXT
);
INSERT INTO missions_v5 (id, slug, name, instructions, request, insight_schema, status, summary, result, idempotency_key, created_at, updated_at, ended_at)
  SELECT id, slug, name, instructions, request, insight_schema, status, summary, result, idempotency_key, created_at, updated_at, ended_at FROM missions;
DROP TABLE missions;
ALTER TABLE missions_v5 RENAME TO missions;
CREATE INDEX missions_status ON missions(status, created_at);

-- A mission created with targets: its class and what every call and follow-up is made of (JSON), and how far it got.
CREATE TABLE campaigns (
  mission_id TEXT PRIMARY KEY REFERENCES missions(id),
  class      TEXT NOT NULL CHECK (class IN ('sweep','screening','negotiation','multi_round','gather_then_act')),
  spec       TEXT NOT NULL,
  round      INTEGER NOT NULL DEFAULT 1,
  -- gather_then_act: the target whose call matched stop_when
  winner     INTEGER
);

-- One row per target and round: waiting to be called, called (its call), or skipped (why).
CREATE TABLE campaign_targets (
  mission_id  TEXT NOT NULL REFERENCES missions(id),
  round       INTEGER NOT NULL,
  idx         INTEGER NOT NULL,
  to_number   TEXT NOT NULL,
  name        TEXT,
  timezone    TEXT,
  context     TEXT,
  step_id     TEXT,
  state       TEXT NOT NULL CHECK (state IN ('waiting','called','skipped')),
  call_id     TEXT REFERENCES calls(id),
  skip_code   TEXT,
  skip_reason TEXT,
  -- 1 once the end of its call was taken in (follow-up sent, stop_when checked), in the transaction of that end
  settled     INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (mission_id, round, idx)
);
CREATE INDEX campaign_targets_step ON campaign_targets(mission_id, step_id);
-- What keeps a round open: targets still to call, or whose call has not ended.
CREATE INDEX campaign_targets_open ON campaign_targets(mission_id, round) WHERE settled = 0 AND state != 'skipped';
`,
  },
];
