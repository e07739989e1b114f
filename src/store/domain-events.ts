/** What one part of the domain tells the others, inside the transaction that made it true. */
export type DomainEvent =
  | { type: 'mission.ended'; missionId: string }
  | { type: 'contact.blocked'; number: string };

type Handler<T extends DomainEvent['type']> = (event: Extract<DomainEvent, { type: T }>) => void;

/**
 * A synchronous in-transaction bus: missions need not know calls exist to have their calls cancelled.
 * Handlers run inside the raising transaction, so their writes commit (or roll back) with it.
 */
export class DomainEvents {
  private readonly handlers = new Map<DomainEvent['type'], ((event: DomainEvent) => void)[]>();

  on<T extends DomainEvent['type']>(type: T, handler: Handler<T>): void {
    this.handlers.set(type, [...(this.handlers.get(type) ?? []), handler as (event: DomainEvent) => void]);
  }

  emit(event: DomainEvent): void {
    for (const handler of this.handlers.get(event.type) ?? []) handler(event);
  }
}
