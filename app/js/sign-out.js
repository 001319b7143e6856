// Signing out forgets what this browser keeps for the site (the unsubmitted batch list in
// IndexedDB and its journal in local storage), as the sign-out answer's
// `Clear-Site-Data: "storage"` also asks: the next person on this browser finds nothing.
// Resolves when done, or after at most a second (an open connection blocks a deletion until
// it closes; the deletion still happens).

function forgetKeptData() {
  try {
    localStorage.clear();
    sessionStorage.clear();
  } catch (e) {
    // Storage switched off: nothing is kept.
  }
  const deleteAll = (async () => {
    const databases = indexedDB.databases ? await indexedDB.databases() : [];
    await Promise.all(databases.map(({ name }) => new Promise((resolve) => {
      const req = indexedDB.deleteDatabase(name);
      req.onsuccess = req.onerror = req.onblocked = () => resolve();
    })));
  })();
  const atMost = new Promise((resolve) => setTimeout(resolve, 1000));
  return Promise.race([deleteAll, atMost]).catch(() => {});
}

// The sign-out form's submit: forgets, then sends the form (submit() fires no second submit
// event).
export function signOut(form) {
  forgetKeptData().then(() => form.submit());
}
