// Markdown of a message to safe HTML: escape everything, then add only the tags we make.

/** `text` with every character HTML gives meaning escaped. */
function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

/** Inline Markdown of already escaped text: code, links (http/https only), bold, italic. */
function renderInline(escaped) {
  const held = [];
  const hold = (html) => `\u0000${held.push(html) - 1}\u0000`;
  let out = escaped.replace(/`([^`\n]+)`/g, (_, code) => hold(`<code>${code}</code>`));
  out = out.replace(/\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)/g, (_, label, url) =>
    hold(`<a href="${url}" target="_blank" rel="noopener noreferrer nofollow">${label}</a>`),
  );
  out = out.replace(/(^|[\s(])(https?:\/\/[^\s<\u0000]+?)(?=[.,;:!?)]*(?:\s|$))/g, (_, pre, url) =>
    pre + hold(`<a href="${url}" target="_blank" rel="noopener noreferrer nofollow">${url}</a>`),
  );
  out = out.replace(/\*\*([^*\n]+)\*\*/g, '<strong>$1</strong>');
  out = out.replace(/(^|[^*\w])\*([^*\s][^*\n]*?)\*(?![*\w])/g, '$1<em>$2</em>');
  out = out.replace(/(^|[^\w])_([^_\s][^_\n]*?)_(?!\w)/g, '$1<em>$2</em>');
  out = out.replace(/^(#{1,6}) (.+)$/gm, '<strong>$2</strong>');
  return out.replace(/\u0000(\d+)\u0000/g, (_, i) => held[Number(i)]);
}

/** Renders a message's Markdown to safe HTML; an unclosed fence (mid-stream) is code to the end. */
export function renderMarkdown(text) {
  const parts = [];
  const fence = /```([\w+-]*)[^\n]*\n?([\s\S]*?)(?:```|$)/g;
  let last = 0;
  // pre-wrap keeps line breaks, so drop the one that only separates prose from a fence.
  const prose = (from, to = text.length) => {
    let part = text.slice(from, to);
    if (from > 0) part = part.replace(/^\n/, '');
    if (to < text.length) part = part.replace(/\n$/, '');
    return `<span class="md">${renderInline(escapeHtml(part))}</span>`;
  };
  for (let m = fence.exec(text); m !== null; m = fence.exec(text)) {
    parts.push(prose(last, m.index));
    const lang = m[1] ? ` data-lang="${escapeHtml(m[1])}"` : '';
    parts.push(`<pre${lang}><code>${escapeHtml(m[2].replace(/\n$/, ''))}</code></pre>`);
    last = fence.lastIndex;
  }
  parts.push(prose(last));
  return parts.join('').replace(/<span class="md">\s*<\/span>/g, '');
}
