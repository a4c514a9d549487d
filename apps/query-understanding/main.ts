import { ContextName } from '#contracts';
import { startProcess } from '#app';

/** The query-understanding context alone, for a deployment scaled per context; the others are reached over Redis. */
startProcess({ RAG_CONTEXTS: ContextName.QueryUnderstanding });
