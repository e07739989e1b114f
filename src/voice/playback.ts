import { base64AudioMs } from './mulaw.js';

type Item = { itemId: string; sentMs: number; playedMs: number; started: boolean };
type PendingMark = { itemId: string; endMs: number; last: boolean };

/** Where an interrupted item must be cut: the audio the callee actually heard. */
export type Cut = { itemId: string; audioEndMs: number };

/**
 * What of the agent's audio the callee has heard, from the carrier's mark echoes, never from the wall clock (the
 * carrier buffers audio, so "sent" is not "heard"). Every chunk sent is followed by a mark named for its item,
 * its end and the current generation; an echo moves that item's played point. On barge-in the generation changes,
 * so the echoes the carrier sends for the marks it cleared count for nothing, and each item is cut at what was
 * played (clamped to what was sent, which the model requires).
 */
export class Playback {
  private generation = 0;
  private seq = 0;
  private readonly items = new Map<string, Item>();
  private readonly pending = new Map<string, PendingMark>();

  /** Records a chunk sent to the carrier; returns the mark to send after it. */
  sent(itemId: string, base64: string): string {
    let item = this.items.get(itemId);
    if (!item) {
      item = { itemId, sentMs: 0, playedMs: 0, started: false };
      this.items.set(itemId, item);
    }
    item.sentMs += base64AudioMs(base64);
    const name = `${itemId}:${Math.floor(item.sentMs)}:g${this.generation}:m${++this.seq}`;
    this.pending.set(name, { itemId, endMs: item.sentMs, last: false });
    return name;
  }

  /** An echo from the carrier. Returns the item whose audio has now all played, if this echo finished one. */
  echoed(name: string): string | undefined {
    const mark = this.pending.get(name);
    if (!mark) return undefined; // cleared by a barge-in, or not ours
    this.pending.delete(name);
    const item = this.items.get(mark.itemId);
    if (!item) return undefined;
    item.started = true;
    item.playedMs = Math.max(item.playedMs, mark.endMs);
    if (item.playedMs >= item.sentMs && !this.hasPending(item.itemId)) return item.itemId;
    return undefined;
  }

  /** Agent audio is still queued at the carrier (sent, not yet acknowledged as played). */
  get playing(): boolean {
    return this.pending.size > 0;
  }

  /** How much of an item was sent and played so far. */
  progress(itemId: string): { sentMs: number; playedMs: number } | undefined {
    const item = this.items.get(itemId);
    return item && { sentMs: item.sentMs, playedMs: item.playedMs };
  }

  /**
   * The callee started talking over the agent: every item with unplayed audio is cut at what was played. The first
   * such item counts as started even without an echo yet (its first chunk is playing); later ones were never heard.
   */
  interrupt(): Cut[] {
    const cuts: Cut[] = [];
    let first = true;
    for (const item of this.items.values()) {
      if (item.playedMs >= item.sentMs && !this.hasPending(item.itemId)) continue;
      const heard = first || item.started ? item.playedMs : 0;
      cuts.push({ itemId: item.itemId, audioEndMs: Math.floor(Math.min(item.sentMs, heard)) });
      item.sentMs = item.playedMs = Math.min(item.sentMs, heard);
      first = false;
    }
    this.generation++;
    this.pending.clear();
    return cuts;
  }

  /** Forgets an item once it is fully played or cut, so the tracker stays small on a long call. */
  retire(itemId: string): void {
    this.items.delete(itemId);
  }

  private hasPending(itemId: string): boolean {
    for (const m of this.pending.values()) if (m.itemId === itemId) return true;
    return false;
  }
}
