import { base64AudioMs } from './mulaw.js';

type Item = { itemId: string; sentMs: number; markedMs: number; playedMs: number; started: boolean };
type PendingMark = { itemId: string; endMs: number };

/** Where an interrupted item must be cut: the audio the callee actually heard, of `sentMs` sent. */
export type Cut = { itemId: string; audioEndMs: number; sentMs: number };

/** A mark at least this often (in audio): how precisely a cut lands, against two frames per mark on the wire. */
export const MARK_EVERY_MS = 100;

/**
 * What of the agent's audio the callee has heard, from the carrier's mark echoes, never from the wall clock (the
 * carrier buffers audio, so "sent" is not "heard"). Audio sent is followed by a mark every MARK_EVERY_MS and at the
 * end of each item, named for its item, its end and the current generation; an echo moves that item's played
 * point. On barge-in the generation changes, so the echoes the carrier sends for the marks it cleared count for
 * nothing, and each item is cut at what was played (clamped to what was sent, which the model requires).
 */
export class Playback {
  private generation = 0;
  private seq = 0;
  private readonly items = new Map<string, Item>();
  private readonly pending = new Map<string, PendingMark>();

  /** Records a chunk sent to the carrier; returns the mark to send after it, when one is due. */
  sent(itemId: string, base64: string): string | undefined {
    let item = this.items.get(itemId);
    if (!item) {
      item = { itemId, sentMs: 0, markedMs: 0, playedMs: 0, started: false };
      this.items.set(itemId, item);
    }
    item.sentMs += base64AudioMs(base64);
    return item.sentMs - item.markedMs >= MARK_EVERY_MS ? this.markFor(item) : undefined;
  }

  /** Marks for every item's audio not yet marked: its last chunk was sent (or a hangup waits for it to play). */
  flush(): string[] {
    return [...this.items.values()].filter((item) => item.sentMs > item.markedMs).map((item) => this.markFor(item));
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
    return item.playedMs >= item.sentMs ? item.itemId : undefined;
  }

  /** Agent audio is still queued at the carrier (sent, not yet acknowledged as played). */
  get playing(): boolean {
    for (const item of this.items.values()) if (item.playedMs < item.sentMs) return true;
    return false;
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
      if (item.playedMs >= item.sentMs) continue;
      const heard = Math.floor(Math.min(item.sentMs, first || item.started ? item.playedMs : 0));
      cuts.push({ itemId: item.itemId, audioEndMs: heard, sentMs: item.sentMs });
      item.sentMs = item.markedMs = item.playedMs = heard;
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

  private markFor(item: Item): string {
    item.markedMs = item.sentMs;
    const name = `${item.itemId}:${Math.floor(item.sentMs)}:g${this.generation}:m${++this.seq}`;
    this.pending.set(name, { itemId: item.itemId, endMs: item.sentMs });
    return name;
  }
}
