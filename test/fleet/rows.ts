/** The summary.json fields the fleet tests read of a gathered sweep's job rows. */
export interface Row {
  readonly job: number;
  readonly row: string;
  readonly status: string;
  readonly shard: string;
  readonly hostname: string;
}
