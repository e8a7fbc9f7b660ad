/**
 * A test-only reader of the MIME *structure* of our own composed mail: raw header values (to
 * assert them exactly) and the tree of parts. Decoding (transfer encodings, charsets,
 * attachments) is left to mailparser.
 */
export interface MimePart {
  /** Raw, unfolded header values by lower-case name, in order (a name may repeat). */
  headers: [string, string][];
  /** `text/calendar`, lower case, without parameters. */
  type: string;
  /** Content-Type parameters, names in lower case, quotes removed. */
  params: Record<string, string>;
  parts: MimePart[];
}

export function header(part: MimePart, name: string): string | undefined {
  return part.headers.find(([n]) => n === name.toLowerCase())?.[1];
}

export function headerBlock(raw: Buffer | string): string {
  const text = raw.toString();
  return text.slice(0, text.indexOf('\r\n\r\n'));
}

function parseContentType(value: string): { type: string; params: Record<string, string> } {
  const [type = '', ...rest] = value.split(';');
  const params: Record<string, string> = {};
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq > 0)
      params[p.slice(0, eq).trim().toLowerCase()] = p
        .slice(eq + 1)
        .trim()
        .replace(/^"|"$/g, '');
  }
  return { type: type.trim().toLowerCase(), params };
}

export function mimeTree(raw: Buffer | string): MimePart {
  const text = raw.toString();
  const split = text.indexOf('\r\n\r\n');
  const head = split < 0 ? text : text.slice(0, split);
  const body = split < 0 ? '' : text.slice(split + 4);
  const headers = head
    .replace(/\r\n[ \t]+/g, ' ')
    .split('\r\n')
    .filter(Boolean)
    .map((line): [string, string] => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
    });
  const { type, params } = parseContentType(headers.find(([n]) => n === 'content-type')?.[1] ?? 'text/plain');
  const parts: MimePart[] = [];
  if (type.startsWith('multipart/') && params.boundary) {
    const chunks = body.split(`--${params.boundary}`);
    // chunks[0] is the preamble; the last chunk starts with `--` (the closing delimiter).
    for (const chunk of chunks.slice(1)) {
      if (chunk.startsWith('--')) break;
      parts.push(mimeTree(chunk.replace(/^\r\n/, '').replace(/\r\n$/, '')));
    }
  }
  return { headers, type, params, parts };
}
