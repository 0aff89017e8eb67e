// Errors of the twin's entry points. All are thrown before anything is changed.

/** One broken rule of an input: the field at fault (e.g. `override.kw`) and what is wrong. */
export interface FieldProblem {
  readonly field: string;
  readonly message: string;
}

/**
 * Input the twin does not take: malformed (operator commands, restore records, config) or
 * refused. `problems` lists every broken rule of a command (`field: message` each); the
 * message joins them.
 */
export class TwinInputError extends Error {
  /** The first field at fault, when one is. */
  readonly field: string | null;
  readonly problems: readonly FieldProblem[];
  constructor(message: string, problems: readonly FieldProblem[] = []) {
    super(message);
    this.name = 'TwinInputError';
    this.problems = problems;
    this.field = problems[0]?.field ?? null;
  }

  /** One error for all the problems found in an input. */
  static of(problems: readonly FieldProblem[]): TwinInputError {
    return new TwinInputError(problems.map((p) => `${p.field}: ${p.message}`).join('; '), problems);
  }
}

/** A command names a hub, node, vehicle or open session that does not exist (REST: 404). */
export class TwinNotFound extends TwinInputError {
  constructor(message: string) {
    super(message);
    this.name = 'TwinNotFound';
  }
}

/** A command conflicts with the current state, e.g. deleting a vehicle that charges (REST: 409). */
export class TwinConflict extends TwinInputError {
  constructor(message: string) {
    super(message);
    this.name = 'TwinConflict';
  }
}

/** Why a message or command that would create an entity is refused. */
export type RefusalReason = 'limit-hubs' | 'limit-nodes' | 'limit-vehicles' | 'unregistered';

/**
 * A well-formed message (or command) the twin refuses by its bounds or its registered-only
 * mode: it would create a hub, node or vehicle beyond maxHubs/maxNodes/maxVehicles, or names
 * one no operator registered while registeredOnly is on.
 */
export class TwinRefusal extends TwinInputError {
  readonly reason: RefusalReason;
  constructor(reason: RefusalReason, message: string) {
    super(message);
    this.name = 'TwinRefusal';
    this.reason = reason;
  }
}
