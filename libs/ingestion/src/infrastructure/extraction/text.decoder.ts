/**
 * Owns turning a text file's bytes into a string, refusing what is not text: bytes invalid in the
 * encoding, or NUL characters, which text never holds and binary files nearly always do.
 */
import { UnreadableFileError } from './extraction.errors.js';

/**
 * Decodes with the encoding named by a byte order mark if there is one, else with `encoding` (a WHATWG
 * label that the caller knows to be supported). The byte order mark is not part of the result.
 */
export function decodeText(bytes: Uint8Array, encoding = 'utf-8'): string {
  const decoder = new TextDecoder(byteOrderMarkEncoding(bytes) ?? encoding, { fatal: true });
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch (error) {
    throw new UnreadableFileError(`The file is not valid ${decoder.encoding.toUpperCase()} text`, {
      cause: error,
    });
  }
  if (decoder.encoding === 'windows-1252') text = repairWindows1252(text);
  if (text.includes('\u0000')) {
    throw new UnreadableFileError('The file contains NUL characters: it looks like a binary file, not text');
  }
  return text;
}

function byteOrderMarkEncoding(bytes: Uint8Array): string | undefined {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return 'utf-8';
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  return undefined;
}

// Windows-1252 puts printable characters (quotes, dashes, the euro sign) at 0x80-0x9F, where Latin-1 has
// control codes. Node 20's TextDecoder decodes 'windows-1252' as Latin-1, so those bytes are mapped here.
const WINDOWS_1252_80_TO_9F =
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

function repairWindows1252(text: string): string {
  return text.replace(/[\u0080-\u009f]/g, (c) => WINDOWS_1252_80_TO_9F[c.charCodeAt(0) - 0x80]);
}
