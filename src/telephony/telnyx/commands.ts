import type { Logger } from '../../log.js';
import type { CarrierError, ProviderContext } from '../provider.js';
import type { CallCommand } from './call-flow.js';
import { isCallGone, toCarrierError } from './errors.js';
import { commandId, type TelnyxRest } from './rest.js';

/**
 * Sends the commands a webhook asked for, after the webhook was answered (Telnyx wants a reply within
 * seconds and our retries could take longer). Commands of one webhook go in order; their command_ids derive
 * from the webhook's event id, so a retry is the same command to Telnyx.
 */
export class CommandRunner {
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly rest: TelnyxRest,
    private readonly deliver: ProviderContext['deliver'],
    private readonly log: Logger,
  ) {}

  run(eventId: string, commands: readonly CallCommand[]): void {
    const job = this.sequence(eventId, commands)
      .catch((err: unknown) => this.log.error({ err, eventId }, 'telnyx commands stopped'))
      .finally(() => this.running.delete(job));
    this.running.add(job);
  }

  /** Resolves once every command already started has finished. */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.all(this.running);
  }

  private async sequence(eventId: string, commands: readonly CallCommand[]): Promise<void> {
    for (const command of commands) {
      try {
        await this.send(eventId, command);
      } catch (raw) {
        const err = toCarrierError(raw, true);
        // The call hung up under us; its call.hangup webhook tells the rest.
        if (isCallGone(err)) return;
        this.log.error({ callControlId: command.callControlId, verb: command.verb, code: err.code, err: err.message }, 'telnyx command failed');
        if (command.verb === 'speak') await this.abandon(eventId, command, err);
        return;
      }
    }
  }

  private send(eventId: string, c: CallCommand): Promise<void> {
    const id = commandId(`${eventId}:${c.verb}`);
    switch (c.verb) {
      case 'answer':
        return this.rest.answer(c.callControlId, id);
      case 'reject':
        return this.rest.reject(c.callControlId, id);
      case 'speak':
        return this.rest.speak(c.callControlId, c.text, id, c.state);
      case 'hangup':
        return this.rest.hangup(c.callControlId, id, c.state);
      case 'stream':
        return this.rest.startStreaming(c.callControlId, { url: c.url, token: c.token }, id, c.state);
      case 'transcribe':
        return this.rest.startTranscription(c.callControlId, id);
    }
  }

  /** A message that could not be spoken fails the attempt, and the silent line is hung up rather than left open. */
  private async abandon(eventId: string, c: Extract<CallCommand, { verb: 'speak' }>, err: CarrierError): Promise<void> {
    this.deliver(null, [{ ...c.ref, type: 'call.ended', status: 'failed', errorCode: err.code, errorMessage: err.message, at: new Date().toISOString() }]);
    try {
      await this.rest.hangup(c.callControlId, commandId(`${eventId}:abandon`));
    } catch (raw) {
      const hangupErr = toCarrierError(raw, true);
      if (!isCallGone(hangupErr)) this.log.error({ callControlId: c.callControlId, code: hangupErr.code }, 'telnyx hangup after failed speak failed too');
    }
  }
}
