/**
 * The object's one alarm, never later than the earliest open hold's expiry. A
 * new hold only ever moves it earlier (`armBy`), so closing a hold writes no
 * alarm on the hot path and the alarm may wake once with nothing due; after
 * resolving, and whenever the object starts, it is set exactly (`armAt`).
 */
export class AlarmSlot {
	/** The time last set by this instance (undefined: unknown until `load`; null: none). */
	private armedAt: number | null | undefined;

	constructor(private readonly storage: DurableObjectStorage) {}

	async load(): Promise<void> {
		this.armedAt = await this.storage.getAlarm();
	}

	/** The runtime cleared the alarm by running it. */
	fired(): void {
		this.armedAt = null;
	}

	/** No later than `at`: moves the alarm earlier, never later. */
	async armBy(at: number): Promise<void> {
		if (this.armedAt === null || this.armedAt === undefined || at < this.armedAt) await this.set(at);
	}

	/** Exactly at `at`, or none for null. */
	async armAt(at: number | null): Promise<void> {
		if (at === null) {
			if (this.armedAt !== null) {
				await this.storage.deleteAlarm();
				this.armedAt = null;
			}
			return;
		}
		if (at !== this.armedAt) await this.set(at);
	}

	private async set(at: number): Promise<void> {
		await this.storage.setAlarm(at);
		this.armedAt = at;
	}
}
