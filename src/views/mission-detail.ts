import type { CallRecords, CallSummary } from '../calls/records.js';
import type { Message, Messages } from '../messages/messages.js';
import type { CampaignProgress, Campaigns } from '../campaigns/campaigns.js';
import type { Mission, MissionEvent, Missions } from '../missions/missions.js';

/** A mission with everything that hangs off it: what get_mission, the mission resource, the CLI and the dashboard show. */
export type MissionDetail = Mission & {
  calls: CallSummary[];
  messages: Message[];
  memory: Record<string, unknown>;
  recent_events: MissionEvent[];
  /** A mission with targets: where its campaign stands. */
  campaign: CampaignProgress | null;
};

/** The full picture of one mission, by id or slug. */
export function missionDetail(
  domain: { missions: Missions; calls: Pick<CallRecords, 'list'>; messages: Messages; campaigns: Pick<Campaigns, 'progress'> },
  ref: string,
): MissionDetail {
  const mission = domain.missions.get(ref);
  const id = mission.mission_id;
  return {
    ...mission,
    calls: domain.calls.list({ mission_id: id, limit: 500 }),
    messages: domain.messages.list({ mission_id: id, limit: 500 }),
    memory: domain.missions.memory(id),
    recent_events: domain.missions.recentEvents(id),
    campaign: domain.campaigns.progress(id),
  };
}
