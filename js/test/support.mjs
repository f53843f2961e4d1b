// Helpers shared by the client tests; staged next to each test with the
// generated files.

/** The next result of a stream, or an error after `ms` milliseconds. */
export async function next(stream, ms = 5_000) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no result within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([stream.next(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
