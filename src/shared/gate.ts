/**
 * The condition a statement of a batch lands under. A change's rows land only
 * if the change won (the order still carries its change id); a placement's rows
 * need none, since any refusal fails the whole batch.
 */
export interface Gate {
	sql: string;
	binds: unknown[];
}

export const UNGATED: Gate = { sql: "1", binds: [] };
