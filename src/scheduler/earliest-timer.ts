/** Node's timers overflow past ~24.8 days; a later time is reached by re-arming on the way. */
const MAX_DELAY_MS = 60 * 60 * 1000;

/**
 * One timer armed for the earliest of many due times (work to dispatch, call deadlines), instead of one timer or a
 * poll per item. Arming for a later time than the one armed changes nothing; `fire` runs once the time comes and
 * must arm again for whatever is next.
 */
export class EarliestTimer {
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;

  constructor(private readonly fire: () => void) {}

  /** The time it is armed for; Infinity when idle. */
  get at(): number {
    return this.armedFor;
  }

  arm(at: number): void {
    if (at >= this.armedFor) return;
    clearTimeout(this.timer);
    this.armedFor = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.armedFor = Infinity;
      if (Date.now() >= at) this.fire();
      else this.arm(at);
    }, Math.min(Math.max(0, at - Date.now()), MAX_DELAY_MS));
  }

  disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
  }
}
