import { NotFoundError, UserError } from '../errors.js';
import { newId } from '../ids.js';
import { validateInsightSchema, type InsightSchema } from '../insights/schema.js';
import { fromJsonText } from '../json.js';
import type { Store } from '../store/store.js';
import type { Amd } from '../telephony/provider.js';
import { nowIso } from '../time.js';

export type Assistant = {
  assistant_id: string;
  name: string;
  instructions: string;
  greeting: string | null;
  voice: string | null;
  insight_schema: InsightSchema | null;
  amd: Amd;
  voicemail_message: string | null;
  created_at: string;
  updated_at: string;
};

export type AssistantInput = {
  name?: string;
  instructions?: string;
  greeting?: string;
  voice?: string;
  insight_schema?: unknown;
  amd?: Amd;
  voicemail_message?: string;
};

type Row = Omit<Assistant, 'assistant_id' | 'insight_schema'> & { id: string; insight_schema: string | null };

/** Reusable voice-agent profiles a call can name with `assistant_id`. */
export class Assistants {
  constructor(private readonly store: Store) {}

  create(input: AssistantInput & { name: string; instructions: string }): Assistant {
    const fields = this.check(input);
    const id = newId('asst');
    const now = nowIso();
    this.store.tx(() =>
      this.store
        .sql(
          `INSERT INTO assistants (id, name, instructions, greeting, voice, insight_schema, amd, voicemail_message, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(id, fields.name, fields.instructions, fields.greeting ?? null, fields.voice ?? null, fields.insight_schema ?? null, fields.amd ?? 'off', fields.voicemail_message ?? null, now, now),
    );
    return this.get(id);
  }

  update(id: string, input: AssistantInput): Assistant {
    const fields = this.check(input);
    return this.store.tx(() => {
      this.get(id);
      const entries = Object.entries(fields).filter(([, v]) => v !== undefined);
      if (entries.length === 0) throw new UserError('Nothing to update: pass at least one of name, instructions, greeting, voice, insight_schema, amd, voicemail_message.');
      const sets = entries.map(([k]) => `${k} = ?`).join(', ');
      this.store.db.prepare(`UPDATE assistants SET ${sets}, updated_at = ? WHERE id = ?`).run(...entries.map(([, v]) => v), nowIso(), id);
      return this.get(id);
    });
  }

  get(id: string): Assistant {
    const row = this.store.sql('SELECT * FROM assistants WHERE id = ?').get(id) as Row | undefined;
    if (!row) throw new NotFoundError(`No assistant has id ${JSON.stringify(id)}.`, 'assistants');
    return toAssistant(row);
  }

  list(): Assistant[] {
    return (this.store.sql('SELECT * FROM assistants ORDER BY created_at, id').all() as Row[]).map(toAssistant);
  }

  private check(input: AssistantInput) {
    if (input.name !== undefined && !input.name.trim()) throw new UserError('`name` must not be empty.');
    if (input.instructions !== undefined && !input.instructions.trim()) throw new UserError('`instructions` must not be empty; say what the agent should do on the call.');
    const schema = input.insight_schema === undefined ? undefined : JSON.stringify(validateInsightSchema(input.insight_schema));
    return {
      name: input.name?.trim(),
      instructions: input.instructions?.trim(),
      greeting: input.greeting,
      voice: input.voice,
      insight_schema: schema,
      amd: input.amd,
      voicemail_message: input.voicemail_message,
    };
  }
}

function toAssistant({ id, insight_schema, ...rest }: Row): Assistant {
  return { assistant_id: id, ...rest, insight_schema: fromJsonText<InsightSchema>(insight_schema) ?? null };
}
