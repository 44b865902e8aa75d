// How times, sizes and files are worded on the page.

/** A message's time as the clock shows it. */
export function formatTime(at) {
  return new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** "3.4 MB", as the server words sizes. */
export function formatBytes(bytes) {
  const mb = bytes / (1024 * 1024);
  if (mb >= 10) return `${Math.round(mb)} MB`;
  if (mb >= 0.1) return `${mb.toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

/** What a file is called on the page: its name, or what it is. */
export function describeFile(attachment) {
  const what = attachment.kind === 'voice' ? 'Voice note' : attachment.kind === 'image' ? 'Photo' : 'Audio file';
  const name = attachment.kind === 'voice' ? what : attachment.fileName || what;
  return attachment.sizeBytes ? `${name} (${formatBytes(attachment.sizeBytes)})` : name;
}
