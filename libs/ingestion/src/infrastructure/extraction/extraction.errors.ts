/** Owns the two ways a file can fail extraction; the caller maps them to its own error codes. */

/** The file is of a kind that cannot be ingested (by extension or media type). */
export class UnsupportedFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedFileError';
  }
}

/** The file claims a supported kind but its content cannot be read as such. */
export class UnreadableFileError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UnreadableFileError';
  }
}
