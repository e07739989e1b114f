import { z } from 'zod';
import { UserError } from '../../errors.js';
import { CallInsight } from '../schemas.js';
import { defineTool, READ_ONLY, type ToolDefinition } from '../tool.js';

/** What calls found out. */
export const insightTools: readonly ToolDefinition[] = [
  defineTool({
    name: 'get_insights',
    title: 'Get insights',
    description:
      'What calls found out. For a call_id: its status, summary, outcome and the fields the agent collected. For a mission_id: one row per call, ready to compare (e.g. prices and start dates side by side), and for a campaign with a rubric the `ranking`, best first, with each score explained.',
    input: z.object({ call_id: z.string().optional(), mission_id: z.string().optional() }),
    output: CallInsight.partial().extend({
      scope: z.enum(['call', 'mission']),
      mission_id: z.string().optional(),
      rows: z.array(CallInsight.extend({ to: z.string(), call_status: z.string(), step_id: z.string().nullable() })).optional(),
      ranking: z
        .array(
          z.object({
            rank: z.number().int(),
            index: z.number().int().describe("The target's place in `targets`"),
            to: z.string(),
            name: z.string().nullable(),
            call_id: z.string().nullable(),
            score: z.number(),
            max_score: z.number(),
            reasons: z.array(z.string()).describe('Per rubric field: the answer and the points it earned, or why none'),
            fields: z.record(z.string(), z.unknown()),
          }),
        )
        .optional()
        .describe('Campaigns with a rubric: the answered calls, best first'),
    }),
    annotations: READ_ONLY,
    handle: (app, { call_id, mission_id }) => {
      if ((call_id === undefined) === (mission_id === undefined)) throw new UserError('Pass exactly one of `call_id` or `mission_id`.');
      if (call_id !== undefined) return { scope: 'call' as const, ...app.insights.forCall(call_id) };
      const id = app.missions.resolveId(mission_id!);
      const ranking = app.campaigns.rankingOf(id);
      return { scope: 'mission' as const, mission_id: id, rows: app.insights.forMission(id), ...(ranking && { ranking }) };
    },
  }),
];
