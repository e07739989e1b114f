import type { EventId, EventStore, StreamId } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/**
 * What a session sent on its SSE streams, so a client that lost its connection resumes with Last-Event-ID and
 * misses nothing. Bounded: the oldest events go first once `capacity` is reached (a client that fell that far
 * behind re-reads state with the tools; nothing is lost from the store itself).
 */
export class BoundedEventStore implements EventStore {
  private readonly events = new Map<EventId, { streamId: StreamId; message: JSONRPCMessage }>();
  private seq = 0;

  constructor(private readonly capacity = 1_000) {}

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    const eventId = `${streamId}.${++this.seq}`;
    this.events.set(eventId, { streamId, message });
    // Maps keep insertion order: the first key is the oldest event.
    if (this.events.size > this.capacity) this.events.delete(this.events.keys().next().value!);
    return eventId;
  }

  async replayEventsAfter(lastEventId: EventId, { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> }): Promise<StreamId> {
    const last = this.events.get(lastEventId);
    if (!last) return '';
    let after = false;
    for (const [eventId, { streamId, message }] of this.events) {
      if (after && streamId === last.streamId) await send(eventId, message);
      if (eventId === lastEventId) after = true;
    }
    return last.streamId;
  }
}
