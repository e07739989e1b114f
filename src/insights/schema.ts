import { UserError } from '../errors.js';

/** A JSON Schema object whose `properties` name the fields a call should collect. */
export type InsightSchema = {
  type?: 'object';
  properties: Record<string, { type?: string; description?: string; [k: string]: unknown }>;
  required?: string[];
  [k: string]: unknown;
};

export type InsightField = { name: string; description?: string; type?: string };

const FIELD_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** Checks that a client-supplied insight schema is usable; returns it unchanged. */
export function validateInsightSchema(value: unknown, field = 'insight_schema'): InsightSchema {
  const example = `like {"type":"object","properties":{"price":{"type":"string","description":"quoted price"}}}`;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UserError(`\`${field}\` must be a JSON Schema object ${example}.`);
  }
  const schema = value as Record<string, unknown>;
  if (schema.type !== undefined && schema.type !== 'object') throw new UserError(`\`${field}.type\` must be "object".`);
  const props = schema.properties;
  if (typeof props !== 'object' || props === null || Array.isArray(props) || Object.keys(props).length === 0) {
    throw new UserError(`\`${field}\` needs a non-empty \`properties\` object naming the fields to collect, ${example}.`);
  }
  for (const [name, def] of Object.entries(props)) {
    if (!FIELD_NAME.test(name)) throw new UserError(`\`${field}\` field name ${JSON.stringify(name)} must be 1–64 letters, digits, _ . or -.`);
    if (typeof def !== 'object' || def === null || Array.isArray(def)) {
      throw new UserError(`\`${field}.properties.${name}\` must be an object such as {"type":"string"}.`);
    }
  }
  return schema as InsightSchema;
}

/** A field name as words: `price_per_square` → "price per square". */
export function humanize(fieldName: string): string {
  return fieldName.replace(/[_.-]+/g, ' ').trim();
}

export function insightFields(schema: InsightSchema | undefined): InsightField[] {
  if (!schema) return [];
  return Object.entries(schema.properties).map(([name, def]) => ({ name, description: def.description, type: def.type }));
}
