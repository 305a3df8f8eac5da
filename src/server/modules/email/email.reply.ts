/** A reply split into what the customer wrote now and the history below it. */
export interface ReplyParts {
  reply: string;
  /** Everything stripped, from the first marker on, so the full original stays retrievable. */
  quoted: string;
}

// Each marker starts the quoted part on the line where it matches. Multi-line "On … wrote:"
// headers are joined before matching because Gmail wraps them at ~75 characters.
const HISTORY_MARKERS: RegExp[] = [
  /^-{2,}\s*(?:original message|ursprüngliche nachricht|message d'origine|mensaje original|messaggio originale)\s*-{2,}/i,
  /^-{5,}\s*(?:forwarded message|weitergeleitete nachricht|message transféré)\s*-{5,}/i,
  /^_{20,}\s*$/,
  /^on\b.{0,200}\bwrote:\s*$/i,
  /^am\b.{0,200}\bschrieb.{0,100}:\s*$/i,
  /^le\b.{0,200}\ba écrit\s*:\s*$/i,
  /^el\b.{0,200}\bescribió:\s*$/i,
  /^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}.{0,100}<[^>]+@[^>]+>:?\s*$/,
  /^\*?(?:from|von|de)\s*:\*?\s.+\n\*?(?:sent|date|gesendet|datum|envoyé)\s*:\*?\s/im,
];
const SIGNATURE_MARKERS: RegExp[] = [
  /^-- ?$/,
  /^(?:sent from my (?:iphone|ipad|android|mobile|galaxy|phone)|sent from (?:outlook|mail) for (?:ios|android|windows)|von meinem iphone gesendet|envoyé de mon iphone|get outlook for (?:ios|android))\b/i,
];

function firstMatch(lines: string[], test: (line: string, index: number) => boolean): number {
  return lines.findIndex((line, index) => test(line, index));
}

/**
 * Strips quoted history and the signature from a plain-text reply. Markers cover Gmail,
 * Outlook, Apple Mail and their German/French/Spanish variants; a reply that is nothing but
 * quote (a bare forward) is returned whole, because an empty ticket update helps nobody.
 */
export function replyText(text: string): ReplyParts {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const historyAt = firstMatch(lines, (line, index) => {
    const trimmed = line.trim();
    const joined = [trimmed, lines[index + 1]?.trim() ?? '', lines[index + 2]?.trim() ?? ''];
    if (HISTORY_MARKERS.some((marker) => marker.test(trimmed))) return true;
    // Wrapped "On Tue, … <a@b>\nwrote:" and Outlook header blocks span lines.
    if (/^(?:on|am|le|el)\b/i.test(trimmed)) {
      const two = `${joined[0]} ${joined[1]}`;
      if (HISTORY_MARKERS.slice(3, 7).some((marker) => marker.test(two))) return true;
    }
    if (HISTORY_MARKERS.at(-1)!.test(`${joined[0]}\n${joined[1]}`)) return true;
    if (
      HISTORY_MARKERS.at(-1)!.test(`${joined[0]}\n${joined[2]}`) &&
      /^\*?(?:to|an|à)\s*:/i.test(joined[1]!)
    ) {
      return true;
    }
    // A run of `>` lines counts as quote, a single `>` line inside prose does not.
    return (
      trimmed.startsWith('>') && (lines[index + 1]?.trim().startsWith('>') || index === lines.length - 1)
    );
  });
  const cutHistory = historyAt === -1 ? lines.length : historyAt;
  const signatureAt = firstMatch(
    lines.slice(0, cutHistory),
    (line) => SIGNATURE_MARKERS.some((marker) => marker.test(line.trimEnd())) || /^-- $/.test(line),
  );
  const cut = signatureAt === -1 ? cutHistory : signatureAt;
  const reply = lines.slice(0, cut).join('\n').trim();
  if (reply === '') return { reply: text.trim(), quoted: '' };
  return { reply, quoted: lines.slice(cut).join('\n').trim() };
}
