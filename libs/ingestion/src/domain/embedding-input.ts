/** What is embedded for a chunk: its document's title (often the best summary of it), then its text. */
export function embeddingInput(title: string | null, text: string): string {
  return title ? `${title}\n${text}` : text;
}
