/**
 * One customer's purchase history summarised as the BG/NBD needs it: `frequency` = repeat purchases
 * (purchase days after the first), `recency` = time from the first to the last purchase, `T` = time
 * from the first purchase to the end of observation, `monetary` = mean value of the repeat purchases
 * (0 without repeats). Times in one unit chosen by the caller.
 */
export interface Rfm {
  readonly frequency: number;
  readonly recency: number;
  readonly T: number;
  readonly monetary: number;
}
