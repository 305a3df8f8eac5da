/**
 * Resolves or rejects as `promise` does, or rejects with "<message> within <ms> ms" once
 * `ms` have passed. The late outcome of a timed-out promise is observed (and dropped: its
 * caller already has the timeout error), so it never surfaces as an unhandled rejection.
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} within ${ms} ms`)), ms);
  });
  promise.catch(() => undefined);
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
