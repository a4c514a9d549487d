/**
 * Shared by every generator (the model's, the extractive one in #extractive-answer) so that callers see
 * the same wording whichever answered.
 */
export const NO_SOURCES_ANSWER = 'No sources were found for this question.';
export const UNANSWERABLE_ANSWER = 'The sources do not contain an answer to this question.';
