/** A deterministic pseudo-random number generator for tests (xorshift32): numbers in [0, 1), the same for the same seed. */
export function xorshift(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}
