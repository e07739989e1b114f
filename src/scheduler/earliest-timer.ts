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

  /** `now` tells when a due time has come (the scheduler's clock); the wait itself is real time. */
  constructor(
    private readonly fire: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** The time it is armed for; Infinity when idle. */
  get at(): number {
    return this.armedFor;
  }

  arm(at: number): void {
    // Armed for a time that has come while its wait runs (the clock moved ahead of it): that fires now, or `at` if sooner.
    if (this.armedFor <= this.now()) at = Math.min(at, this.armedFor);
    else if (at >= this.armedFor) return;
    clearTimeout(this.timer);
    this.armedFor = at;
    const delay = Math.min(Math.max(0, at - this.now()), MAX_DELAY_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.armedFor = Infinity;
      // A wait cut short at MAX_DELAY_MS goes on; a full one fires (`fire` looks at what is due and re-arms).
      if (delay < MAX_DELAY_MS || this.now() >= at) this.fire();
      else this.arm(at);
    }, delay);
  }

  disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
  }
}
