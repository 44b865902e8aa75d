// What the page remembers across visits (the name, recent channels) in localStorage.
// Private windows may refuse storage: then the page just does not remember.

/** The stored value of `key`, or `fallback`. */
export function load(key, fallback) {
  try {
    const value = localStorage.getItem(key);
    return value === null ? fallback : JSON.parse(value);
  } catch {
    return fallback;
  }
}

/** Stores `value` under `key`, when the browser lets it. */
export function save(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Not remembering is fine.
  }
}
