import { startProcess } from '#app';

/** The single binary: every context in one process unless RAG_CONTEXTS says otherwise. */
startProcess();
